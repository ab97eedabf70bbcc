"""Ctrl-C for real: SIGINT sent to a running ``memlint check`` subprocess.

The run must end with exit 130 soon after the signal, every time (no abort from a thread
inside libcst's native parser, no waiting for running batches), leave no worker process
behind, and leave the cache as it was. Each case is repeated: the abort it guards against
used to happen in about half the tries.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional

import psutil
import pytest

from conftest import memlint_env

pytestmark = pytest.mark.slow

# Far longer to check than the test waits (libcst alone needs seconds to parse it), so
# the signal always arrives mid-run, most often inside the native parser.
FUNCTIONS = 3000
# A generous bound, for a loaded machine: the run itself would take many times longer.
# The latency itself is measured by benchmarks/bench_interrupt.py.
STOP_WITHIN_SECONDS = 5.0


def big_source(functions: int = FUNCTIONS) -> str:
    return "".join(
        f"def read_{index}(path):\n"
        f"    handle = open(path)\n"
        f"    data = handle.read()\n"
        f"    if data:\n"
        f"        return data.strip() + str({index})\n"
        f"    return None\n\n"
        for index in range(functions)
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(cwd: Path, *args: str, stdin: Optional[Path] = None, new_session: bool = False) -> "subprocess.Popen[bytes]":
    """``memlint check ARGS`` in ``cwd``, reading the file ``stdin`` as its standard input."""
    with open(stdin if stdin is not None else os.devnull, "rb") as source:
        return subprocess.Popen(
            [sys.executable, "-m", "memlint", "check", *args],
            cwd=str(cwd),
            stdin=source,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=memlint_env(),
            start_new_session=new_session,
            # A test run started in the background by a shell without job control ignores
            # SIGINT, and a child inherits that: the run under test must have the default.
            preexec_fn=_default_sigint,
        )


def wait_for_workers(process: "subprocess.Popen[bytes]", count: int, busy_seconds: float = 1.0) -> List[int]:
    """The pids of ``count`` worker processes once they have been working ``busy_seconds``
    (none if they do not appear within seconds: the run then works in-process)."""
    parent = psutil.Process(process.pid)
    deadline = time.monotonic() + 10
    children: List[psutil.Process] = []
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        children = parent.children()
        if len(children) >= count:
            break
        time.sleep(0.05)
    time.sleep(busy_seconds)
    return [child.pid for child in children]


def interrupt(process: "subprocess.Popen[bytes]", group: bool = False) -> float:
    """Send SIGINT (to the process group with ``group``, as a terminal's Ctrl-C does);
    return the seconds until the process ended."""
    sent = time.monotonic()
    if group:
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return time.monotonic() - sent


def assert_gone(pids: List[int]) -> None:
    deadline = time.monotonic() + 5
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
        time.sleep(0.05)
    assert alive == [], f"worker processes left behind: {alive}"


def assert_clean_interrupt(process: "subprocess.Popen[bytes]", seconds: float) -> None:
    stdout, stderr = process.communicate()
    assert process.returncode == 130, (process.returncode, stderr.decode(errors="replace")[-2000:])
    assert b"Traceback" not in stderr and b"FATAL" not in stderr, stderr
    assert seconds < STOP_WITHIN_SECONDS, f"took {seconds:.2f}s to stop"


@pytest.mark.parametrize("attempt", range(5))
def test_sigint_during_a_one_file_run_exits_130_at_once(tmp_path, attempt):
    (tmp_path / "big.py").write_text(big_source())
    process = start(tmp_path, "--no-cache", "--jobs", "1", "big.py")
    workers = wait_for_workers(process, 1, busy_seconds=0.5 + 0.3 * attempt)
    seconds = interrupt(process)
    assert_clean_interrupt(process, seconds)
    assert_gone(workers)


def test_ctrl_c_to_the_process_group_with_workers_leaves_no_process(tmp_path):
    for index in range(6):
        (tmp_path / f"big_{index}.py").write_text(big_source(FUNCTIONS // 3))
    for name in "abcdefgh":
        (tmp_path / f"{name}.py").write_text("handle = open('x')\n")
    process = start(tmp_path, "--no-cache", "--jobs", "2", ".", new_session=True)
    workers = wait_for_workers(process, 2)
    seconds = interrupt(process, group=True)
    assert_clean_interrupt(process, seconds)
    assert_gone(workers)


def test_sigint_leaves_the_cache_as_it_was(tmp_path):
    (tmp_path / "small.py").write_text("handle = open('x')\n")
    first = subprocess.run([sys.executable, "-m", "memlint", "check", "--cache-dir", "cache", "small.py"],
                           cwd=str(tmp_path), capture_output=True, env=memlint_env(), check=False)
    assert first.returncode == 1, first.stderr
    before = {path: path.read_bytes() for path in (tmp_path / "cache").rglob("*") if path.is_file()}
    assert any(path.suffix == ".json" for path in before)
    (tmp_path / "big.py").write_text(big_source())
    for attempt in range(2):
        process = start(tmp_path, "--cache-dir", "cache", "--jobs", "1", ".")
        workers = wait_for_workers(process, 1, busy_seconds=0.5 + attempt)
        seconds = interrupt(process)
        assert_clean_interrupt(process, seconds)
        assert_gone(workers)
        after = {path: path.read_bytes() for path in (tmp_path / "cache").rglob("*") if path.is_file()}
        assert after == before  # no half-written file, no temporary left behind
    # And the cache still answers: the small file's result comes back unchanged.
    again = subprocess.run([sys.executable, "-m", "memlint", "check", "--cache-dir", "cache", "small.py"],
                           cwd=str(tmp_path), capture_output=True, env=memlint_env(), check=False)
    assert again.stdout == first.stdout


def test_sigint_while_checking_stdin(tmp_path):
    (tmp_path / "input.py").write_text(big_source())
    process = start(tmp_path, "--no-cache", "-", stdin=tmp_path / "input.py")
    workers = wait_for_workers(process, 1)
    seconds = interrupt(process)
    assert_clean_interrupt(process, seconds)
    assert_gone(workers)

"""Child processes of every start method, and Python's own long-lived helpers, in a real
inner pytest run in a fresh interpreter (so no helper is already running)."""

from __future__ import annotations

import json
import sys
import textwrap
from typing import Dict, List

import pytest

pytest_plugins = ["pytester"]

# Everything the inner tests leave running is killed when the inner session ends.
CONFTEST = '''
KEEP = []


def pytest_sessionfinish(session):
    import psutil
    for process in KEEP:
        process.kill()
        process.join()
    KEEP.clear()
    for child in psutil.Process().children(recursive=True):
        if "sleep" in " ".join(child.cmdline()):
            child.kill()
'''

# The order matters: the first tests start the resource tracker and the forkserver,
# and must not be blamed for them; later tests must only be blamed for their own children.
TESTS = '''
import multiprocessing
import subprocess
import time

from conftest import KEEP


def nap():
    time.sleep(30)


def nothing():
    pass


def test_spawn_pool_closed_properly():
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        assert pool.apply(len, ("ab",)) == 2
    pool.join()


def test_forkserver_process_joined():
    process = multiprocessing.get_context("forkserver").Process(target=nothing)
    process.start()
    process.join()
    process.close()


def test_spawn_process_left_running():
    process = multiprocessing.get_context("spawn").Process(target=nap)
    process.start()  # SPAWN-SITE
    KEEP.append(process)


def test_innocent_after_spawn():
    subprocess.run(["true"], check=True)


def test_forkserver_process_left_running():
    process = multiprocessing.get_context("forkserver").Process(target=nap)
    process.start()  # FORKSERVER-SITE
    KEEP.append(process)


def test_innocent_after_forkserver():
    subprocess.run(["true"], check=True)


def test_shell_grandchild():
    subprocess.run("sleep 29 &", shell=True, check=True)  # SHELL-SITE


def test_innocent_after_shell():
    subprocess.run(["true"], check=True)
'''


def _line(marker: str) -> int:
    return next(number for number, line in enumerate(TESTS.splitlines(), 1) if marker in line)


@pytest.fixture(scope="module")
def process_run(tmp_path_factory: pytest.TempPathFactory) -> "Dict[str, object]":
    """One inner run shared by the tests below (each start method costs a second or more)."""
    import os
    import subprocess

    folder = tmp_path_factory.mktemp("processes")
    (folder / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    (folder / "test_processes.py").write_text(TESTS, encoding="utf-8")
    (folder / "pytest.ini").write_text("[pytest]\nmemlint_leaks_grace_period = 0.2\n", encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "--memlint-leaks",
         "--memlint-leaks-report", "leaks.json", "test_processes.py"],
        cwd=folder, capture_output=True, text=True, env=dict(os.environ), timeout=300,
    )
    document = json.loads((folder / "leaks.json").read_text(encoding="utf-8"))
    leaks: Dict[str, List[dict]] = {
        entry["nodeid"].split("::")[-1]: entry["leaks"] for entry in document["results"] if entry["counted"]
    }
    return {"output": completed.stdout + completed.stderr, "leaks": leaks, "returncode": completed.returncode}


def test_helpers_of_python_are_not_blamed(process_run: "Dict[str, object]") -> None:
    leaks = process_run["leaks"]
    assert "test_spawn_pool_closed_properly" not in leaks, process_run["output"]
    assert "test_forkserver_process_joined" not in leaks, process_run["output"]


@pytest.mark.parametrize("test_name, marker", [
    ("test_spawn_process_left_running", "SPAWN-SITE"),
    ("test_forkserver_process_left_running", "FORKSERVER-SITE"),
    ("test_shell_grandchild", "SHELL-SITE"),
])
def test_each_start_method_is_blamed_on_its_test(process_run: "Dict[str, object]", test_name: str, marker: str) -> None:
    leaks = process_run["leaks"]
    assert test_name in leaks, process_run["output"]
    # The Process object the test keeps also holds its sentinel pipe: those are fd leaks.
    [leak] = [leak for leak in leaks[test_name] if leak["kind"] == "process"]
    assert leak["site"] is not None and leak["site"]["line"] == _line(marker), leak


def test_the_next_test_is_not_blamed(process_run: "Dict[str, object]") -> None:
    blamed = sorted(name for name in process_run["leaks"] if name.startswith("test_innocent"))
    assert blamed == [], process_run["output"]
    assert process_run["returncode"] == 1


def test_trio_thread_cache_is_not_a_leak(pytester: pytest.Pytester) -> None:
    pytest.importorskip("trio")
    pytester.makeini("[pytest]\nmemlint_leaks_grace_period = 0.1\n")
    pytester.makepyfile(
        test_trio=textwrap.dedent(
            '''
            import trio

            def test_worker_thread():
                async def main():
                    return await trio.to_thread.run_sync(lambda: 42)
                assert trio.run(main) == 42
            '''
        )
    )
    result = pytester.runpytest("--memlint-leaks", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)

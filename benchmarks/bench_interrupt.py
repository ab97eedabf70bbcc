"""How fast does Ctrl-C stop memlint? Run by hand, not part of the test suite.

    python benchmarks/bench_interrupt.py [--tries N]

Generates a large file (and a tree of them), starts ``memlint check`` on it, waits until a
worker process has been busy for a moment (most often inside libcst's native parser),
sends SIGINT and measures the time until the process has exited. Prints, per case, the
exit codes seen and the median and largest latency. The target: exit 130 every time,
within 1 s; ``tests/test_interrupt.py`` checks the same things with a looser bound.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Tuple

import psutil


def big_source(functions: int) -> str:
    return "".join(
        f"def read_{index}(path):\n    handle = open(path)\n    return handle.read() + str({index})\n\n"
        for index in range(functions)
    )


def one_try(folder: Path, args: List[str], delay: float) -> Tuple[int, float]:
    process = subprocess.Popen([sys.executable, "-m", "memlint", "check", *args], cwd=str(folder),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    parent = psutil.Process(process.pid)
    deadline = time.monotonic() + 30
    while not parent.children() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(delay)
    sent = time.monotonic()
    os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    try:
        code = process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return -999, time.monotonic() - sent  # -999: did not stop within 60 s
    return code, time.monotonic() - sent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=10)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="memlint-interrupt-") as name:
        folder = Path(name)
        (folder / "big.py").write_text(big_source(6000))
        tree = folder / "tree"
        tree.mkdir()
        for index in range(8):
            (tree / f"m{index}.py").write_text(big_source(1500))
        cases = {
            "one big file, --jobs 1": ["--no-cache", "--jobs", "1", "big.py"],
            "8 files, --jobs 2": ["--no-cache", "--jobs", "2", "tree"],
        }
        print(f"load average before: {os.getloadavg()[0]:.2f}")
        for label, args in cases.items():
            results = [one_try(folder, args, 0.3 + 0.2 * (attempt % 5)) for attempt in range(options.tries)]
            codes = sorted({code for code, _ in results})
            latencies = [seconds for _, seconds in results]
            print(f"{label}: exit codes {codes}, latency median {statistics.median(latencies):.3f}s, "
                  f"max {max(latencies):.3f}s over {len(results)} tries")
    return 0


if __name__ == "__main__":
    sys.exit(main())

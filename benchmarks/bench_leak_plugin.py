"""Cost of memlint's leak-check plugin on 1,000 trivial tests, as a ratio measured in one run.

    python benchmarks/bench_leak_plugin.py [--tests 1000] [--rounds 5]

Each round runs pytest in a fresh subprocess three ways, in alternating order: with the
plugin off (the default), with ``--memlint-leaks``, and with ``--collect-only`` (start-up
and collection, the part of a run that does not depend on the number of tests executed).
It prints the median wall time of each and two ratios: the whole run, and the test phase
alone (run time minus collect-only time), which is what the plugin's per-test work changes.
Target: whole-run ratio at most 1.3x.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

TEST_TEMPLATE = "def test_{index}():\n    assert {index} + 1 > {index}\n\n\n"


def write_suite(folder: str, count: int) -> str:
    path = os.path.join(folder, "test_trivial.py")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("".join(TEST_TEMPLATE.format(index=index) for index in range(count)))
    # An empty ini file makes the folder pytest's rootdir, away from this project's config.
    with open(os.path.join(folder, "pytest.ini"), "w", encoding="utf-8") as handle:
        handle.write("[pytest]\n")
    return path


def run(folder: str, extra: List[str], expected: int) -> float:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_trivial.py", *extra]
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"pytest failed ({' '.join(extra)}):\n{completed.stdout}\n{completed.stderr}")
    if "--collect-only" not in extra and f"{expected} passed" not in completed.stdout:
        raise SystemExit(f"expected {expected} passing tests:\n{completed.stdout}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    variants = {"off": [], "on": ["--memlint-leaks"], "collect": ["--collect-only"]}
    times: Dict[str, List[float]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory(prefix="memlint-bench-") as folder:
        write_suite(folder, args.tests)
        run(folder, variants["on"], args.tests)  # warm the file cache and the .pyc files
        for round_index in range(args.rounds):
            order = list(variants) if round_index % 2 == 0 else list(reversed(list(variants)))
            for name in order:
                times[name].append(run(folder, variants[name], args.tests))
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"{args.tests} trivial tests, {args.rounds} rounds, median wall time per pytest run:")
    for name in ("off", "on", "collect"):
        print(f"  {name:8s} {median[name]:.3f} s   (all: {', '.join(f'{value:.3f}' for value in times[name])})")
    whole = median["on"] / median["off"]
    phase_off = median["off"] - median["collect"]
    phase_on = median["on"] - median["collect"]
    print(f"whole run, plugin on / off:      {whole:.2f}x (target <= 1.3x)")
    if phase_off > 0:
        print(f"test phase only, plugin on / off: {phase_on / phase_off:.2f}x")
    print(f"added cost per test: {(median['on'] - median['off']) / args.tests * 1e6:.0f} us")


if __name__ == "__main__":
    main()

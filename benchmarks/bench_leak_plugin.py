"""Cost of memlint's leak-check plugin on 1,000 trivial tests, as a ratio measured in one run.

    python benchmarks/bench_leak_plugin.py [--tests 1000] [--rounds 7]

Each round runs pytest in a fresh subprocess three ways, in alternating order: with the
plugin off (the default), with ``--memlint-leaks``, and with ``--collect-only`` (start-up
and collection only). Three clocks are kept for each run: wall time, CPU time of the whole
process (user + system, which other load on the machine disturbs less than wall time), and
CPU time of the pytest session alone (from session start to finish, measured by a tiny
plugin: no interpreter start-up or plugin imports). Ratios use the fastest run of each
variant, the one least disturbed by other load; the "test phase" ratio subtracts the
collect-only run, leaving what the plugin's per-test work changes.
Target: whole-run ratio at most 1.3x.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Tuple

TEST_TEMPLATE = "def test_{index}():\n    assert {index} + 1 > {index}\n\n\n"


def write_suite(folder: str, count: int) -> str:
    path = os.path.join(folder, "test_trivial.py")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("".join(TEST_TEMPLATE.format(index=index) for index in range(count)))
    # An empty ini file makes the folder pytest's rootdir, away from this project's config.
    with open(os.path.join(folder, "pytest.ini"), "w", encoding="utf-8") as handle:
        handle.write("[pytest]\n")
    return path


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# Loaded into the measured pytest with ``-p``: the session's own CPU time, to a file.
CLOCK_PLUGIN = """
import os, time
_started = []

def pytest_sessionstart(session):
    _started.append(time.process_time())

def pytest_sessionfinish(session):
    with open(os.environ["MEMLINT_BENCH_CLOCK"], "w", encoding="utf-8") as handle:
        handle.write(repr(time.process_time() - _started[0]))
"""


def run(folder: str, extra: List[str], expected: int) -> Tuple[float, float, float]:
    """Wall time, CPU time (user + system) and the session's CPU time of one pytest run."""
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "memlint_bench_clock",
        "test_trivial.py", *extra,
    ]
    clock_file = os.path.join(folder, "clock.txt")
    env = dict(os.environ, PYTHONPATH=folder, MEMLINT_BENCH_CLOCK=clock_file)
    cpu_before = _children_cpu()
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    cpu = _children_cpu() - cpu_before
    if completed.returncode != 0:
        raise SystemExit(f"pytest failed ({' '.join(extra)}):\n{completed.stdout}\n{completed.stderr}")
    if "--collect-only" not in extra and f"{expected} passed" not in completed.stdout:
        raise SystemExit(f"expected {expected} passing tests:\n{completed.stdout}")
    with open(clock_file, encoding="utf-8") as handle:
        session_cpu = float(handle.read())
    return elapsed, cpu, session_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    variants = {"off": [], "on": ["--memlint-leaks"], "collect": ["--collect-only"]}
    clocks = ("wall", "cpu", "session-cpu")
    samples: Dict[str, Dict[str, List[float]]] = {name: {clock: [] for clock in clocks} for name in variants}
    with tempfile.TemporaryDirectory(prefix="memlint-bench-") as folder:
        write_suite(folder, args.tests)
        with open(os.path.join(folder, "memlint_bench_clock.py"), "w", encoding="utf-8") as handle:
            handle.write(CLOCK_PLUGIN)
        run(folder, variants["on"], args.tests)  # warm the file cache and the .pyc files
        for round_index in range(args.rounds):
            order = list(variants) if round_index % 2 == 0 else list(reversed(list(variants)))
            for name in order:
                for clock, value in zip(clocks, run(folder, variants[name], args.tests)):
                    samples[name][clock].append(value)
    best = {name: {clock: min(values) for clock, values in by_clock.items()} for name, by_clock in samples.items()}
    print(f"{args.tests} trivial tests, {args.rounds} rounds; fastest (median) seconds per pytest run:")
    print(f"  {'':8s} " + " ".join(f"{clock:>16s}" for clock in clocks))
    for name in variants:
        cells = [
            f"{best[name][clock]:.3f} ({statistics.median(samples[name][clock]):.3f})" for clock in clocks
        ]
        print(f"  {name:8s} " + " ".join(f"{cell:>16s}" for cell in cells))
    print("plugin on / off, whole run (target <= 1.3x):")
    for clock in clocks:
        print(f"  {clock:12s} {best['on'][clock] / best['off'][clock]:.2f}x")
    print("plugin on / off, test phase only (run minus collect-only):")
    for clock in clocks:
        phase_off = best["off"][clock] - best["collect"][clock]
        phase_on = best["on"][clock] - best["collect"][clock]
        if phase_off > 0:
            print(f"  {clock:12s} {phase_on / phase_off:.2f}x   (+{(phase_on - phase_off) / args.tests * 1e6:.0f} us per test)")


if __name__ == "__main__":
    main()

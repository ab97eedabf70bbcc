"""Cost of memlint's leak checks, as ratios measured in one run.

    python benchmarks/bench_leak_plugin.py [--tests 1000] [--rounds 7] [--leaking 20]
    python benchmarks/bench_leak_plugin.py --suite PROJECT_DIR [--rounds 5] [-- PYTEST ARGS...]

**Synthetic suite** (the default). Each round runs pytest in a fresh subprocess, in
alternating order: plugin off (the default), ``--memlint-leaks``, ``--memlint-memory``
(the memory-growth check on every test) and ``--collect-only`` (start-up and collection
only), on ``--tests`` trivial tests. Three clocks are kept: wall time, CPU time of the
whole process (user + system, which other load disturbs less than wall time) and CPU
time of the pytest session alone (measured by a tiny plugin). Ratios use the fastest run
of each variant, the one least disturbed by other load; medians are printed beside them.
The "test phase" ratio subtracts the collect-only run. Target: whole-run ratio <= 1.3x.
A second suite of ``--leaking`` tests, each leaving a thread blocked for good, measures
what a leaking test costs on top (gc, the grace wait that now ends once nothing moves).

**A real project's suite** (``--suite``): runs ``python -m pytest -q -p no:cacheprovider``
in PROJECT_DIR (plus the arguments after ``--``) with the leak checks off and on (warn
mode, so a leak does not change the outcome), alternating, ``--rounds`` times each, and
prints the median and the spread (min-max) of wall and CPU time (``--check memory``
measures ``--memlint-memory`` instead), the ratio of the
medians, and the load average before and after. The project is not part of memlint: for
example ``pip download --no-deps --no-binary :all: pluggy==1.6.0 -d /tmp/src``, unpack it,
and pass ``--suite /tmp/src/pluggy-1.6.0 -- testing``.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence, Tuple

TEST_TEMPLATE = "def test_{index}():\n    assert {index} + 1 > {index}\n\n\n"
LEAKING_TEMPLATE = (
    "def test_leaks_{index}():\n"
    "    threading.Thread(target=STOP.wait, name='blocked-{index}', daemon=True).start()\n\n\n"
)


def write_suite(folder: str, count: int, leaking: int) -> None:
    with open(os.path.join(folder, "test_trivial.py"), "w", encoding="utf-8") as handle:
        handle.write("".join(TEST_TEMPLATE.format(index=index) for index in range(count)))
    with open(os.path.join(folder, "test_leaking.py"), "w", encoding="utf-8") as handle:
        handle.write("import threading\n\nSTOP = threading.Event()\n\n\n")
        handle.write("".join(LEAKING_TEMPLATE.format(index=index) for index in range(leaking)))
    # An empty ini file makes the folder pytest's rootdir, away from this project's config.
    with open(os.path.join(folder, "pytest.ini"), "w", encoding="utf-8") as handle:
        handle.write("[pytest]\n")


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


def run(folder: str, target: str, extra: List[str], expected: Optional[int]) -> Tuple[float, float, float]:
    """Wall time, CPU time (user + system) and the session's CPU time of one pytest run."""
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "memlint_bench_clock", target, *extra,
    ]
    clock_file = os.path.join(folder, "clock.txt")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([folder, os.environ.get("PYTHONPATH", "")]),
               MEMLINT_BENCH_CLOCK=clock_file)
    cpu_before = _children_cpu()
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    cpu = _children_cpu() - cpu_before
    if completed.returncode != 0:
        raise SystemExit(f"pytest failed ({' '.join(extra)}):\n{completed.stdout}\n{completed.stderr}")
    if expected is not None and "--collect-only" not in extra and f"{expected} passed" not in completed.stdout:
        raise SystemExit(f"expected {expected} passing tests:\n{completed.stdout}")
    with open(clock_file, encoding="utf-8") as handle:
        session_cpu = float(handle.read())
    return elapsed, cpu, session_cpu


def synthetic(args: argparse.Namespace) -> None:
    variants = {
        "off": [], "on": ["--memlint-leaks"], "memory": ["--memlint-memory"], "collect": ["--collect-only"],
    }
    clocks = ("wall", "cpu", "session-cpu")
    samples: Dict[str, Dict[str, List[float]]] = {name: {clock: [] for clock in clocks} for name in variants}
    leaking: Dict[str, List[float]] = {"off": [], "on": []}
    leaking_flags = {"off": [], "on": ["--memlint-leaks", "--memlint-leaks-mode=warn", "-W", "ignore"]}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="memlint-bench-") as folder:
        write_suite(folder, args.tests, args.leaking)
        with open(os.path.join(folder, "memlint_bench_clock.py"), "w", encoding="utf-8") as handle:
            handle.write(CLOCK_PLUGIN)
        run(folder, "test_trivial.py", variants["on"], args.tests)  # warm the file cache and the .pyc files
        for round_index in range(args.rounds):
            order = list(variants) if round_index % 2 == 0 else list(reversed(list(variants)))
            for name in order:
                for clock, value in zip(clocks, run(folder, "test_trivial.py", variants[name], args.tests)):
                    samples[name][clock].append(value)
            if args.leaking:
                for name in (("off", "on") if round_index % 2 == 0 else ("on", "off")):
                    leaking[name].append(run(folder, "test_leaking.py", leaking_flags[name], args.leaking)[0])
    best = {name: {clock: min(values) for clock, values in by_clock.items()} for name, by_clock in samples.items()}
    print(f"{args.tests} trivial tests, {args.rounds} rounds; load average {_load(load_before)} -> {_load(os.getloadavg())}")
    print(f"fastest (median) seconds per pytest run:\n  {'':8s} " + " ".join(f"{clock:>16s}" for clock in clocks))
    for name in variants:
        cells = [f"{best[name][clock]:.3f} ({statistics.median(samples[name][clock]):.3f})" for clock in clocks]
        print(f"  {name:8s} " + " ".join(f"{cell:>16s}" for cell in cells))
    for check in ("on", "memory"):
        print(f"{check} / off, whole run, fastest (median) (target for 'on' <= 1.3x):")
        for clock in clocks:
            fastest = best[check][clock] / best["off"][clock]
            median = statistics.median(samples[check][clock]) / statistics.median(samples["off"][clock])
            print(f"  {clock:12s} {fastest:.2f}x ({median:.2f}x)")
        print(f"{check} / off, test phase only (run minus collect-only, fastest runs):")
        for clock in clocks:
            phase_off = best["off"][clock] - best["collect"][clock]
            phase_on = best[check][clock] - best["collect"][clock]
            if phase_off > 0:
                print(f"  {clock:12s} {phase_on / phase_off:.2f}x   (+{(phase_on - phase_off) / args.tests * 1e6:.0f} us per test)")
    if args.leaking:
        extra = (statistics.median(leaking["on"]) - statistics.median(leaking["off"])) / args.leaking
        print(f"{args.leaking} tests each leaking a blocked thread (grace period 0.5 s): "
              f"median wall {statistics.median(leaking['off']):.2f} s off, {statistics.median(leaking['on']):.2f} s on, "
              f"+{extra * 1000:.0f} ms per leaking test")


def real_suite(args: argparse.Namespace, pytest_args: Sequence[str]) -> None:
    base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *pytest_args]
    flags = ["--memlint-leaks", "--memlint-leaks-mode=warn"] if args.check == "leaks" else ["--memlint-memory"]
    variants = {"off": base, "on": base + flags}
    wall: Dict[str, List[float]] = {name: [] for name in variants}
    cpu: Dict[str, List[float]] = {name: [] for name in variants}
    summary = ""
    load_before = os.getloadavg()
    for round_index in range(args.rounds):
        order = list(variants) if round_index % 2 == 0 else list(reversed(list(variants)))
        for name in order:
            cpu_before = _children_cpu()
            started = time.perf_counter()
            completed = subprocess.run(variants[name], cwd=args.suite, capture_output=True, text=True, check=False)
            wall[name].append(time.perf_counter() - started)
            cpu[name].append(_children_cpu() - cpu_before)
            if completed.returncode not in (0, 1):
                raise SystemExit(f"pytest could not run the suite:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")
            found = re.search(r"^\d+ tests? (checked|measured).*$", completed.stdout, re.MULTILINE)
            if name == "on" and found:
                summary = found.group(0)
    print(f"{args.suite} {' '.join(pytest_args)}: {args.check} check, {args.rounds} runs each; "
          f"load average {_load(load_before)} -> {_load(os.getloadavg())}")
    for label, values in (("wall", wall), ("cpu", cpu)):
        for name in variants:
            print(f"  {label:5s} {name:4s} median {statistics.median(values[name]):.2f} s "
                  f"(spread {min(values[name]):.2f}-{max(values[name]):.2f})")
        ratios = sorted(on / off for on, off in zip(values["on"], values["off"]))
        print(f"  {label:5s} on/off: {statistics.median(values['on']) / statistics.median(values['off']):.2f}x "
              f"of the medians (per-round ratios {ratios[0]:.2f}-{ratios[-1]:.2f}x)")
    print(f"  {args.check} check: {summary or 'no summary line found'}")


def _load(values: Tuple[float, float, float]) -> str:
    return "/".join(f"{value:.1f}" for value in values)


def main() -> None:
    argv = sys.argv[1:]
    pytest_args: List[str] = []
    if "--" in argv:
        pytest_args = argv[argv.index("--") + 1:]
        argv = argv[: argv.index("--")]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=1000)
    parser.add_argument("--leaking", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--suite", help="a project folder whose own test suite is measured instead")
    parser.add_argument("--check", choices=("leaks", "memory"), default="leaks",
                        help="with --suite: the check to switch on (--memlint-leaks or --memlint-memory)")
    args = parser.parse_args(argv)
    if args.suite:
        if not os.path.isdir(args.suite):
            parser.error(f"--suite {args.suite}: no such folder")
        real_suite(args, pytest_args)
    else:
        synthetic(args)


if __name__ == "__main__":
    main()

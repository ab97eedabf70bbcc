"""How fast is memlint on a real code base? Run by hand, not part of the test suite.

    python benchmarks/bench_speed.py [--repeat N] [--verify-prefilter] [--verify-regions] [--keep DIR]

Builds a corpus from this interpreter's standard library (no network: every ``*.py`` under
the stdlib folder except ``site-packages`` and the ``test`` package), then measures, in
one run and on the same files:

- the floor: libcst ``parse_module`` of every file in one process (what any libcst tool
  pays before doing anything);
- memlint cold with ``--jobs 1`` and with the default jobs (empty cache each time);
- memlint warm (nothing changed since the cold run);
- a pre-commit-sized run: 10 changed files named explicitly, the rest cached (the median
  of at least 10 runs);
- ruff (``SIM115``) and pylint (``consider-using-with``) when they are installed.

Each figure is the median wall time and CPU time (of the whole process tree) of
``--repeat`` runs, each also given as a ratio to the floor, with the peak resident memory
of the largest single process involved (the main process or any worker). ``--verify-prefilter`` also checks the whole corpus with the
file-level prefilter off and reports whether the findings are identical; ``--verify-regions``
does the same with region parsing off (libcst parsing whole files, ``memlint.regions``),
over the corpus and the project's fixtures, comparing positions, messages and fixes.

The table ends with every aim of issue 19 (``TARGETS``): the figure, the aim, met or not,
and the load average before and after the run (wall times mean little on a busy machine).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

# Runs a command and reports the peak RSS of its whole process tree: getrusage's
# RUSAGE_CHILDREN takes the maximum over every descendant that was waited for.
_MEASURE = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(json.loads(sys.argv[1]), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"code": code, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024}))
"""

_FLOOR = """
import os, sys, threading
import libcst
sys.setrecursionlimit(100_000)
threading.stack_size(512 * 1024 * 1024)
failures = []
def parse_all():
    for root, dirs, files in os.walk(sys.argv[1]):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                with open(os.path.join(root, name), "rb") as handle:
                    data = handle.read()
                try:
                    libcst.parse_module(data)
                except Exception:
                    failures.append(name)
worker = threading.Thread(target=parse_all)
worker.start()
worker.join()
sys.exit(0 if len(failures) < 50 else 1)
"""


def build_corpus(destination: Path, with_tests: bool = False) -> Tuple[int, int]:
    """Copy the standard library's Python files into ``destination``; (files, lines).
    ``with_tests``: the ``test`` package too (the largest files, for peak memory)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = lines = 0
    left_out = ("site-packages",) if with_tests else ("site-packages", "test")
    for root, dirs, names in os.walk(stdlib):
        here = Path(root)
        if here == stdlib:
            dirs[:] = [d for d in dirs if d not in left_out]
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            if not name.endswith(".py"):
                continue
            target = destination / here.relative_to(stdlib) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(here / name, target)
            files += 1
            with open(target, "rb") as handle:
                lines += handle.read().count(b"\n")
    return files, lines


def measure(command: Sequence[str], cwd: Path, repeat: int, env: Dict[str, str], before_each=None) -> Dict[str, float]:
    """Median wall and CPU time, and the largest peak RSS, over ``repeat`` runs."""
    walls: List[float] = []
    cpus: List[float] = []
    peaks: List[float] = []
    code = 0
    for _ in range(repeat):
        if before_each is not None:
            before_each()
        result = subprocess.run(
            [sys.executable, "-c", _MEASURE, json.dumps(list(command))],
            cwd=str(cwd), capture_output=True, text=True, check=True, env=env,
        )
        figures = json.loads(result.stdout)
        walls.append(figures["wall"])
        cpus.append(figures["cpu"])
        peaks.append(figures["peak_mb"])
        code = figures["code"]
    return {"wall": statistics.median(walls), "cpu": statistics.median(cpus), "peak_mb": max(peaks), "code": code}


def snapshot_memlint(destination: Path) -> Dict[str, str]:
    """Copy the memlint being measured (package and rule specs) into ``destination`` and
    return an environment that runs it: edits to the checkout during a long benchmark
    then change neither the code measured nor the cache fingerprint."""
    import memlint

    package = Path(memlint.__file__).resolve().parent
    shutil.copytree(package, destination / "memlint", ignore=shutil.ignore_patterns("__pycache__"))
    specs = package.parent / "rules"
    if specs.is_dir():
        shutil.copytree(specs, destination / "rules")
    # Compiled once, as an installed package is (pip compiles at install): under
    # PYTHONDONTWRITEBYTECODE every run would otherwise compile memlint's modules again,
    # about a tenth of a second of each warm or pre-commit run.
    import compileall

    compileall.compile_dir(str(destination / "memlint"), quiet=1)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(destination), env.get("PYTHONPATH", "")]))
    return env


def memlint_command(*args: str) -> List[str]:
    return [sys.executable, "-m", "memlint", "check", "--isolated", "--exit-zero", "-q", "--output-format", "concise", *args]


def _with_confidence(findings: Sequence[Any]) -> List[Any]:
    """Findings compared with their confidence, which ``Finding`` equality leaves out."""
    return [(finding, finding.confidence) for finding in findings]


def verify_prefilter(corpus: Path) -> str:
    """Check the corpus with the prefilter on and off (in this process) and compare."""
    from memlint.api import check_files
    from memlint.config import ConfigResolver
    from memlint.discovery import discover

    from memlint.config import Overrides

    # Every finding, of either confidence, and its confidence too.
    resolver = ConfigResolver(Overrides(confidence="low"), isolated=True)
    files = discover([str(corpus)], resolver)
    on = _with_confidence(check_files(files, resolver, jobs=2, prefilter=True).findings)
    off = _with_confidence(check_files(files, resolver, jobs=2, prefilter=False).findings)
    if on == off:
        return f"identical ({len(on)} findings)"
    return f"DIFFERENT: {len(set(off) - set(on))} lost, {len(set(on) - set(off))} extra"


def verify_regions(paths: Sequence[str], select: Sequence[str] = ()) -> str:
    """Check ``paths`` with region parsing on and off (in this process) and compare every
    finding: position, code, message and fix."""
    from memlint.api import check_files
    from memlint.config import ConfigResolver, Overrides
    from memlint.discovery import discover

    overrides = Overrides(select=tuple(select) if select else None, confidence="low")
    resolver = ConfigResolver(overrides, isolated=True)
    files = discover(list(paths), resolver)
    on = _with_confidence(check_files(files, resolver, jobs=2, regions=True).findings)
    off = _with_confidence(check_files(files, resolver, jobs=2, regions=False).findings)
    fixes = sum(1 for finding, _ in on if finding.fix is not None)
    if on == off:
        return f"identical ({len(on)} findings, {fixes} with a fix, {len(files)} files)"
    lost, extra = set(off) - set(on), set(on) - set(off)
    sample = "; ".join(f"{f.path}:{f.line} {f.code} ({level})"
                       for f, level in sorted(lost | extra, key=lambda pair: (pair[0].path, pair[0].line))[:5])
    return f"DIFFERENT: {len(lost)} lost, {len(extra)} extra ({sample})"


def prefilter_share(corpus: Path) -> Tuple[int, int, int, int]:
    """(files, lines) the prefilter sends to libcst, and the totals."""
    from memlint.prefilter import needs_analysis

    needs = needs_analysis({})
    kept_files = kept_lines = total_files = total_lines = 0
    for path in corpus.rglob("*.py"):
        data = path.read_bytes()
        total_files += 1
        total_lines += data.count(b"\n")
        if needs(data):
            kept_files += 1
            kept_lines += data.count(b"\n")
    return kept_files, kept_lines, total_files, total_lines


def region_share(corpus: Path) -> Tuple[int, int, int, int]:
    """(files parsed in part, non-blank lines libcst parses, files analysed, their lines)
    with the default rules: the files the two prefilter stages send to libcst."""
    import ast

    from memlint.analysis.project_index import mentions_any
    from memlint.engine import _project_names
    from memlint.prefilter import needs_analysis, tree_needs_analysis
    from memlint.project_facts import facts_for_paths
    from memlint.regions import region_source

    needs = needs_analysis({})
    partial = parsed_lines = files = lines = 0
    paths = sorted(corpus.rglob("*.py"))
    # What the project index gives each file, as in a run (``memlint.project_facts``).
    all_facts = facts_for_paths([str(path) for path in paths])
    for path, facts in zip(paths, all_facts):
        data = path.read_bytes()
        if not needs(data) and not (facts and mentions_any(facts, data)):
            continue
        try:
            text = data.decode("utf-8")
            tree = ast.parse(text)
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        if not tree_needs_analysis(tree, {}, (), [name for name, _summary in facts]):
            continue
        files += 1
        lines += data.count(b"\n")
        selected = region_source(text, tree, {}, (), _project_names(facts))
        kept = selected.text if selected is not None else text
        partial += selected is not None
        parsed_lines += sum(1 for line in kept.splitlines() if line.strip())
    return partial, parsed_lines, files, lines


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs per figure (the median is shown)")
    parser.add_argument("--verify-prefilter", action="store_true", help="also compare findings with the prefilter off")
    parser.add_argument("--verify-regions", action="store_true",
                        help="also compare findings with region parsing off (corpus and fixtures)")
    parser.add_argument("--with-tests", action="store_true",
                        help="also measure memlint's peak memory on the standard library with its test package")
    parser.add_argument("--verify-only", action="store_true", help="skip the timings (with --verify-*)")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR (an empty or absent folder) and keep it")
    options = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="memlint-bench-") as scratch:
        work = Path(options.keep) if options.keep else Path(scratch)
        if options.keep and work.exists() and any(work.iterdir()):
            parser.error(f"--keep: {work} is not empty")
        corpus = work / "stdlib"
        files, lines = build_corpus(corpus)
        env = snapshot_memlint(work / "code")
        kept_files, kept_lines, _, _ = prefilter_share(corpus)
        jobs = os.cpu_count() or 1
        print(f"corpus: {files} files, {lines:,} lines from {sysconfig.get_paths()['stdlib']}")
        print(f"prefilter: {kept_files} files ({kept_lines:,} lines) need libcst, "
              f"{files - kept_files} files are only syntax-checked")
        partial, parsed_lines, analysed, analysed_lines = region_share(corpus)
        print(f"regions: {partial} of the {analysed} files analysed ({analysed_lines:,} lines) are parsed in part; "
              f"libcst parses {parsed_lines:,} non-blank lines of them")
        print(f"load average before: {os.getloadavg()[0]:.2f} on {jobs} CPUs (other work skews wall times)")
        cache = work / "cache"

        def fresh_cache() -> None:
            shutil.rmtree(cache, ignore_errors=True)

        changed = sorted(corpus.rglob("*.py"))[:: max(1, files // 10)][:10]

        def change_ten() -> None:
            for path in changed:
                with open(path, "a", encoding="utf-8") as handle:
                    handle.write("\n# changed by bench_speed\n")

        def run(command: Sequence[str], before_each=None, repeat: int = 0) -> Dict[str, float]:
            return measure(command, work, max(repeat, options.repeat), env, before_each)

        if options.verify_only:
            report_verifications(options, corpus)
            return 0
        rows: List[Tuple[str, str, Dict[str, float]]] = []
        floor = run([sys.executable, "-c", _FLOOR, str(corpus)])
        rows.append(("floor", "floor: libcst parse_module, 1 process", floor))
        rows.append(("jobs1", "memlint cold, --jobs 1",
                     run(memlint_command("--jobs", "1", "--cache-dir", str(cache), str(corpus)), fresh_cache)))
        rows.append(("default", f"memlint cold, default jobs ({jobs})",
                     run(memlint_command("--cache-dir", str(cache), str(corpus)), fresh_cache)))
        rows.append(("warm", "memlint warm, nothing changed",
                     run(memlint_command("--cache-dir", str(cache), str(corpus)))))
        rows.append(("ten", "memlint, 10 changed files (pre-commit)",
                     run(memlint_command("--cache-dir", str(cache), *map(str, changed)), change_ten,
                         repeat=PRE_COMMIT_REPEAT)))
        if options.with_tests:
            whole = work / "stdlib-with-tests"
            whole_files, whole_lines = build_corpus(whole, with_tests=True)
            print(f"corpus with the test package: {whole_files} files, {whole_lines:,} lines")
            rows.append(("with-tests", "memlint cold, --jobs 1, with the test package",
                         run(memlint_command("--jobs", "1", "--cache-dir", str(cache), str(whole)), fresh_cache)))
        if shutil.which("ruff"):
            rows.append(("ruff", "ruff --select SIM115", run(
                ["ruff", "check", "--no-cache", "--isolated", "--select", "SIM115", "--exit-zero", str(corpus)])))
        else:
            print("ruff: not installed, skipped")
        if shutil.which("pylint"):
            rows.append(("pylint", "pylint consider-using-with, 2 processes", run(
                ["pylint", "--disable=all", "--enable=consider-using-with", "--jobs", "2", "--exit-zero", str(corpus)])))
        else:
            print("pylint: not installed, skipped")

        print()
        # CPU time is the steadier figure on a busy machine; wall time is what a user waits.
        print(f"{'what':<44} {'wall s':>8} {'x floor':>8} {'cpu s':>8} {'x floor':>8} {'peak MB':>8}")
        for _key, label, figures in rows:
            print(f"{label:<44} {figures['wall']:>8.2f} {figures['wall'] / floor['wall']:>8.3f} "
                  f"{figures['cpu']:>8.2f} {figures['cpu'] / floor['cpu']:>8.3f} {figures['peak_mb']:>8.0f}")
        print()
        print(f"load average after: {os.getloadavg()[0]:.2f} on {jobs} CPUs")
        print("\n".join(target_lines({key: figures for key, _label, figures in rows})))
        report_verifications(options, corpus)
    return 0


# Issue 19's aims: (key, what, the figure, how it compares, the aim). Each figure is taken
# from rows of one run. CPU time for one process (steadier on a shared machine); wall time
# where the point is parallelism or what a user waits for.
TARGETS = (
    ("jobs1", "cold --jobs 1, CPU x floor CPU", lambda f: f["jobs1"]["cpu"] / f["floor"]["cpu"], "<=", 0.5),
    ("default", "cold default jobs, wall x floor wall", lambda f: f["default"]["wall"] / f["floor"]["wall"], "<=", 0.3),
    ("warm", "warm, wall x floor wall", lambda f: f["warm"]["wall"] / f["floor"]["wall"], "<=", 0.03),
    ("pylint", "pylint consider-using-with CPU x memlint --jobs 1 CPU",
     lambda f: f["pylint"]["cpu"] / f["jobs1"]["cpu"], ">=", 5.0),
    ("ten", "10 changed files, wall s (interpreter start included)", lambda f: f["ten"]["wall"], "<=", 0.35),
    ("with-tests", "peak MB, standard library with its tests", lambda f: f["with-tests"]["peak_mb"], "<=", 250.0),
)


# The pre-commit run takes well under a second: always the median of this many, as hyperfine would.
PRE_COMMIT_REPEAT = 10


def target_lines(figures: Dict[str, Dict[str, float]]) -> List[str]:
    """One line per aim of issue 19: the figure, the aim, and whether it is met; an aim
    whose measurement was not taken (a tool not installed, no --with-tests) says so."""
    lines = [f"{'target':<56} {'figure':>8} {'aim':>9}  verdict"]
    for key, what, figure_of, sense, aim in TARGETS:
        try:
            figure = figure_of(figures)
        except (KeyError, ZeroDivisionError):
            lines.append(f"{what:<56} {'-':>8} {sense:>2} {aim:<6}  not measured ({key})")
            continue
        met = figure <= aim if sense == "<=" else figure >= aim
        lines.append(f"{what:<56} {figure:>8.3f} {sense:>2} {aim:<6}  {'met' if met else 'NOT met'}")
    return lines


def report_verifications(options: argparse.Namespace, corpus: Path) -> None:
    if options.verify_prefilter:
        print()
        print(f"prefilter on vs off over the corpus: {verify_prefilter(corpus)}")
    if options.verify_regions:
        fixtures = Path(__file__).resolve().parent.parent / "fixtures"
        print()
        print(f"region parsing on vs off over the corpus: {verify_regions([str(corpus)])}")
        # The default rules: with a growth rule selected a file is always parsed whole.
        print(f"region parsing on vs off over the fixtures: {verify_regions([str(fixtures)])}")


if __name__ == "__main__":
    sys.exit(main())

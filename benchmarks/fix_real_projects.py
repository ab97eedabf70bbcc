"""Does ``memlint check --fix`` keep real projects working, and how much does it fix? Run by hand.

    python benchmarks/fix_real_projects.py [--workdir /tmp/fixcheck] [--only NAME,...] [--skip-tests]
                                           [--unsafe-fixes]

For each project below (small pure-Python projects whose sdist ships its tests) it:

1. downloads the sdist once (``pip download --no-deps --no-binary :all:``) into
   ``WORKDIR/sdists`` and unpacks a fresh copy into ``WORKDIR/src``;
2. measures the fix rate on the untouched copy: of the MEM001/MEM003 findings in
   straight-line code (the definition of ``tests/test_fix_share.py``) with a resource that
   has an equivalent ``with``, the share with a safe fix and with any fix; and, over the
   library code alone (not the tests), the share of all MEM001/MEM003 findings with any fix;
3. runs the project's tests, applies the safe fixes (with ``--unsafe-fixes``: all fixes) to the
   whole copy (library and tests, ``memlint check --fix --isolated``), checks every fixed file still parses, runs the tests
   again and compares: the same tests must pass (a test that fails before the fix, for a
   reason of this machine, must fail the same way after it).

Nothing is installed: the tests run with this interpreter, with the project on
``PYTHONPATH`` (the projects chosen need only pytest). Nothing is written outside WORKDIR.
Prints one line per project and the totals; exits 1 if a fix broke a test.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


@dataclass(frozen=True)
class Project:
    requirement: str
    # Test paths, relative to the unpacked sdist.
    tests: Tuple[str, ...]
    # Folders (relative) that are test code, not library code, for the library-only rate.
    test_dirs: Tuple[str, ...]
    # False: the fix rate only (the suite needs the network or takes too long here).
    suite: bool = True


PROJECTS: Sequence[Project] = (
    Project("bottle==0.12.25", ("test",), ("test",)),
    Project("polib==1.2.0", ("tests/tests.py",), ("tests",)),
    Project("pysrt==1.1.2", ("tests",), ("tests",)),
    Project("mutagen==1.47.0", ("tests",), ("tests",)),
    # Its suite talks to a key server.
    Project("python-gnupg==0.5.2", ("test_gnupg.py",), ("test_gnupg.py",), suite=False),
)
LEAKS = ("MEM001", "MEM003")
# The short summary of ``pytest -rA``: "PASSED test/x.py::T::t", "FAILED test/x.py::t - why".
_OUTCOME = re.compile(r"^(PASSED|FAILED|ERROR|XFAIL|XPASS) (\S+::\S+)", re.MULTILINE)


def _name(project: Project) -> str:
    return project.requirement.split("==")[0]


def fetch(project: Project, workdir: Path) -> Path:
    """A fresh unpacked copy of the project's sdist."""
    sdists = workdir / "sdists"
    sdists.mkdir(parents=True, exist_ok=True)
    name, version = project.requirement.split("==")
    pattern = re.compile(re.escape(name).replace("\\-", "[-_]") + "-" + re.escape(version) + r"\.tar\.gz$", re.I)
    found = [p for p in sdists.iterdir() if pattern.match(p.name)]
    if not found:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
             project.requirement, "-d", str(sdists)],
            check=True,
        )
        found = [p for p in sdists.iterdir() if pattern.match(p.name)]
    target = workdir / "src"
    target.mkdir(exist_ok=True)
    with tarfile.open(found[0]) as archive:
        top = archive.getnames()[0].split("/")[0]
        shutil.rmtree(target / top, ignore_errors=True)
        archive.extractall(target)  # noqa: S202 - an sdist we chose, unpacked into our own folder
    return target / top


def run_tests(folder: Path, project: Project) -> Dict[str, str]:
    """Test id -> outcome, from ``pytest -rA`` of the project's tests."""
    environment = dict(os.environ, PYTHONPATH=str(folder), PYTHONDONTWRITEBYTECODE="1")
    command = [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "-p", "no:randomly",
               *project.tests]
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True, env=environment, timeout=1800)
    outcomes = {test: outcome for outcome, test in _OUTCOME.findall(result.stdout)}
    if not outcomes:
        raise SystemExit(f"{_name(project)}: no test ran:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return outcomes


def apply_fixes(folder: Path, unsafe: bool = False) -> Tuple[int, List[Path]]:
    """Run ``memlint check --fix`` (with ``unsafe``: ``--unsafe-fixes`` too) on the copy; the
    number of findings fixed and the files changed."""
    before = {path: path.read_bytes() for path in folder.rglob("*.py")}
    environment = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "memlint", "check", "--fix", "--isolated", "--no-cache", "--jobs", "1",
         "--output-format", "concise", str(folder)] + (["--unsafe-fixes"] if unsafe else []),
        capture_output=True, text=True, env=environment,
    )
    found = re.search(r"Fixed (\d+) finding", result.stderr)
    changed = [path for path, data in before.items() if path.read_bytes() != data]
    for path in changed:
        ast.parse(path.read_bytes(), str(path))
    return (int(found.group(1)) if found else 0), changed


def fix_rate(folder: Path, project: Project) -> Tuple[int, int, int, int, int]:
    """(straight-line findings with a `with` form, with a safe fix, with any fix,
    library findings, library findings with any fix)."""
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider
    from test_fix_share import _has_with_form, _straight_line

    import memlint
    from memlint.analysis import analyze_module
    try:
        from memlint.fixes.context import FixContext
    except ImportError:  # the fixer before issue 15, to measure the old rate the same way
        from memlint.fixes.builders import FixContext  # type: ignore[no-redef]
    from memlint.rules.base import RuleOptions

    straight = safe = any_fix = library = library_fixed = 0
    for path in sorted(folder.rglob("*.py")):
        relative = path.relative_to(folder).as_posix()
        in_tests = any(relative == d or relative.startswith(d.rstrip("/") + "/") for d in project.test_dirs)
        try:
            source = path.read_text(encoding="utf-8")
            module = cst.parse_module(source)
        except Exception:  # noqa: BLE001 - a file memlint reports as MEM000 is not counted
            continue
        analysis = analyze_module(module, source, RuleOptions())
        positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        findings = {(f.line, f.code): f for f in memlint.check_source(source, str(path)) if f.code in LEAKS}
        fx = FixContext(module)
        for defect in _defects(analysis):
            if defect.code not in LEAKS:
                continue
            finding = findings.get((positions[defect.node].start.line, defect.code))
            fixed = finding is not None and finding.fix is not None
            if not in_tests:
                library += 1
                library_fixed += fixed
            if _straight_line(fx, defect) and _has_with_form(defect):
                straight += 1
                safe += fixed and finding.fix.safe  # type: ignore[union-attr]
                any_fix += fixed
                if not fixed and os.environ.get("FIXCHECK_LIST_MISSED"):
                    print(f"    not fixed: {relative}:{positions[defect.node].start.line} {defect.code} {defect.category}")
    return straight, safe, any_fix, library, library_fixed


def _defects(analysis: object) -> list:  # type: ignore[type-arg]
    """The analysis's defects (a list before the analysis was split into facts and rules)."""
    try:
        from memlint.rules._report import defects_of
    except ImportError:
        return list(getattr(analysis, "defects"))
    return defects_of(analysis)  # type: ignore[arg-type]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="/tmp/fixcheck")
    parser.add_argument("--only", help="comma-separated project names")
    parser.add_argument("--skip-tests", action="store_true", help="measure the fix rate only")
    parser.add_argument("--unsafe-fixes", action="store_true", help="apply the unsafe fixes too")
    options = parser.parse_args()
    workdir = Path(options.workdir)
    wanted: Optional[Set[str]] = set(options.only.split(",")) if options.only else None
    totals = [0, 0, 0, 0, 0]
    broken = False
    print(f"load before: {os.getloadavg()[0]:.2f}")
    for project in PROJECTS:
        if wanted is not None and _name(project) not in wanted:
            continue
        folder = fetch(project, workdir)
        rate = fix_rate(folder, project)
        totals = [a + b for a, b in zip(totals, rate)]
        line = (f"{project.requirement}: straight-line {rate[0]}, safe fix {rate[1]}, any fix {rate[2]}; "
                f"library findings {rate[3]}, with a fix {rate[4]}")
        if project.suite and not options.skip_tests:
            before = run_tests(folder, project)
            fixed, changed = apply_fixes(folder, options.unsafe_fixes)
            after = run_tests(folder, project)
            passed = sum(1 for outcome in before.values() if outcome == "PASSED")
            failed_before = sorted(t for t, o in before.items() if o in ("FAILED", "ERROR"))
            same = before == after
            broken = broken or not same
            line += (f"; fixed {fixed} findings in {len(changed)} files; tests {len(before)} "
                     f"({passed} passed, {len(failed_before)} failing before: {', '.join(failed_before) or '-'}); "
                     f"after the fix: {'same outcomes' if same else 'DIFFERENT'}")
            if not same:
                for test in sorted(set(before) | set(after)):
                    if before.get(test) != after.get(test):
                        line += f"\n    {test}: {before.get(test)} -> {after.get(test)}"
        print(line, flush=True)
    straight, safe, any_fix, library, library_fixed = totals
    print(f"total: straight-line findings with a `with` form {straight}: safe fix {safe} ({safe / max(straight, 1):.0%}), "
          f"any fix {any_fix} ({any_fix / max(straight, 1):.0%}); library findings {library}: with a fix "
          f"{library_fixed} ({library_fixed / max(library, 1):.0%})")
    print(f"load after: {os.getloadavg()[0]:.2f}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())

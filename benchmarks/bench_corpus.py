"""memlint, pylint, flake8 and ruff side by side on a big pinned corpus. Run by hand.

    python benchmarks/bench_corpus.py [--repeat N] [--with-tests] [--json PATH] [--cache DIR]

Fetches the pinned sdists of PROJECTS (``pip download --no-deps --no-binary NAME``, once,
into ``benchmarks/.cache/corpus``, which git ignores), unpacks them, copies their Python
files into a scratch folder (no project configuration comes along, so every tool runs
with its own defaults) and measures, in one run and on the same files:

- the floor: libcst ``parse_module`` of every file in one process;
- memlint cold with ``--jobs 1`` and with the default jobs (empty cache each time), and
  memlint warm (nothing changed since the cold run);
- pylint with only ``consider-using-with`` (2 processes), as bench_speed.py does;
- flake8 with its default checks (pycodestyle and pyflakes; mccabe is off by default), 2 processes;
- ruff with ``--select SIM115`` only, and ruff with its default rules (E4, E7, E9, F).

Each figure is the median wall time and CPU time (whole process tree) of ``--repeat``
runs and the largest peak RSS of a single process, with ratios to the floor and to
memlint ``--jobs 1``. A tool that is not installed is reported as such; the script
installs nothing. The table goes to stdout, all figures to a JSON file.

By default the corpus is each project's package without its ``tests``/``test`` folders
(the code that gets installed); ``--with-tests`` takes every Python file of the sdists.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

# bench_speed.py sits next to this file: running this script puts its folder on sys.path.
from bench_speed import _FLOOR as FLOOR_SCRIPT  # noqa: E402 - the same floor as bench_speed
from bench_speed import measure, memlint_command, snapshot_memlint

HERE = Path(__file__).resolve().parent
DEFAULT_CACHE = HERE / ".cache" / "corpus"
DONE_MARK = ".bench-corpus-unpacked"
# (pip name, exact version, the package folder inside the sdist)
PROJECTS: Tuple[Tuple[str, str, str], ...] = (
    ("Django", "5.1.4", "django"),
    ("SQLAlchemy", "2.0.36", "lib/sqlalchemy"),
    ("sympy", "1.13.3", "sympy"),
)
TEST_FOLDERS = frozenset({"tests", "test"})
# Files no tool is given, so that every tool checks the same files: (project, path inside
# the sdist) and why. flake8 stops the whole run, with exit 1, when pyflakes fails on a file.
LEFT_OUT: Tuple[Tuple[str, str, str], ...] = (
    ("sympy", "sympy/polys/numberfields/resolvent_lookup.py",
     "one huge literal: pyflakes hits RecursionError and flake8 checks nothing more"),
)
Runner = Callable[..., "subprocess.CompletedProcess[str]"]


class FetchError(Exception):
    """An sdist could not be downloaded or unpacked; the message is one line."""


def _normalized(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def find_sdist(folder: Path, name: str, version: str) -> Optional[Path]:
    """The downloaded archive of ``name==version`` in ``folder`` (sdist names vary in case)."""
    if not folder.is_dir():
        return None
    wanted = _normalized(f"{name}-{version}")
    for entry in sorted(folder.iterdir()):
        if entry.name.endswith(".tar.gz") and _normalized(entry.name[: -len(".tar.gz")]) == wanted:
            return entry
    return None


def fetch_sdist(name: str, version: str, folder: Path, run: Optional[Runner] = None) -> Path:
    """Download the sdist of ``name==version`` into ``folder`` unless it is there already
    (``run``: what runs pip, subprocess.run when None)."""
    archive = find_sdist(folder, name, version)
    if archive is not None:
        return archive
    run = run or subprocess.run
    folder.mkdir(parents=True, exist_ok=True)
    # `--no-binary NAME`, not `:all:`: the same sdist, but pip may take the build back-end's
    # own requirements (SQLAlchemy's Cython) as wheels to read the metadata, instead of
    # compiling them. Short timeout and one retry: without a network pip would retry for minutes.
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", name, "--dest", str(folder),
               "--quiet", "--timeout", "15", "--retries", "1", f"{name}=={version}"]
    result = run(command, capture_output=True, text=True)
    archive = find_sdist(folder, name, version)
    if result.returncode != 0 or archive is None:
        last = ((result.stderr or "") + (result.stdout or "")).strip().splitlines()[-1:] or ["no sdist found"]
        raise FetchError(f"cannot download {name}=={version} (no network or no PyPI?): {last[0].strip()}")
    return archive


def unpack(archive: Path, target: Path) -> Path:
    """Unpack ``archive`` into ``target`` (the sdist's top folder stripped), once."""
    if (target / DONE_MARK).exists():
        return target
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        with tarfile.open(archive) as bundle:
            if hasattr(tarfile, "data_filter"):  # refuse links and paths that leave the folder
                bundle.extractall(staging, filter="data")
            else:  # pragma: no cover - Pythons without extraction filters
                bundle.extractall(staging)
    except (tarfile.TarError, OSError) as error:
        raise FetchError(f"cannot unpack {archive.name}: {error}") from None
    entries = list(staging.iterdir())
    root = entries[0] if len(entries) == 1 and entries[0].is_dir() else staging
    shutil.rmtree(target, ignore_errors=True)
    shutil.move(str(root), str(target))
    shutil.rmtree(staging, ignore_errors=True)
    (target / DONE_MARK).write_text(archive.name + "\n", encoding="utf-8")
    return target


def copy_python_files(source: Path, destination: Path, with_tests: bool,
                      left_out: Sequence[Path] = ()) -> Tuple[int, int]:
    """Copy every ``*.py`` under ``source`` but ``left_out`` into ``destination``; (files, lines)."""
    files = lines = 0
    skipped = {path.resolve() for path in left_out}
    for root, dirs, names in os.walk(source):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and (with_tests or d not in TEST_FOLDERS))
        here = Path(root)
        for name in sorted(names):
            if not name.endswith(".py") or (here / name).resolve() in skipped:
                continue
            target = destination / here.relative_to(source) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(here / name, target)
            files += 1
            lines += target.read_bytes().count(b"\n")
    return files, lines


def build_corpus(cache: Path, corpus: Path, with_tests: bool) -> List[Dict[str, object]]:
    """Fetch, unpack and copy every project; one dict of counts per project."""
    cache.mkdir(parents=True, exist_ok=True)
    ignore = cache / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# third-party code fetched by bench_corpus.py: never committed\n*\n", encoding="utf-8")
    counts = []
    for name, version, package in PROJECTS:
        archive = fetch_sdist(name, version, cache / "sdists")
        sources = unpack(archive, cache / "src" / f"{name}-{version}")
        # With the tests: the whole sdist (Django and SQLAlchemy keep theirs beside the package).
        left_out = [sources / inside for project, inside, _ in LEFT_OUT if project == name]
        files, lines = copy_python_files(sources if with_tests else sources / package, corpus / name, with_tests,
                                         left_out)
        counts.append({"name": name, "version": version, "sdist": archive.name, "files": files, "lines": lines,
                       "left_out": [str(path.relative_to(sources)) for path in left_out]})
    return counts


def tool_version(command: Sequence[str]) -> str:
    result = subprocess.run(list(command), capture_output=True, text=True, check=False)
    lines = (result.stdout or result.stderr).strip().splitlines()
    return lines[0].strip() if lines else "unknown"


# (key, label, program that must be installed or None, command)
Plan = List[Tuple[str, str, Optional[str], List[str]]]


def other_tools(corpus: Path) -> Plan:
    where = str(corpus)
    return [
        ("pylint", "pylint consider-using-with, 2 processes", "pylint",
         ["pylint", "--disable=all", "--enable=consider-using-with", "--jobs", "2", "--exit-zero", where]),
        ("flake8", "flake8 default checks, 2 processes", "flake8",
         ["flake8", "--isolated", "--exit-zero", "--jobs", "2", where]),
        ("ruff-sim115", "ruff --select SIM115", "ruff",
         ["ruff", "check", "--no-cache", "--isolated", "--select", "SIM115", "--exit-zero", where]),
        ("ruff-default", "ruff default rules (E4,E7,E9,F)", "ruff",
         ["ruff", "check", "--no-cache", "--isolated", "--exit-zero", where]),
    ]


def with_ratios(rows: List[Dict[str, object]]) -> List[Dict[str, object]]:
    """Add wall and CPU ratios to the floor and to memlint --jobs 1 to every measured row."""
    bases = {key: next((row for row in rows if row["key"] == key and "wall" in row), None)
             for key in ("floor", "memlint-jobs1")}
    for row in rows:
        if "wall" not in row:
            continue
        for key, base in bases.items():
            suffix = "floor" if key == "floor" else "jobs1"
            for what in ("wall", "cpu"):
                usable = base is not None and base[what]
                row[f"{what}_x_{suffix}"] = float(row[what]) / float(base[what]) if usable else None
    return rows


def _ratio(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else "-"


def format_table(rows: Sequence[Dict[str, object]]) -> str:
    """The result table: one line per row, 'not installed' (or the note) for rows not measured."""
    header = (f"{'what':<42} {'wall s':>8} {'x floor':>8} {'x j1':>7} "
              f"{'cpu s':>8} {'x floor':>8} {'x j1':>7} {'peak MB':>8}")
    lines = [header]
    for row in rows:
        if "wall" not in row:
            lines.append(f"{row['label']:<42} {row.get('note', 'not measured')}")
            continue
        exit_note = f"  (exit {row['code']})" if row.get("code") else ""
        lines.append(
            f"{row['label']:<42} {row['wall']:>8.2f} {_ratio(row['wall_x_floor']):>8} {_ratio(row['wall_x_jobs1']):>7} "
            f"{row['cpu']:>8.2f} {_ratio(row['cpu_x_floor']):>8} {_ratio(row['cpu_x_jobs1']):>7} "
            f"{row['peak_mb']:>8.0f}{exit_note}")
    return "\n".join(lines)


def parse_arguments(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs per figure, the median is shown (default 1)")
    parser.add_argument("--with-tests", action="store_true", help="every Python file of the sdists, tests included")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where sdists are kept (default %(default)s)")
    parser.add_argument("--json", type=Path, default=None,
                        help="where to write the results (default: bench_corpus.json in the cache)")
    options = parser.parse_args(argv)
    if options.repeat < 1:
        parser.error("--repeat must be at least 1")
    return options


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv: Optional[Sequence[str]] = None) -> int:
    options = parse_arguments(argv)
    with tempfile.TemporaryDirectory(prefix="memlint-corpus-") as scratch:
        work = Path(scratch)
        corpus = work / "corpus"
        try:
            projects = build_corpus(options.cache, corpus, options.with_tests)
        except FetchError as error:
            print(f"bench_corpus: {error}", file=sys.stderr)
            return 2
        files = sum(int(p["files"]) for p in projects)
        lines = sum(int(p["lines"]) for p in projects)
        for project in projects:
            print(f"{project['name']}=={project['version']}: {project['files']} files, {project['lines']:,} lines")
        scope = "every Python file of the sdists" if options.with_tests else "packages without tests folders"
        print(f"corpus: {files} files, {lines:,} lines ({scope})")
        for project, inside, why in LEFT_OUT:
            print(f"left out for every tool: {project} {inside} ({why})")
        env = snapshot_memlint(work / "code")
        cpus = os.cpu_count() or 1
        load_before = _load()
        print(f"load average before (1, 5, 15 min): {load_before} on {cpus} CPUs", flush=True)
        cache = work / "memlint-cache"

        def fresh_cache() -> None:
            shutil.rmtree(cache, ignore_errors=True)

        plan: List[Tuple[str, str, Optional[str], List[str], Optional[Callable[[], None]]]] = [
            ("floor", "floor: libcst parse_module, 1 process", None,
             [sys.executable, "-c", FLOOR_SCRIPT, str(corpus)], None),
            ("memlint-jobs1", "memlint cold, --jobs 1", None,
             memlint_command("--jobs", "1", "--cache-dir", str(cache), str(corpus)), fresh_cache),
            ("memlint-default", f"memlint cold, default jobs ({cpus})", None,
             memlint_command("--cache-dir", str(cache), str(corpus)), fresh_cache),
            ("memlint-warm", "memlint warm, nothing changed", None,
             memlint_command("--cache-dir", str(cache), str(corpus)), None),
        ]
        plan.extend((key, label, program, command, None) for key, label, program, command in other_tools(corpus))
        rows: List[Dict[str, object]] = []
        versions: Dict[str, str] = {"python": platform.python_version()}
        for key, label, program, command, before_each in plan:
            row: Dict[str, object] = {"key": key, "label": label, "command": command}
            if program is not None and shutil.which(program) is None:
                row["note"] = "not installed"
            else:
                if program is not None and program not in versions:
                    versions[program] = tool_version([program, "--version"])
                row.update(measure(command, work, options.repeat, env, before_each))
                print(f"  {label}: {row['wall']:.1f} s wall", flush=True)
            rows.append(row)
        versions["libcst"] = tool_version([sys.executable, "-c", "import libcst, importlib.metadata as m; "
                                           "print(m.version('libcst'))"])
        load_after = _load()
        print(f"load average after (1, 5, 15 min): {load_after}")
        target = options.json or options.cache / "bench_corpus.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        summary = {"projects": projects, "files": files, "lines": lines, "with_tests": options.with_tests,
                   "repeat": options.repeat, "cpus": cpus, "load_before": load_before, "load_after": load_after,
                   "versions": versions, "rows": with_ratios(rows)}
        target.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        print()
        print(format_table(rows))
        print(f"\nresults: {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

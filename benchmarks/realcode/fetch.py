"""Download and unpack the pinned sdists of projects.toml into .cache/ (idempotent).

    python benchmarks/realcode/fetch.py [--set tuning] [--set agents-tuning] [--jobs 2]

The sets are whatever projects.toml names (``set = "..."``); a new set needs no code change.

Each project ends up in ``.cache/src/<name>-<version>/`` (the sdist's top folder, whose
name varies between build back-ends, is stripped). A project already unpacked is skipped,
so a second run downloads nothing. The fetched code is never committed (.cache/.gitignore).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from typing import Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(HERE, ".cache")
SDISTS = os.path.join(CACHE, "sdists")
SOURCES = os.path.join(CACHE, "src")
DONE_MARK = ".memlint-fetched"
# A set name is a lowercase word, hyphens and digits allowed (``check-2``): it ends up in file
# names (.cache/last-findings-<sets>.jsonl) and on the command line.
SET_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")


def load_projects(path: str = os.path.join(HERE, "projects.toml")) -> List[Dict[str, str]]:
    """The [[project]] tables of projects.toml, each checked; ValueError names what is wrong."""
    try:
        import tomllib  # Python 3.11+
    except ImportError:  # pragma: no cover - older Pythons
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"{path}: {error}") from None
    projects = data.get("project", [])
    seen = set()
    for project in projects:
        for key in ("set", "name", "version"):
            if key not in project:
                raise ValueError(f"projects.toml: a project lacks `{key}`: {project}")
        if not isinstance(project["set"], str) or not SET_NAME.fullmatch(project["set"]):
            raise ValueError(f"projects.toml: bad set name {project['set']!r} for {project['name']} "
                             "(lowercase letters, digits and hyphens)")
        # PyPI treats `stomp.py`, `stomp-py` and `Stomp_Py` as one project: so does this check.
        if _normalized(project["name"]) in seen:
            raise ValueError(f"projects.toml: {project['name']} is listed twice")
        seen.add(_normalized(project["name"]))
    return projects


def set_names(projects: List[Dict[str, str]]) -> List[str]:
    """The sets of ``projects``, in the order projects.toml first names them."""
    return list(dict.fromkeys(project["set"] for project in projects))


def chosen_sets(requested: List[str], projects: List[Dict[str, str]]) -> List[str]:
    """``requested`` checked against the sets projects.toml names; ValueError names the unknown."""
    known = set_names(projects)
    unknown = [name for name in requested if name not in known]
    if unknown:
        raise ValueError(f"unknown set {unknown[0]!r} (projects.toml has: {', '.join(known)})")
    return list(dict.fromkeys(requested))


def project_dir(project: Dict[str, str]) -> str:
    """Where the unpacked sources of ``project`` live."""
    return os.path.join(SOURCES, f"{project['name']}-{project['version']}")


def _normalized(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def _find_sdist(project: Dict[str, str]) -> Optional[str]:
    """The downloaded archive of ``project``, matched on its normalized name and version."""
    if not os.path.isdir(SDISTS):
        return None
    wanted = _normalized(f"{project['name']}-{project['version']}")
    for entry in sorted(os.listdir(SDISTS)):
        stem = entry
        for suffix in (".tar.gz", ".tgz", ".tar.bz2", ".zip"):
            if stem.endswith(suffix):
                stem = stem[: -len(suffix)]
                break
        else:
            continue
        if _normalized(stem) == wanted:
            return os.path.join(SDISTS, entry)
    return None


def _download(project: Dict[str, str]) -> str:
    archive = _find_sdist(project)
    if archive:
        return archive
    os.makedirs(SDISTS, exist_ok=True)
    spec = f"{project['name']}=={project['version']}"
    # `--no-binary NAME` rather than `:all:`: the same sdist of the project, but the build
    # back-end's own requirements may come as wheels (building Cython from source for
    # peewee's metadata took over ten minutes on this machine).
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary",
               project["name"], "--dest", SDISTS, "--quiet", spec]
    result = subprocess.run(command, capture_output=True, text=True)
    archive = _find_sdist(project)
    if result.returncode != 0 or archive is None:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no sdist found"]
        raise RuntimeError(f"pip download {spec} failed: {tail[0]}")
    return archive


def _unpack(archive: str, target: str) -> None:
    staging = target + ".partial"
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    if archive.endswith(".zip"):
        with zipfile.ZipFile(archive) as bundle:
            bundle.extractall(staging)
    else:
        with tarfile.open(archive) as bundle:
            if hasattr(tarfile, "data_filter"):
                bundle.extractall(staging, filter="data")
            else:  # pragma: no cover - Pythons without extraction filters
                bundle.extractall(staging)
    entries = os.listdir(staging)
    root = os.path.join(staging, entries[0]) if len(entries) == 1 else staging
    if not os.path.isdir(root):
        root = staging
    shutil.rmtree(target, ignore_errors=True)
    shutil.move(root, target)
    shutil.rmtree(staging, ignore_errors=True)
    with open(os.path.join(target, DONE_MARK), "w") as mark:
        mark.write(os.path.basename(archive) + "\n")


def fetch_one(project: Dict[str, str]) -> str:
    """Download and unpack one project unless it is already there; return a status line."""
    target = project_dir(project)
    if os.path.exists(os.path.join(target, DONE_MARK)):
        return f"have     {project['name']}=={project['version']}"
    archive = _download(project)
    _unpack(archive, target)
    return f"fetched  {project['name']}=={project['version']}  ({os.path.basename(archive)})"


def _write_gitignore() -> None:
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, ".gitignore")
    if not os.path.exists(path):
        with open(path, "w") as handle:
            handle.write("# fetched third-party code: never committed\n*\n")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", action="append", default=[], dest="sets",
                        help="fetch only this set of projects.toml (repeatable; default: all sets)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel downloads (default 2)")
    options = parser.parse_args(argv)
    try:
        listed = load_projects()
        wanted = set(chosen_sets(options.sets, listed) if options.sets else set_names(listed))
        projects = [p for p in listed if p["set"] in wanted]
    except ValueError as error:
        print(f"fetch.py: {error}", file=sys.stderr)
        return 2
    _write_gitignore()
    failures = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        futures = {pool.submit(fetch_one, p): p for p in projects}
        for future in concurrent.futures.as_completed(futures):
            project = futures[future]
            try:
                print(f"[{project['set']}] {future.result()}", flush=True)
            except (RuntimeError, OSError, tarfile.TarError, zipfile.BadZipFile) as error:
                failures += 1
                print(f"[{project['set']}] FAILED   {project['name']}: {error}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""``run.py --verify-regions``: every project of the chosen sets checked twice, with region
parsing on (libcst parses only what can hold a finding, ``memlint.regions``) and off (whole
files), and every difference reported: position, code, message and fix.

It runs in this process, with the memlint found on ``sys.path`` (set PYTHONPATH to the
checkout), the default rules plus ``--select``, no cache and no project configuration,
as ``run.py`` runs memlint. The two runs must agree exactly; any difference is a defect
of region parsing.
"""
from __future__ import annotations

import os
from typing import Callable, List, Optional, Sequence, Tuple

# How many differing findings of one project are printed (all are counted).
SHOWN_PER_PROJECT = 5


def _key(finding) -> Tuple:
    """Everything a user sees of a finding, fix included."""
    return (finding.path, finding.line, finding.column, finding.end_line, finding.end_column,
            finding.code, finding.message, repr(finding.fix), finding.confidence)


def compare_project(root: str, files: Sequence[str], extra_select: Optional[str],
                    jobs: int) -> Tuple[int, int, List[str]]:
    """(findings with regions on, with regions off, lines describing each difference) for
    ``files`` (relative to ``root``)."""
    from memlint.api import check_files
    from memlint.config import ConfigResolver, Overrides
    from memlint.discovery import discover

    extra = tuple(code.strip().upper() for code in (extra_select or "").split(",") if code.strip())
    previous = os.getcwd()
    os.chdir(root)  # display paths relative to the project, as run.py's memlint shows them
    try:
        # Every finding, of either confidence.
        resolver = ConfigResolver(Overrides(extend_select=extra, confidence="low"), isolated=True)
        found = discover(list(files), resolver)
        on = check_files(found, resolver, jobs=jobs, regions=True).findings
        off = check_files(found, resolver, jobs=jobs, regions=False).findings
    finally:
        os.chdir(previous)
    on_keys, off_keys = {_key(f) for f in on}, {_key(f) for f in off}
    differences = [f"OFF only {k[0]}:{k[1]}:{k[2]} {k[5]} {k[6][:100]}" for k in sorted(off_keys - on_keys, key=str)]
    differences += [f"ON only  {k[0]}:{k[1]}:{k[2]} {k[5]} {k[6][:100]}" for k in sorted(on_keys - off_keys, key=str)]
    if not differences and on != off:
        differences.append("same findings, in another order")
    return len(on), len(off), differences


def verify_regions(projects: Sequence[dict], project_dir: Callable[[dict], str],
                   project_files: Callable[[str], List[str]], extra_select: Optional[str],
                   jobs: int, write: Callable[[str], None] = print) -> int:
    """Compare every project; print one line per project and the differences; return
    how many findings differ in all (0: region parsing changed nothing)."""
    total = 0
    for project in projects:
        root = project_dir(project)
        if not os.path.isdir(root):
            write(f"  {project['set']:<14} {project['name']:<25} not fetched, skipped")
            continue
        files = project_files(root)
        if not files:
            continue
        on, off, differences = compare_project(root, files, extra_select, jobs)
        total += len(differences)
        write(f"  {project['set']:<14} {project['name']:<25} {len(files):>5} files  "
              f"regions on {on:>4}  off {off:>4}  differ {len(differences)}")
        for line in differences[:SHOWN_PER_PROJECT]:
            write(f"      {line}")
        if len(differences) > SHOWN_PER_PROJECT:
            write(f"      ... and {len(differences) - SHOWN_PER_PROJECT} more")
    write(f"region parsing on vs off: {'identical' if total == 0 else f'{total} findings differ'} "
          f"over {len(projects)} projects")
    return total

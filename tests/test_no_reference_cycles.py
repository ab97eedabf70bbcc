"""Issue 19: checking a file leaves no reference cycle behind.

A worker frees each file's syntax trees by reference counting, and runs the cyclic
collector rarely (``memlint.parallel``). A cycle through the analysis (a closure calling
itself, an object holding a view of itself) would keep a whole tree alive until a full
collection, which is both memory and the costliest part of a cold run. Each test fails on
the code before the change that removed such a cycle.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import Iterator, List

import libcst

from memlint.api import check_paths
from memlint.config import config_from_mapping

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def _garbage_of(run) -> List[object]:
    """The objects that only the cyclic collector could free after ``run()``."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        run()
        gc.collect()
        found = list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if was_enabled:
            gc.enable()
    return found


def _ours(objects: List[object]) -> Iterator[str]:
    """The garbage that memlint's analysis made: libcst nodes, memlint's objects and functions."""
    for item in objects:
        kind = type(item)
        if isinstance(item, libcst.CSTNode):
            yield f"libcst {kind.__name__}"
        elif kind.__module__.startswith("memlint"):
            yield f"memlint {kind.__qualname__}"
        elif kind.__name__ == "function" and getattr(item, "__module__", "").startswith("memlint"):
            yield f"function {item.__qualname__}"  # type: ignore[attr-defined]


def test_checking_the_fixtures_makes_no_cycle():
    rule_folders = sorted(folder for folder in FIXTURES.glob("MEM*") if folder.is_dir())
    assert rule_folders
    config = config_from_mapping({"select": ["MEM"]})
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        garbage = _garbage_of(lambda: check_paths(rule_folders, config=config))
    finally:
        sys.setrecursionlimit(limit)
    left = sorted(set(_ours(garbage)))
    assert left == [], f"reference cycles left by the analysis: {left[:20]}"


def test_the_project_index_makes_no_cycle():
    projects = sorted(folder for folder in (FIXTURES / "projects").iterdir() if folder.is_dir())
    assert len(projects) >= 5
    garbage = _garbage_of(lambda: check_paths(projects))
    left = sorted(set(_ours(garbage)))
    assert left == [], f"reference cycles left by the project index: {left[:20]}"

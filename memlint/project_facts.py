"""Stage 0 of a run: the project index's facts for the files whose facts the cache does
not hold (``memlint.analysis.project_index``).

A big run computes them in worker processes, one batch per top-level package (a file's
facts come from its own package only): the index keeps the syntax tree of every module it
summarised, and the workers that check the files fork from this process afterwards, each
of them would otherwise start with all those trees (most of a worker's peak memory on a
big package), and the packages are indexed in parallel with ``--jobs``.
"""

from __future__ import annotations

import gc
from typing import Dict, List, Sequence, Tuple

from memlint.parallel import ordered_map

SummaryEntries = Tuple[Tuple[str, str], ...]

# Below this many files, a worker process costs more than the index it would take away.
MIN_FILES_FOR_INDEX_WORKERS = 64


def facts_for_paths(paths: List[str]) -> List[SummaryEntries]:
    """The facts of each file of ``paths``, with one index for them all."""
    from memlint.analysis.project_index import ProjectIndex

    index = ProjectIndex()
    found: List[SummaryEntries] = []
    # The index keeps the ``ast`` tree of every definition it parsed until it is done, and
    # makes no garbage that needs the cyclic collector meanwhile: each automatic full
    # collection walked all those trees again (a quarter of the index's time). As
    # ``memlint.fixes.collector`` does for the fixer (not imported here: it brings libcst).
    paused = gc.isenabled()
    gc.disable()
    try:
        for path in paths:
            try:
                with open(path, "rb") as handle:
                    text = handle.read().decode("utf-8", "replace")
                found.append(index.entries_for(path, text))
            except (OSError, RecursionError, MemoryError, ValueError, KeyError, AttributeError, TypeError):
                found.append(())  # unreadable, or an unexpected module shape: checked on its own
    finally:
        if paused:
            gc.enable()
    return found


def project_facts(paths: Sequence[str], jobs: int, isolate: bool) -> Dict[str, SummaryEntries]:
    """``path -> facts`` for every file of ``paths``; ``jobs`` and ``isolate`` as for
    checking (``memlint.parallel.ordered_map``)."""
    if len(paths) < MIN_FILES_FOR_INDEX_WORKERS:
        return dict(zip(paths, facts_for_paths(list(paths))))
    from memlint.analysis.project_scan import module_location

    groups: Dict[Tuple[str, str], List[str]] = {}
    for path in paths:
        root, current, _is_init = module_location(path)
        groups.setdefault((root, current.split(".", 1)[0]), []).append(path)
    batches = sorted(groups.values(), key=len, reverse=True)
    in_order = [path for batch in batches for path in batch]
    return dict(zip(in_order, ordered_map(facts_for_paths, batches, jobs, isolate=isolate)))

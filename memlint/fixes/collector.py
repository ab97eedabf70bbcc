"""Pausing Python's cyclic garbage collector while the fixer works on one file.

While a file is checked its libcst tree (millions of objects for a large file) is alive,
and every automatic full collection walks all of it: measured on the file of 4,000 small
functions of ``benchmarks/bench_fix.py``, collections were about a third of a check's time.
The checks of the fix rounds make no garbage that needs the collector while they run; the
analysis's scopes do hold the tree in reference cycles, which only a collection frees, so
``collect_after`` runs one collection when the work is done instead of many during it, and
a file fixed over several rounds never holds more than one round's tree.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def collector_paused(collect_after: bool = False) -> Iterator[None]:
    """Run the body with automatic collection off (if it was on), then turn it back on;
    with ``collect_after``, collect once. Inside another pause it changes nothing."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        if collect_after:
            gc.collect()

"""Scheduling of a run: batches for several workers, and the pool a small run starts early
(before the project index) so that its workers import libcst meanwhile."""

from __future__ import annotations

import os
import time

import memlint.api as api
from memlint.api import check_files
from memlint.cache import Cache
from memlint.config import ConfigResolver, Overrides
from memlint.discovery import discover
from memlint.parallel import WorkerPool, make_batches, ordered_map

# Set in a worker by its warm-up; read back by a batch that runs there.
_WARMED = []


def _mark_warm() -> None:
    _WARMED.append(os.getpid())


def _warm_pids(batch):
    return [(item, tuple(_WARMED)) for item in batch]


def _sleep_long() -> None:
    time.sleep(30)


def test_several_workers_get_at_least_two_batches_each_when_there_are_items_enough():
    sizes = [5, 50, 10, 40, 20, 30, 1, 2, 3, 4]
    items = [f"file{index}" for index in range(len(sizes))]
    one = make_batches(items, sizes)
    assert len(one) == 1  # one worker: one batch (the default caps allow 16 items)
    two = make_batches(items, sizes, workers=2)
    assert len(two) >= 4
    assert sorted(item for batch in two for item in batch) == sorted(items)
    assert two[0][0] == "file1"  # the biggest file starts first
    # Fewer items than workers: one item a batch, none lost.
    assert make_batches(items[:3], sizes[:3], workers=4) == [["file1"], ["file2"], ["file0"]]


def test_a_pool_started_early_warms_its_workers_and_keeps_order():
    pool = WorkerPool(2, _mark_warm)
    try:
        results = list(ordered_map(_warm_pids, [[1], [2], [3], [4]], workers=1, pool=pool))
        # The pool was handed over: ordered_map used it and left it running.
        assert list(ordered_map(_warm_pids, [[5]], workers=1, pool=pool))[0][0] == 5
    finally:
        pool.close()
    assert [item for item, _ in results] == [1, 2, 3, 4]
    for _, warmed in results:
        assert warmed and warmed[0] != os.getpid()  # warm-up ran in the worker, before the batch
    assert not _WARMED  # and never here


def test_closing_an_unused_pool_does_not_wait_for_its_warm_up():
    pool = WorkerPool(1, _sleep_long)
    time.sleep(0.2)  # the worker is inside its 30 s warm-up
    started = time.monotonic()
    pool.close(unused=True)
    assert time.monotonic() - started < 10


def _leaky_project(folder) -> None:
    for index in range(6):
        (folder / f"leaky_{index}.py").write_text(
            f"def read_{index}(path):\n    handle = open(path)\n    return handle.read()\n", encoding="utf-8")
    (folder / "plain.py").write_text("def add(x):\n    return x + 1\n", encoding="utf-8")


def test_a_small_isolated_run_starts_its_pool_before_the_index_and_finds_the_same(tmp_path, monkeypatch):
    _leaky_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    resolver = ConfigResolver(Overrides(), isolated=True)
    files = discover(["."], resolver)
    expected = check_files(files, resolver, jobs=1).findings
    assert len(expected) == 6

    started = []
    real_pool, real_facts = api.WorkerPool, api.project_facts

    class RecordingPool(real_pool):
        def __init__(self, workers, warm_up=None):
            started.append(("pool", workers))
            super().__init__(workers, warm_up)

    def recording_facts(*args, **kwargs):
        started.append(("index",))
        return real_facts(*args, **kwargs)

    monkeypatch.setattr(api, "WorkerPool", RecordingPool)
    monkeypatch.setattr(api, "project_facts", recording_facts)
    cache = Cache.open(str(tmp_path / "cache"))
    found = check_files(files, resolver, jobs=2, cache=cache, isolate=True)
    assert found.findings == expected
    # Six files will be parsed: two workers (one per FILES_PER_EARLY_WORKER files, rounded up),
    # started before the project index is built.
    assert started[0] == ("pool", 2)
    assert ("index",) in started[1:]

    # Warm: the cache answers every file; no worker is started at all.
    started.clear()
    again = check_files(files, resolver, jobs=2, cache=Cache.open(str(tmp_path / "cache")), isolate=True)
    assert again.findings == expected
    assert not [entry for entry in started if entry[0] == "pool"]

"""The in-memory engine keeps fresh entries in arrival order, not in a heap by time.

Arrival order is time order only while the clock does not go back: these runs move an
injected clock back and forth (and store batches that share one time, and roll back dry
runs and failed stores) and check that the engine still answers exactly like SQLite.
"""

from __future__ import annotations

import random
from typing import Any, Dict

import pytest
from longterm_backends import ManualClock

from memlint.runtime import LongTermMemory


def _same(memory: LongTermMemory, sqlite: LongTermMemory, step: int) -> None:
    assert memory.storage == sqlite.storage, f"step {step}"
    assert memory.get_stats() == sqlite.get_stats(), f"step {step}"
    rehearsed = [(d.id, d.reason) for d in memory.prune(dry_run=True)]
    assert rehearsed == [(d.id, d.reason) for d in sqlite.prune(dry_run=True)], f"step {step}"


@pytest.mark.parametrize("seed", range(8))
def test_a_clock_going_back_changes_nothing_against_sqlite(tmp_path: Any, seed: int) -> None:
    rng = random.Random(seed)
    clock = ManualClock()
    options: Dict[str, Any] = dict(max_entries=rng.choice([6, 15]), retention_days=rng.choice([None, 1]),
                                   grace_period=rng.choice([0, 30, 600]), low_watermark=rng.choice([0.5, 1.0]),
                                   clock=clock)
    with LongTermMemory(**options) as memory, LongTermMemory(path=tmp_path / "m.sqlite3", **options) as sqlite:
        for step in range(300):
            action = rng.random()
            key = f"k{rng.randrange(30)}"
            importance = rng.choice([0.1, 0.5, 0.85, 0.99])
            for store in (memory, sqlite):
                if action < 0.5:
                    store.store({"id": key, "text": f"s{step}", "importance": importance},
                                ttl=900 if step % 5 == 0 else None)
                elif action < 0.6:
                    store.store_many([{"id": f"{key}-{n}", "importance": importance} for n in range(3)])
                elif action < 0.65:
                    store.delete(key)
                elif action < 0.7 and key in store:
                    store.update(key, importance=importance)
                elif action < 0.72:
                    with pytest.raises(TypeError):  # checked before anything is written
                        store.store_many([{"id": key}, {"id": "bad", "x": {1}}])
                elif action < 0.73:
                    store.clear()
            if action > 0.8:
                # Back (a clock reset) as often as forward, by seconds to days.
                seconds = rng.choice([1, 20, 45, 700, 3600 * 30])
                clock.advance(seconds=seconds if rng.random() < 0.5 else -seconds)
            if step % 10 == 0 or action > 0.8:
                _same(memory, sqlite, step)
        assert [d.id for d in memory.prune()] == [d.id for d in sqlite.prune()]
        assert memory.storage == sqlite.storage


def test_entries_settle_in_time_order_after_the_clock_went_back() -> None:
    clock = ManualClock()
    with LongTermMemory(max_entries=3, retention_days=None, grace_period=60, low_watermark=0.5,
                        clock=clock) as memory:
        memory.store({"id": "late", "importance": 0.2})
        clock.advance(seconds=-120)  # the clock is set back: "early" is older than "late"
        memory.store({"id": "early", "importance": 0.3})
        clock.advance(seconds=150)  # "early" is past its grace period, "late" is not
        assert memory.prune() == []  # settles "early", under the bound
        memory.store({"id": "c", "importance": 0.9})
        memory.store({"id": "d", "importance": 0.9})
        # Over the bound: the batch may only take settled entries, so "early" goes even
        # though "late" is less important and was stored first.
        assert sorted(entry["id"] for entry in memory.storage) == ["c", "d", "late"]


@pytest.mark.parametrize("repeat_ids", [False, True])
def test_the_fresh_queue_drops_removed_entries_places_and_stays_exact(tmp_path: Any, repeat_ids: bool) -> None:
    # Thousands of removals within the grace period leave thousands of stale places in
    # the fresh queue, so that it is compacted (every 1,024 commits, once they exceed a
    # quarter of the queue plus 1,000); ids stored again keep a stale place and a live one.
    rng = random.Random(7)
    clock = ManualClock()
    options: Dict[str, Any] = dict(max_entries=40, retention_days=None, grace_period=600, clock=clock)
    with LongTermMemory(**options) as memory, LongTermMemory(path=tmp_path / "m.sqlite3", **options) as sqlite:
        for step in range(6000):
            key = f"k{rng.randrange(300)}" if repeat_ids else f"k{step}"
            importance = rng.choice([0.1, 0.3, 0.5, 0.9])
            if step == 3000:
                clock.advance(seconds=-30)  # once back: the queue is no longer in time order
            else:
                clock.advance(microseconds=100)
            for store in (memory, sqlite):
                store.store({"id": key, "importance": importance})
        fresh = memory._backend._fresh  # white box: the queue really was compacted
        assert len(fresh.keys) - fresh.stale_count == 40 and fresh.stale_count < 2000
        assert memory.storage == sqlite.storage
        for seconds in (300, 301, 400):  # then entries settle, oldest first
            clock.advance(seconds=seconds)
            assert [(d.id, d.reason) for d in memory.prune()] == [(d.id, d.reason) for d in sqlite.prune()]
            for store in (memory, sqlite):
                store.store({"id": f"late{seconds}", "importance": 0.2})
            assert memory.storage == sqlite.storage
            assert memory.get_stats() == sqlite.get_stats()

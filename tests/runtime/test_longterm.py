"""LongTermMemory: the document's API, retention, pruning, validation (every backend)."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone

import pytest
from longterm_backends import (  # noqa: F401 - fixtures are used by name
    ManualClock,
    StoreLocation,
    TickingClock,
    persistent_location,
    postgres_server,
    run_python,
    store_location,
)

from memlint.runtime import LongTermMemory
from memlint.runtime.longterm import PruneDecision


def texts(memory: LongTermMemory) -> set:
    return {entry["text"] for entry in memory.storage}


# -- the document's API ------------------------------------------------------------------


def test_document_api_store_storage_stats(store_location: StoreLocation) -> None:
    clock = ManualClock()
    memory = store_location.open(max_entries=10000, retention_days=90, clock=clock)
    assert memory.get_stats() == {
        "total_entries": 0, "max_entries": 10000, "usage_percent": 0.0, "oldest_entry": None,
    }
    memory.store({"text": "first", "importance": 0.9})
    clock.advance(seconds=5)
    memory.store({"text": "second"})
    stats = memory.get_stats()
    assert stats["total_entries"] == 2
    assert stats["max_entries"] == 10000
    assert math.isclose(stats["usage_percent"], 2 / 10000 * 100)
    assert stats["oldest_entry"] == "2026-01-01T12:00:00.000000+00:00"
    storage = memory.storage
    assert [entry["text"] for entry in storage] == ["first", "second"]
    assert [entry["importance"] for entry in storage] == [0.9, 0.5]  # 0.5 is the default
    assert storage[1]["timestamp"] == "2026-01-01T12:00:05.000000+00:00"


def test_store_copies_and_returns_the_id(store_location: StoreLocation) -> None:
    memory = store_location.open(clock=ManualClock())
    entry = {"text": "hello", "tags": ["a"]}
    entry_id = memory.store(entry)
    assert entry == {"text": "hello", "tags": ["a"]}, "the caller's dict must not change"
    stored = memory.get(entry_id)
    assert stored is not None and stored["id"] == entry_id and stored["text"] == "hello"
    stored["text"] = "changed"
    memory.storage[0]["text"] = "changed too"
    assert memory.get(entry_id)["text"] == "hello", "reads hand out copies"
    assert entry_id in memory
    assert "nope" not in memory
    assert "../x" not in memory


def test_timestamps_are_aware_utc_from_the_injected_clock(store_location: StoreLocation) -> None:
    plus_two = timezone(timedelta(hours=2))
    clock = ManualClock(datetime(2026, 3, 1, 14, 30, tzinfo=plus_two))
    memory = store_location.open(clock=clock)
    entry_id = memory.store({"text": "x"})
    stamp = datetime.fromisoformat(memory.get(entry_id)["timestamp"])
    assert stamp.utcoffset() == timedelta(0)
    assert stamp == datetime(2026, 3, 1, 12, 30, tzinfo=timezone.utc)


def test_naive_clock_is_refused_before_writing(store_location: StoreLocation) -> None:
    memory = store_location.open(clock=lambda: datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="naive"):
        memory.store({"text": "x"})
    assert len(memory) == 0


def test_explicit_id_replaces(store_location: StoreLocation) -> None:
    memory = store_location.open(clock=TickingClock())
    assert memory.store({"id": "pref-1", "text": "old"}) == "pref-1"
    assert memory.store({"id": "pref-1", "text": "new"}) == "pref-1"
    assert len(memory) == 1
    assert memory.get("pref-1")["text"] == "new"
    assert memory.delete("pref-1") is True
    assert memory.delete("pref-1") is False
    assert memory.get("pref-1") is None


def test_content_ids_are_stable_across_processes(store_location: StoreLocation) -> None:
    clock = ManualClock()
    memory = store_location.open(clock=clock)
    here = memory.store({"text": "same", "importance": 0.3, "tags": ["x"]})
    # Another interpreter with another hash seed, keys in another order: the same id.
    code = (
        "import sys\nfrom datetime import datetime, timezone\n"
        "from memlint.runtime import LongTermMemory\n"
        "with LongTermMemory(clock=lambda: datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)) as m:\n"
        "    print(m.store({'tags': ['x'], 'importance': 0.3, 'text': 'same'}))\n"
    )
    there = run_python(code, env={"PYTHONHASHSEED": "12345"}).strip()
    assert here == there
    assert memory.store({"text": "other", "importance": 0.3, "tags": ["x"]}) != here


# -- retention -----------------------------------------------------------------------------


def test_count_bound_prunes_in_batches_between_watermarks(store_location: StoreLocation) -> None:
    memory = store_location.open(max_entries=100, retention_days=None, low_watermark=0.8,
                                 grace_period=0, clock=TickingClock())
    sizes = []
    for number in range(1000):
        # importance <= 0.8: nothing is pinned, so every prune is a full batch
        memory.store({"text": f"e{number}", "importance": (number * 37 % 81) / 100})
        sizes.append(len(memory))
    assert max(sizes) == 100, "the bound holds after every store"
    drops = [(before, after) for before, after in zip(sizes, sizes[1:]) if after < before]
    # Each prune removes a batch (101 -> 80), so there is one prune per ~20 stores,
    # not one per store.
    assert all(after == 80 for _, after in drops), drops[:5]
    assert 40 <= len(drops) <= 46
    assert min(sizes[100:]) == 80


def test_count_bound_keeps_the_most_important(store_location: StoreLocation) -> None:
    memory = store_location.open(max_entries=10, retention_days=None, low_watermark=0.5,
                                 grace_period=0, clock=TickingClock())
    for number in range(11):
        memory.store({"text": f"e{number}", "importance": number / 10})
    # 11 > 10: down to 5; importance 0.0 .. 0.5 go (e10 is the one being stored: kept)
    assert texts(memory) == {"e6", "e7", "e8", "e9", "e10"}


def test_fresh_entry_is_never_pruned_by_its_own_store(store_location: StoreLocation) -> None:
    clock = TickingClock()
    memory = store_location.open(max_entries=3, retention_days=None, grace_period=3600, clock=clock)
    for number in range(3):
        memory.store({"text": f"important{number}", "importance": 0.8})
    # The document's version drops this entry at once: it is the least important.
    memory.store({"text": "trivial", "importance": 0.0})
    assert "trivial" in texts(memory)
    assert len(memory) == 3


def test_grace_period_protects_fresh_entries_before_settled_ones(store_location: StoreLocation) -> None:
    clock = ManualClock()
    memory = store_location.open(max_entries=4, retention_days=None, grace_period=60,
                                 low_watermark=0.5, clock=clock)
    memory.store({"text": "old-a", "importance": 0.6})
    memory.store({"text": "old-b", "importance": 0.7})
    memory.store({"text": "pinned", "importance": 0.95})
    clock.advance(seconds=120)
    memory.store({"text": "new-1", "importance": 0.1})
    clock.advance(seconds=1)
    memory.store({"text": "new-2", "importance": 0.1})
    # Over the bound: settled unpinned entries go first although they are more important.
    assert texts(memory) == {"pinned", "new-1", "new-2"}
    clock.advance(seconds=1)
    memory.store({"text": "new-3", "importance": 0.2})
    memory.store({"text": "new-4", "importance": 0.3})
    # No settled unpinned entry left: the least important fresh one (not the one being
    # stored) goes before the pinned one.
    assert texts(memory) == {"pinned", "new-2", "new-3", "new-4"}


def test_pinned_entries_go_last_when_everything_else_is_gone(store_location: StoreLocation) -> None:
    clock = TickingClock()
    memory = store_location.open(max_entries=2, retention_days=None, grace_period=0, clock=clock)
    memory.store({"text": "p1", "importance": 0.9})
    memory.store({"text": "p2", "importance": 0.95})
    memory.store({"text": "p3", "importance": 0.99})
    assert texts(memory) == {"p2", "p3"}


def test_age_bound_respects_pins_and_grace(store_location: StoreLocation) -> None:
    clock = ManualClock()
    memory = store_location.open(max_entries=100, retention_days=90, grace_period=60, clock=clock)
    memory.store({"text": "low", "importance": 0.2})
    memory.store({"text": "at-threshold", "importance": 0.8})
    memory.store({"text": "pinned", "importance": 0.81})
    clock.advance(days=89)
    memory.store({"text": "younger", "importance": 0.1})
    assert texts(memory) == {"low", "at-threshold", "pinned", "younger"}
    clock.advance(days=1, seconds=1)
    memory.store({"text": "trigger"})
    # "importance > 0.8" pins, as in the document: exactly 0.8 is not pinned.
    assert texts(memory) == {"pinned", "younger", "trigger"}
    clock.advance(days=200)
    expected = {e["id"] for e in memory.storage if e["text"] != "pinned"}
    assert {d.id for d in memory.prune()} == expected
    assert texts(memory) == {"pinned"}


def test_grace_period_holds_even_with_zero_retention(store_location: StoreLocation) -> None:
    clock = ManualClock()
    memory = store_location.open(retention_days=0, grace_period=timedelta(minutes=5), clock=clock)
    memory.store({"text": "x"})
    assert memory.prune() == []
    clock.advance(minutes=4)
    assert memory.prune() == []
    clock.advance(minutes=2)
    assert [decision.reason for decision in memory.prune()] == ["age"]
    assert len(memory) == 0


def test_prune_dry_run_reports_and_changes_nothing(store_location: StoreLocation) -> None:
    clock = ManualClock()
    memory = store_location.open(max_entries=3, retention_days=30, grace_period=0,
                                 low_watermark=1.0, clock=clock)
    old_id = memory.store({"text": "old", "importance": 0.1})
    memory.store({"text": "old-pinned", "importance": 0.9})
    clock.advance(days=10)
    kept = [memory.store({"text": f"new{n}", "importance": 0.5}) for n in range(1)]
    clock.advance(days=25)  # "old" is now 35 days old, "new0" 25
    before = memory.storage
    planned = memory.prune(dry_run=True)
    assert memory.storage == before, "a dry run changes nothing"
    assert [(d.id, d.reason) for d in planned] == [(old_id, "age")]
    assert isinstance(planned[0], PruneDecision)
    assert planned[0].importance == 0.1 and "30 days" in planned[0].detail
    assert planned[0].timestamp == "2026-01-01T12:00:00.000000+00:00"
    done = memory.prune()
    assert done == planned
    assert {entry["id"] for entry in memory.storage} >= set(kept)
    assert memory.prune(dry_run=True) == []


def test_dry_run_reports_count_pruning(persistent_location: StoreLocation) -> None:
    clock = TickingClock()
    memory = persistent_location.open(max_entries=10, retention_days=None, grace_period=0, clock=clock)
    for number in range(10):
        memory.store({"text": f"e{number}", "importance": number / 10})
    # A bound lowered on a live object (reopening with a smaller one prunes at once).
    smaller = memory
    smaller.max_entries, smaller.low_watermark = 5, 1.0
    planned = smaller.prune(dry_run=True)
    assert [(d.reason, d.importance) for d in planned] == [("count", n / 10) for n in range(5)]
    assert len(smaller) == 10
    assert smaller.prune() == planned
    assert texts(smaller) == {f"e{n}" for n in range(5, 10)}


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "entry, error",
    [
        ("not a dict", TypeError),
        ([("text", "x")], TypeError),
        ({"text": "x", "importance": 1.5}, ValueError),
        ({"text": "x", "importance": -0.1}, ValueError),
        ({"text": "x", "importance": float("nan")}, ValueError),
        ({"text": "x", "importance": "high"}, TypeError),
        ({"text": "x", "importance": True}, TypeError),
        ({"text": {1, 2}}, TypeError),
        ({"text": b"bytes"}, TypeError),
        ({"when": datetime(2026, 1, 1)}, TypeError),
        ({"score": float("inf")}, ValueError),
        ({"nested": {1: "int key"}}, TypeError),
        ({"id": "../escape", "text": "x"}, ValueError),
        ({"id": "/etc/passwd", "text": "x"}, ValueError),
        ({"id": "", "text": "x"}, ValueError),
        ({"id": 1.5, "text": "x"}, TypeError),
        ({"tags": "not-a-list"}, TypeError),
        ({"tags": ["ok", 3]}, TypeError),
    ],
)
def test_bad_input_raises_before_any_write(store_location: StoreLocation, entry: object, error: type) -> None:
    memory = store_location.open(clock=TickingClock())
    memory.store({"text": "existing"})
    before = memory.storage
    with pytest.raises(error):
        memory.store(entry)  # type: ignore[arg-type]
    assert memory.storage == before


def test_cyclic_entry_is_refused(store_location: StoreLocation) -> None:
    memory = store_location.open()
    entry: dict = {"text": "x"}
    entry["self"] = entry
    with pytest.raises(ValueError):
        memory.store(entry)
    assert len(memory) == 0


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"max_entries": 0}, ValueError),
        ({"max_entries": 1.5}, TypeError),
        ({"max_entries": True}, TypeError),
        ({"retention_days": -1}, ValueError),
        ({"pin_threshold": 1.2}, ValueError),
        ({"grace_period": -5}, ValueError),
        ({"low_watermark": 0}, ValueError),
        ({"low_watermark": 1.5}, ValueError),
        ({"clock": "now"}, TypeError),
    ],
)
def test_bad_parameters(kwargs: dict, error: type) -> None:
    with pytest.raises(error):
        LongTermMemory(**kwargs)


def test_close_and_context_manager(store_location: StoreLocation) -> None:
    with store_location.open() as memory:
        memory.store({"text": "x"})
    with pytest.raises(ValueError, match="closed"):
        memory.store({"text": "y"})
    memory.close()  # idempotent


def test_json_round_trip_preserves_values(store_location: StoreLocation) -> None:
    memory = store_location.open(clock=ManualClock())
    value = {"text": "naïve ☃", "n": 3, "f": 0.1, "none": None, "list": [1, [2, {"a": True}]], "t": (1, 2)}
    stored = memory.get(memory.store(value))
    assert {key: stored[key] for key in value} == json.loads(json.dumps(value))


def test_search_by_tag_follows_stores_replacements_and_deletes(store_location: StoreLocation) -> None:
    memory = store_location.open(clock=TickingClock())
    memory.store({"id": "a", "text": "a", "tags": ["x", "y"]})
    memory.store({"id": "b", "text": "b", "tags": ["y"]})
    memory.store({"id": "c", "text": "c"})
    assert [e["id"] for e in memory.search_by_tag("y")] == ["a", "b"]
    assert [e["id"] for e in memory.search_by_tag("x")] == ["a"]
    memory.store({"id": "a", "text": "a2", "tags": ["z"]})  # replaced: its old tags go
    assert [e["id"] for e in memory.search_by_tag("x")] == []
    assert [e["text"] for e in memory.search_by_tag("z")] == ["a2"]
    memory.delete("b")
    assert memory.search_by_tag("y") == []
    assert memory.search_by_tag("z", limit=0) == []
    with pytest.raises(TypeError):
        memory.search_by_tag(5)  # type: ignore[arg-type]

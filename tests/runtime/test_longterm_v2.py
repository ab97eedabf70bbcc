"""Runtime v2 (issue 16): defects fixed and capabilities added, on every backend.

Each test takes ``store_location`` (memory, sqlite, postgres) unless what it checks
exists on one backend only.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Dict

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

from memlint.runtime import LongTermMemory, LongTermMemoryIndex, MemoryArchiver


def texts(memory: LongTermMemory) -> set:
    return {entry["text"] for entry in memory.storage}


# -- defect 3: content ids from the caller's content only ---------------------------------


def test_the_same_content_gets_the_same_id_whenever_and_wherever_stored(store_location: StoreLocation) -> None:
    clock = TickingClock()
    memory = store_location.open(clock=clock)
    first = memory.store({"text": "same", "tags": ["x"], "importance": 0.3})
    again = memory.store({"tags": ["x"], "text": "same", "importance": 0.9})  # later, other importance
    assert first == again
    assert len(memory) == 1 and memory.get(first)["importance"] == 0.9
    code = (
        "from memlint.runtime import LongTermMemory\n"
        "with LongTermMemory() as m:\n"
        "    print(m.store({'text': 'same', 'tags': ['x']}))\n"
    )
    assert run_python(code, env={"PYTHONHASHSEED": "99"}).strip() == first
    archive = store_location.open_archive()
    stored = memory.get(first)
    assert archive.archive_entry({k: v for k, v in stored.items() if k != "id"}) == first
    with LongTermMemoryIndex() as index:
        assert index.add({"text": "same", "tags": ["x"], "importance": 0.1}, [1.0, 0.0]) == first


# -- defect 4: eviction ranks fresh entries with settled ones -----------------------------


def test_new_important_entries_outrank_old_pinned_ones(store_location: StoreLocation) -> None:
    clock = ManualClock()
    memory = store_location.open(max_entries=10, retention_days=None, grace_period=3600, clock=clock)
    for number in range(10):
        memory.store({"text": f"old{number}", "importance": 0.85})  # pinned
    clock.advance(hours=2)
    for number in range(10):
        clock.advance(seconds=1)
        memory.store({"text": f"new{number}", "importance": 0.95})
    # The old code evicted the fresh entries first and kept only the newest addition.
    assert texts(memory) == {f"new{number}" for number in range(10)}


def test_opening_with_a_smaller_bound_enforces_it(persistent_location: StoreLocation) -> None:
    clock = TickingClock()
    memory = persistent_location.open(max_entries=20, retention_days=None, grace_period=0, clock=clock)
    for number in range(20):
        memory.store({"text": f"e{number}", "importance": number / 20})
    memory.close()
    smaller = persistent_location.open(max_entries=5, retention_days=None, grace_period=0, clock=clock)
    assert len(smaller) <= 5
    assert texts(smaller) <= {f"e{number}" for number in range(15, 20)}


# -- defect 5: no silent caps ----------------------------------------------------------------


def test_search_by_tag_returns_everything_or_explicit_pages(store_location: StoreLocation) -> None:
    memory = store_location.open(max_entries=5000, clock=TickingClock())
    # One store() each (the API the old code had too), so that the cap itself is what fails.
    for number in range(1100):
        memory.store({"id": f"e{number}", "tags": ["t"]})
    found = memory.search_by_tag("t")
    assert len(found) == 1100, "the old code stopped at 1,000 without saying so"
    pages = [memory.search_by_tag("t", limit=400, offset=offset) for offset in range(0, 1200, 400)]
    assert [len(page) for page in pages] == [400, 400, 300]
    assert [entry["id"] for page in pages for entry in page] == [entry["id"] for entry in found]


# -- defect 7: ids, numbers -------------------------------------------------------------------


def test_ids_like_u42_and_int_ids_round_trip(store_location: StoreLocation) -> None:
    memory = store_location.open(clock=TickingClock())
    assert memory.store({"id": "u:42", "text": "colon"}) == "u:42"
    assert memory.get("u:42")["text"] == "colon"
    assert memory.store({"id": 42, "text": "int"}) == 42
    stored = memory.get(42)
    assert stored["id"] == 42 and type(stored["id"]) is int
    assert memory.get("42")["id"] == 42, "42 and '42' name one entry"
    for bad in ("../x", "a/b", "C:\\x", "~root", "x\x00y"):
        with pytest.raises(ValueError):
            memory.store({"id": bad})


def test_numpy_scalars_are_accepted(store_location: StoreLocation) -> None:
    np = pytest.importorskip("numpy", reason="numpy is not installed: nothing to accept")
    memory = store_location.open(clock=TickingClock())
    entry_id = memory.store({"text": "np", "importance": np.float32(0.25), "score": np.float64(1.5),
                             "count": np.int64(3), "flag": np.bool_(True)})
    stored = memory.get(entry_id)
    assert stored["importance"] == 0.25 and stored["score"] == 1.5 and stored["count"] == 3
    assert stored["flag"] is True
    with pytest.raises(ValueError):
        memory.store({"text": "nan", "value": np.float32("nan")})
    with pytest.raises(TypeError):
        memory.store({"text": "bool", "importance": np.bool_(True)})


# -- capabilities: update, delete, clear --------------------------------------------------------


def test_update_delete_clear(store_location: StoreLocation) -> None:
    clock = ManualClock()
    memory = store_location.open(clock=clock)
    entry_id = memory.store({"id": "pref", "text": "dark mode", "tags": ["ui"], "importance": 0.4})
    stamp = memory.get(entry_id)["timestamp"]
    clock.advance(seconds=30)
    updated = memory.update("pref", {"text": "light mode", "tags": ["ui", "theme"]}, importance=0.7)
    assert updated["text"] == "light mode" and updated["importance"] == 0.7
    assert updated["timestamp"] == stamp, "update keeps the entry's time"
    assert memory.get("pref") == updated
    assert [e["id"] for e in memory.search_by_tag("theme")] == ["pref"]
    with pytest.raises(KeyError):
        memory.update("missing", {"text": "x"})
    with pytest.raises(ValueError):
        memory.update("pref", {"id": "other"})
    memory.store({"text": "another"})
    assert memory.delete("pref") is True and memory.delete("pref") is False
    assert memory.clear() == 1
    assert len(memory) == 0 and memory.storage == []


# -- capabilities: search ----------------------------------------------------------------------


def test_search_filters_and_pagination(store_location: StoreLocation) -> None:
    clock = ManualClock()
    memory = store_location.open(clock=clock)
    start = clock.now
    for number in range(10):
        tags = ["even"] if number % 2 == 0 else ["odd"]
        if number % 3 == 0:
            tags.append("three")
        memory.store({"id": f"e{number}", "tags": tags, "importance": number / 10})
        clock.advance(minutes=1)

    def ids(**filters: Any) -> list:
        return [entry["id"] for entry in memory.search(**filters)]

    assert ids() == [f"e{n}" for n in range(10)]
    assert ids(tags=["even", "three"]) == ["e0", "e6"]
    assert ids(min_importance=0.5, max_importance=0.7) == ["e5", "e6", "e7"]
    assert ids(since=start + timedelta(minutes=3), until=start + timedelta(minutes=5)) == ["e3", "e4"]
    assert ids(since=(start + timedelta(minutes=8)).isoformat()) == ["e8", "e9"]
    assert ids(tags=["odd"], limit=2, offset=1) == ["e3", "e5"]
    assert ids(limit=0) == []
    with pytest.raises(ValueError):
        memory.search(limit=-1)
    with pytest.raises(TypeError):
        memory.search(tags="even")


# -- capabilities: ttl ----------------------------------------------------------------------------


def test_per_entry_ttl(store_location: StoreLocation) -> None:
    clock = ManualClock()
    memory = store_location.open(clock=clock, retention_days=None)
    short = memory.store({"text": "short", "importance": 0.99}, ttl=60)
    memory.store({"text": "long"}, ttl=timedelta(hours=1))
    memory.store({"text": "forever"})
    clock.advance(seconds=61)
    assert memory.get(short) is None and short not in memory, "expired, even though pinned"
    assert {e["text"] for e in memory.search()} == {"long", "forever"}
    decisions = memory.prune()
    assert [(d.reason, d.id) for d in decisions] == [("ttl", short)]
    clock.advance(hours=1)
    assert texts(memory) == {"forever"}
    memory.update(memory.store({"text": "renewed"}, ttl=10), ttl=None)
    clock.advance(seconds=20)
    assert "renewed" in texts(memory)
    with pytest.raises(ValueError):
        memory.store({"text": "x"}, ttl=0)


# -- capabilities: access frequency (MEM-006) ---------------------------------------------------


def test_archiving_keeps_frequently_read_entries(store_location: StoreLocation) -> None:
    clock = ManualClock()
    memory = store_location.open(clock=clock, retention_days=None)
    popular = memory.store({"text": "popular", "importance": 0.1})
    lonely = memory.store({"text": "lonely", "importance": 0.1})
    for _ in range(5):
        memory.get(popular)
    assert memory.accesses(popular) == 5 and memory.accesses(lonely) == 0
    clock.advance(days=40)
    archiver = store_location.open_archive(clock=clock, max_accesses=3)
    assert archiver.archive_from(memory) == [lonely]
    assert memory.get(popular) is not None
    assert archiver.should_archive({"timestamp": "2020-01-01T00:00:00", "access_count": 4}) is False
    assert archiver.should_archive({"timestamp": "2020-01-01T00:00:00"}, accesses=2) is True


# -- capabilities: namespaces ----------------------------------------------------------------------


def test_namespaces_share_a_location_with_separate_bounds(persistent_location: StoreLocation) -> None:
    clock = TickingClock()
    agent_a = persistent_location.open(max_entries=50, retention_days=None, grace_period=0, clock=clock,
                                       namespace="agent-a")
    agent_b = persistent_location.open(max_entries=10, retention_days=None, grace_period=0, clock=clock,
                                       namespace="agent-b")
    for number in range(40):
        agent_a.store({"id": f"a{number}", "text": "a", "tags": ["shared"]})
    for number in range(100):
        agent_b.store({"id": f"b{number}", "text": "b", "tags": ["shared"]})
    # The old code shared one bound: b's stores deleted a's entries.
    assert len(agent_a) == 40 and len(agent_b) == 10
    assert {e["text"] for e in agent_a.search_by_tag("shared")} == {"a"}
    assert agent_a.get("b99") is None and "b99" in agent_b
    agent_b.store({"id": "same", "text": "from b"})
    agent_a.store({"id": "same", "text": "from a"})
    assert agent_b.get("same")["text"] == "from b"
    held = len(agent_b)
    assert held <= 10 and agent_b.clear() == held and len(agent_a) == 41
    default = persistent_location.open()
    assert len(default) == 0
    with pytest.raises(ValueError):
        persistent_location.open(namespace="")


# -- group commit ---------------------------------------------------------------------------------


def test_store_many_is_one_transaction(store_location: StoreLocation) -> None:
    memory = store_location.open(max_entries=100, clock=TickingClock())
    ids = memory.store_many([{"text": f"e{number}"} for number in range(50)])
    assert len(set(ids)) == 50 and len(memory) == 50
    with pytest.raises(TypeError):
        memory.store_many([{"text": "fine"}, {"text": {1, 2}}])
    assert len(memory) == 50, "a bad entry writes nothing of its batch"


# -- defect 2: archive_from with a failing archive -------------------------------------------------


def test_archive_from_a_memory_store_keeps_entries_when_the_archive_write_fails(tmp_path: Any,
                                                                               monkeypatch: Any) -> None:
    import sqlite3

    clock = ManualClock()
    with LongTermMemory(retention_days=None, clock=clock) as memory:
        ids = [memory.store({"text": f"e{number}", "importance": 0.1}) for number in range(10)]
        clock.advance(days=40)
        with MemoryArchiver(tmp_path / "archive", clock=clock) as archiver:
            with archiver._backend.read() as tx:
                transaction_class = type(tx)

            def disk_full(*args: Any) -> None:
                raise sqlite3.OperationalError("database or disk is full")

            # Writing archived rows fails (staging them, in the old code, still worked).
            with monkeypatch.context() as patch:
                patch.setattr(transaction_class, "put", disk_full)
                patch.setattr(transaction_class, "publish", disk_full)
                with pytest.raises(sqlite3.OperationalError):
                    archiver.archive_from(memory)
            assert len(memory) == 10, "the old code emptied the store here"
            assert sorted(archiver.archive_from(memory)) == sorted(ids)
            assert len(memory) == 0
            assert all(archiver.retrieve_from_archive(entry_id)["importance"] == 0.1 for entry_id in ids)


def entry_of(memory: LongTermMemory, key: str) -> Dict[str, Any]:
    found = memory.get(key)
    assert found is not None
    return found


# -- the in-memory engine answers like SQLite ---------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_memory_engine_matches_sqlite_on_random_operations(tmp_path: Any, seed: int) -> None:
    import random

    rng = random.Random(seed)
    clock = ManualClock()
    options: Dict[str, Any] = dict(max_entries=rng.choice([5, 12, 30]), retention_days=rng.choice([None, 1]),
                                   grace_period=rng.choice([0, 30, 600]), low_watermark=rng.choice([0.5, 0.9, 1.0]),
                                   clock=clock)
    with LongTermMemory(**options) as memory, LongTermMemory(path=tmp_path / "m.sqlite3", **options) as sqlite:
        for step in range(400):
            action = rng.random()
            key = f"k{rng.randrange(40)}"
            for store in (memory, sqlite):
                if action < 0.6:
                    store.store({"id": key, "text": f"s{step}", "tags": [f"t{step % 3}"],
                                 "importance": random.Random(step).choice([0.1, 0.5, 0.8, 0.85, 0.99])},
                                ttl=600 if step % 7 == 0 else None)
                elif action < 0.7:
                    store.delete(key)
                elif action < 0.8 and key in store:
                    store.update(key, importance=random.Random(step).random())
                elif action < 0.85:
                    store.get(key)
                elif action < 0.9:
                    assert [d.id for d in store.prune(dry_run=True)] == [d.id for d in store.prune(dry_run=True)]
            if action >= 0.95:
                clock.advance(seconds=rng.choice([1, 45, 700, 3600 * 30]))
            assert memory.storage == sqlite.storage, f"step {step}"
            assert memory.search(tags=["t1"], min_importance=0.3) == sqlite.search(tags=["t1"], min_importance=0.3)
        assert [d.id for d in memory.prune()] == [d.id for d in sqlite.prune()]
        assert memory.storage == sqlite.storage


def test_ids_json_must_escape_round_trip(store_location: StoreLocation) -> None:
    memory = store_location.open(clock=TickingClock())
    for given in ('say "hi"', "naïve ✓", "plain"):
        assert memory.store({"id": given, "text": given}) == given
        assert memory.get(given) == {**memory.get(given), "id": given, "text": given}

"""What one store on an SQLite file runs (issue 16, speed on a file): the statements of a
store past the bound, and the shortcuts they take, keep the exact semantics."""

from __future__ import annotations

import random
import sqlite3
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import List

from memlint.runtime import LongTermMemory
from memlint.runtime import _common, _sqlite
from memlint.runtime._backend import StoreTransaction
from memlint.runtime._common import from_micros, iso_of_micros

def test_the_stamp_of_a_store_is_the_isoformat_of_its_time() -> None:
    rng = random.Random(16)
    moments = [0, -1, 1, 999_999, 1_000_000, -1_000_000, -1_000_001, 253_402_300_799_999_999,
               -62_135_596_800_000_000]
    moments += [rng.randrange(-62_135_596_800_000_000, 253_402_300_799_999_999) for _ in range(2000)]
    start = 1_780_000_000_000_000
    moments += [start + rng.randrange(0, 5_000_000) for _ in range(2000)]  # many in one second
    for micros in moments:
        assert iso_of_micros(micros) == from_micros(micros).isoformat(timespec="microseconds"), micros


def test_stored_timestamps_follow_the_clock_across_seconds(tmp_path: Path) -> None:
    # The text up to the second is kept for the last second seen: a clock that jumps
    # back and forth must still get its own second every time.
    times = [datetime(2026, 12, 6, 16, 0, 0, 999_999, tzinfo=timezone.utc),
             datetime(2026, 12, 6, 16, 0, 1, tzinfo=timezone.utc),
             datetime(1999, 12, 31, 23, 59, 59, 5, tzinfo=timezone.utc),
             datetime(2026, 12, 6, 16, 0, 1, 7, tzinfo=timezone.utc)]
    now = [times[0]]
    with LongTermMemory(path=tmp_path / "m.sqlite3", retention_days=None, clock=lambda: now[0]) as memory:
        for number, moment in enumerate(times):
            now[0] = moment
            memory.store({"id": f"e{number}"})
        stamps = {entry["id"]: entry["timestamp"] for entry in memory}
    assert stamps == {f"e{number}": moment.isoformat(timespec="microseconds") for number, moment in enumerate(times)}
    assert _common._LAST_SECOND[1] == "2026-12-06T16:00:01"


def statements_per_store(memory: LongTermMemory, first: int, stores: int) -> List[str]:
    conn = memory._backend._db.conn  # type: ignore[attr-defined]
    seen: List[str] = []
    conn.set_trace_callback(seen.append)
    try:
        for number in range(first, first + stores):
            memory.store({"text": f"entry {number}", "importance": ((number * 7919) % 1000) / 1000})
    finally:
        conn.set_trace_callback(None)
    # SQLite traces a statement with RETURNING twice (RETURNING runs as a trigger program).
    return [sql for number, sql in enumerate(seen) if number == 0 or sql != seen[number - 1]]


def test_a_store_past_the_bound_runs_no_returning(tmp_path: Path) -> None:
    # SQLite runs RETURNING as a trigger program: DELETE ... RETURNING cost a third more
    # than the DELETE itself, and a store does not report what it removed. Before: the
    # removal past the bound returned the removed row.
    with LongTermMemory(max_entries=200, retention_days=90, path=tmp_path / "m.sqlite3") as memory:
        for number in range(200):
            memory.store({"text": f"entry {number}", "importance": ((number * 7919) % 1000) / 1000})
        seen = statements_per_store(memory, 200, 50)
        assert len(memory) == 200
    # The count is checked by the DELETE itself (the memory was full at the last store).
    assert [" ".join(sql.split()[:2]) for sql in seen] == ["BEGIN IMMEDIATE", "INSERT INTO", "DELETE FROM", "COMMIT"] * 50
    assert not [sql for sql in seen if "RETURNING" in sql]


def test_a_wrong_guess_that_the_memory_is_full_costs_no_entry(tmp_path: Path) -> None:
    # Two memories on one namespace: each one's "full at my last store" goes stale when
    # the other writes. Below the bound nothing may go; far over it, the bound still holds.
    path = tmp_path / "m.sqlite3"
    with LongTermMemory(max_entries=10, retention_days=None, path=path) as small, \
            LongTermMemory(max_entries=30, retention_days=None, path=path) as large:
        for number in range(12):
            small.store({"id": f"s{number}", "importance": 0.5})
        assert len(small) == 10 and small._full
        for number in range(8):
            large.delete(f"s{number}")
        small.store({"id": "after-deletes"})  # 5 entries: the guess is wrong, nothing goes
        assert sorted(entry["id"] for entry in small) == ["after-deletes", "s10", "s11", "s8", "s9"]
        assert not small._full
        for number in range(25):
            large.store({"id": f"l{number}", "importance": 0.9})
        small.store({"id": "s-last", "importance": 0.1})  # 31 entries: far over its bound
        assert len(small) == 10 and "s-last" in small
        small.store({"id": "s-next", "importance": 0.95})  # full: the DELETE counts
        assert len(small) == 10 and "s-next" in small and "s-last" not in small


def test_a_store_that_replaces_its_own_least_ranked_entry_keeps_it(tmp_path: Path) -> None:
    # The entry a store writes is excluded from that store's removal by its seq; a
    # replaced entry (an UPDATE, not an INSERT) must be excluded too, and so must the last
    # entry of a store_many.
    for mode in ("store", "store_many"):
        path = tmp_path / f"{mode}.sqlite3"
        with LongTermMemory(max_entries=3, retention_days=None, path=path) as memory:
            for name, importance in (("a", 0.5), ("b", 0.6), ("c", 0.7)):
                memory.store({"id": name, "importance": importance})
            if mode == "store":
                memory.store({"id": "d", "importance": 0.9})  # "a" goes
                memory.store({"id": "b", "importance": 0.0})  # replaced: the least ranked, kept
                memory.store({"id": "e", "importance": 0.0})  # the new least ranked, kept; "b" goes
                assert sorted(entry["id"] for entry in memory) == ["c", "d", "e"]
            else:
                memory.store_many([{"id": "d", "importance": 0.9}, {"id": "a", "importance": 0.0}])
                assert sorted(entry["id"] for entry in memory) == ["a", "c", "d"]
            assert len(memory) == 3


def test_the_count_read_with_an_insert_stays_exact_inside_a_batch(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite3"
    with LongTermMemory(max_entries=10, retention_days=None, path=path) as memory, \
            LongTermMemory(max_entries=10, retention_days=None, path=path, namespace="other") as other:
        other.store({"id": "x"})
        with memory.batch():
            for number in range(25):
                memory.store({"id": f"e{number}", "importance": (number % 7) / 10})
                assert len(memory) == min(number + 1, 10)
            memory.delete("e24")
            assert len(memory) == 9
        assert len(memory) == 9 and len(other) == 1
        memory.store({"id": "late"})  # the next transaction reads the count again
        assert len(memory) == 10
    with closing(sqlite3.connect(path)) as raw:
        assert dict(raw.execute("SELECT name, value FROM counters").fetchall()) == {"": 10, "other": 1}


def test_a_removal_excluding_an_id_it_did_not_write_looks_the_seq_up(tmp_path: Path) -> None:
    # remove_least_ranked_unless_batch is a backend method: called with an id that this
    # transaction did not upsert, it still spares that id.
    now = [datetime(2026, 1, 1, tzinfo=timezone.utc)]
    with LongTermMemory(max_entries=10, retention_days=None, path=tmp_path / "m.sqlite3",
                        clock=lambda: now[0]) as memory:
        memory.store({"id": "low", "importance": 0.0})
        memory.store({"id": "next", "importance": 0.1})
        now[0] += timedelta(seconds=1)
        with memory._backend.write() as tx:  # type: ignore[attr-defined]
            removed = tx.remove_least_ranked_unless_batch("low", 0.8)
            assert removed is not None and removed.id == "next"
            assert tx.remove_least_ranked_unless_batch("absent", 0.8).id == "low"  # type: ignore[union-attr]
        assert len(memory) == 0


def test_the_one_statement_removal_picks_what_the_generic_steps_pick(tmp_path: Path) -> None:
    # The removal past the bound is one DELETE with shortcuts (the protected entry by
    # seq, a fresh head at or below the pin threshold taken without comparing heads); the
    # backend-neutral steps (is a batch due, the two group heads, delete) are the model.
    rng = random.Random(16)
    for trial in range(30):
        path = tmp_path / f"t{trial}.sqlite3"
        with LongTermMemory(max_entries=10_000, retention_days=None, path=path) as memory:
            backend = memory._backend  # type: ignore[attr-defined]
            ids = [f"e{number}" for number in range(rng.randrange(1, 25))]
            with backend.write() as tx:
                for number, entry_id in enumerate(ids):
                    importance = rng.choice([0.0, 0.3, 0.8, 0.81, 0.95, 1.0, rng.random()])
                    tx.upsert(entry_id, 1000 + rng.randrange(5), importance, "{}")
                    if number == len(ids) // 2:
                        tx.settle(1003)  # the entries so far with ts_us < 1003 settle
            pin = rng.choice([0.0, 0.5, 0.8, 1.0])
            newest = rng.choice([0.0, 0.5, 0.9])
            # "newest" is the entry the transaction wrote last (excluded by the seq it
            # remembers); the others are looked up, or exclude nothing.
            for exclude in (None, rng.choice(ids), "absent", "newest"):
                with backend.rehearse() as tx:
                    tx.upsert("newest", 1004, newest, "{}")
                    before = {row.id for row in tx.scan(0, 100)}
                    expected_row = StoreTransaction.remove_least_ranked_unless_batch(tx, exclude, pin)
                    expected = None if expected_row is None else expected_row.id
                with backend.rehearse() as tx:
                    tx.upsert("newest", 1004, newest, "{}")
                    gone = tx.drop_least_ranked_unless_batch(exclude, pin)
                    left = {row.id for row in tx.scan(0, 100)}
                    actual = next(iter(before - left)) if gone else None
                    assert len(before - left) == (1 if gone else 0)
                assert actual == expected, (trial, exclude, pin)


def _wal_settings(memory: LongTermMemory):
    conn = memory._backend._db.conn  # type: ignore[attr-defined]
    return tuple(conn.execute(f"PRAGMA {name}").fetchone()[0]
                 for name in ("wal_autocheckpoint", "journal_size_limit", "page_size", "page_count"))


def test_a_small_store_keeps_a_small_wal_and_the_limit_is_above_its_size(tmp_path: Path) -> None:
    # A checkpoint every `window` pages; the WAL file is cut back only above its size at a
    # checkpoint (else every cycle would truncate it and grow it again). A small store
    # keeps SQLite's default window (about 4 MB of WAL), not the ceiling's 120 MB.
    with LongTermMemory(path=tmp_path / "m.sqlite3") as memory:
        memory.store({"n": 1})
        window, limit, page_size, _pages = _wal_settings(memory)
    assert window == _sqlite.WAL_MIN_CHECKPOINT_PAGES
    assert 32 + window * (page_size + 24) < limit <= 2 * window * page_size


def test_the_wal_window_follows_the_database_as_it_grows(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(_sqlite, "WAL_WINDOW_CHECK", 50)
    monkeypatch.setattr(_sqlite, "WAL_MIN_CHECKPOINT_PAGES", 10)
    with LongTermMemory(path=tmp_path / "m.sqlite3") as memory:
        first = _wal_settings(memory)[0]
        for n in range(400):
            memory.store({"n": n, "text": "x" * 2000})
        window, limit, page_size, pages = _wal_settings(memory)
    assert first == 10
    # Set at the last check, at most 50 stores (of about a page each) ago.
    per_page = _sqlite.WAL_WINDOW_PER_PAGE
    assert per_page == 4
    assert first < window <= per_page * pages and window >= per_page * (pages - 60)
    assert 32 + window * (page_size + 24) < limit


def test_the_wal_window_stops_at_its_ceiling_in_bytes(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(_sqlite, "WAL_MIN_CHECKPOINT_PAGES", 10)
    monkeypatch.setattr(_sqlite, "WAL_CHECKPOINT_BYTES", 100 * _sqlite.STORE_PAGE_SIZE)
    with LongTermMemory(path=tmp_path / "m.sqlite3") as memory:
        for n in range(100):
            memory.store({"n": n, "text": "x" * 2000})
        window = memory._backend._db.size_wal_window()  # type: ignore[attr-defined]
        pages = _wal_settings(memory)[3]
    assert pages * _sqlite.WAL_WINDOW_PER_PAGE > 100 and window == 100


def test_a_new_store_file_has_small_pages_and_an_old_file_keeps_its_own(tmp_path: Path) -> None:
    # A store writes about six pages per commit whatever their size: a new file uses
    # 2 KiB pages (half the bytes written, checksummed and checkpointed of SQLite's 4 KiB).
    with LongTermMemory(path=tmp_path / "new.sqlite3") as memory:
        memory.store({"n": 1})
        assert _wal_settings(memory)[2] == _sqlite.STORE_PAGE_SIZE == 2048
        # And a page cache of 1 MiB (SQLite's default is 2 MiB): the same speed, less memory.
        conn = memory._backend._db.conn  # type: ignore[attr-defined]
        assert conn.execute("PRAGMA cache_size").fetchone()[0] == -1024
    # An empty file (mkstemp, touch) is a new database too.
    (tmp_path / "empty.sqlite3").touch()
    with LongTermMemory(path=tmp_path / "empty.sqlite3") as memory:
        memory.store({"n": 1})
        assert _wal_settings(memory)[2] == 2048
    # A file made with SQLite's default page size (every file of an earlier memlint)
    # keeps it, and its entries.
    old = tmp_path / "old.sqlite3"
    with LongTermMemory(path=old) as memory:
        memory.store({"id": "kept"})
    with closing(sqlite3.connect(old)) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute("PRAGMA page_size = 4096")
        conn.execute("VACUUM")
        assert conn.execute("PRAGMA page_size").fetchone()[0] == 4096
    with LongTermMemory(path=old) as memory:
        memory.store({"id": "added"})
        assert _wal_settings(memory)[2] == 4096
        assert "kept" in memory and "added" in memory

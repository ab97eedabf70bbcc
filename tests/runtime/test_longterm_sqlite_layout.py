"""The SQLite file's version-4 layout (issue 16, speed on a file): a store writes fewer
pages, the tags stay exact, and a version-3 file is migrated in place."""

from __future__ import annotations

import json
import random
import sqlite3
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest
from longterm_backends import downgrade_to_v3

from memlint.runtime import LongTermMemory, MemoryArchiver
from memlint.runtime import _sqlite
from memlint.runtime._sqlite import STORE_SCHEMA_VERSION


def tag_rows(path: Path) -> Set[Tuple[str, str]]:
    with closing(sqlite3.connect(path)) as raw:
        return set(raw.execute("SELECT t.tag, e.id FROM entry_tags t JOIN entries e USING (seq)").fetchall())


def tags_in_bodies(path: Path) -> Set[Tuple[str, str]]:
    with closing(sqlite3.connect(path)) as raw:
        rows = raw.execute("SELECT id, body FROM entries").fetchall()
    found = set()
    for entry_id, body in rows:
        tags = json.loads(body).get("tags", [])
        found.update((tag, entry_id) for tag in tags if isinstance(tag, str))
    return found


def orphan_tag_rows(path: Path) -> int:
    with closing(sqlite3.connect(path)) as raw:
        return raw.execute("SELECT count(*) FROM entry_tags WHERE seq NOT IN (SELECT seq FROM entries)").fetchone()[0]


def wal_frames_per_store(memory: LongTermMemory, first: int, stores: int) -> float:
    conn = memory._backend._db.conn  # type: ignore[attr-defined]
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for number in range(first, first + stores):
        memory.store({"text": f"entry {number}", "importance": ((number * 7919) % 1000) / 1000})
    frames = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
    return frames / stores


def test_a_store_past_the_bound_writes_at_most_seven_pages(tmp_path: Path) -> None:
    # Version 3 wrote 9.1 WAL pages per store here (6.2 now): every store added its row to
    # the time index and removed the least ranked entry's row from it, and its count
    # triggers wrote the counter row twice (+1, -1). Version 4 indexes only settled
    # entries by time (these are all inside their grace period) and writes a count only
    # when a transaction's net change is not zero.
    with LongTermMemory(max_entries=2000, retention_days=90, path=tmp_path / "m.sqlite3") as memory:
        for number in range(2000):
            memory.store({"text": f"entry {number}", "importance": ((number * 7919) % 1000) / 1000})
        frames = wal_frames_per_store(memory, 2000, 500)
        assert len(memory) == 2000
    assert frames <= 7.0, f"{frames:.2f} WAL pages per store"


def counted_and_held(path: Path) -> Tuple[Dict[str, int], Dict[str, int]]:
    with closing(sqlite3.connect(path)) as raw:
        counted = dict(raw.execute("SELECT name, value FROM counters WHERE value != 0").fetchall())
        held = dict(raw.execute("SELECT ns, count(*) FROM entries GROUP BY ns").fetchall())
    return counted, held


def test_the_count_stays_exact_through_every_kind_of_write(tmp_path: Path) -> None:
    # The count of each namespace is kept by the writing transactions (no triggers): every
    # path that adds or removes rows must say so, and a rolled-back one must not.
    path = tmp_path / "m.sqlite3"
    now = [datetime(2026, 1, 1, tzinfo=timezone.utc)]
    clock = lambda: now[0]  # noqa: E731
    rng = random.Random(4)
    with LongTermMemory(max_entries=25, retention_days=2, grace_period=0, path=path, clock=clock) as one, \
            LongTermMemory(max_entries=40, retention_days=None, path=path, namespace="b", clock=clock) as two, \
            MemoryArchiver(str(tmp_path / "archive"), min_age_days=1, clock=clock) as archiver:
        for step in range(400):
            memory = one if rng.random() < 0.6 else two
            action = rng.randrange(10)
            key = f"k{rng.randrange(60)}"
            if action <= 2:
                memory.store({"id": key, "importance": rng.random()}, ttl=rng.choice([None, 3600]))
            elif action == 3:
                memory.store_many([{"id": f"k{rng.randrange(60)}"} for _ in range(rng.randrange(1, 8))])
            elif action == 4:
                try:
                    with memory.batch():
                        memory.store({"id": key})
                        memory.delete(f"k{rng.randrange(60)}")
                        if rng.random() < 0.3:
                            raise LookupError("rolled back")
                except LookupError:
                    pass
            elif action == 5:
                memory.delete(key)
            elif action == 6 and key in memory:
                memory.update(key, importance=rng.random())
            elif action == 7:
                memory.prune()
            elif action == 8:
                archiver.archive_from(memory)
            elif rng.random() < 0.1:
                memory.clear()
            now[0] += timedelta(hours=rng.choice([1, 7, 30]))
            counted, held = counted_and_held(path)
            assert counted == held, f"step {step}: counters {counted}, rows {held}"
            assert len(one) == held.get("", 0) and len(two) == held.get("b", 0)


def test_tags_stay_exact_through_every_kind_of_change(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite3"
    rng = random.Random(16)
    ids = [f"e{number}" for number in range(40)]
    with LongTermMemory(max_entries=30, retention_days=None, grace_period=0, path=path) as memory:
        for step in range(600):
            entry_id = rng.choice(ids)
            action = rng.random()
            if action < 0.45:
                shape = rng.randrange(4)
                entry: Dict[str, object] = {"id": entry_id, "importance": rng.random()}
                if shape == 0:
                    entry["tags"] = rng.sample(["a", "b", "c"], rng.randrange(1, 3))
                elif shape == 1:
                    entry["meta"] = {"tags": ["nested"]}  # not the entry's tags
                elif shape == 2:
                    entry["text"] = '"tags" in the text only'
                memory.store(entry)
            elif action < 0.65 and entry_id in memory:
                memory.update(entry_id, {"tags": rng.sample(["a", "b", "c"], rng.randrange(0, 3))})
            elif action < 0.8:
                memory.delete(entry_id)
            else:
                memory.store({"id": entry_id, "text": "plain"})
        assert {e["id"] for e in memory.search_by_tag("nested")} == set()
        expected: Dict[str, List[str]] = {}
        for tag in "abc":
            expected[tag] = sorted(e["id"] for e in memory if tag in e.get("tags", []))
            assert sorted(e["id"] for e in memory.search_by_tag(tag)) == expected[tag]
    assert tag_rows(path) == tags_in_bodies(path)
    assert orphan_tag_rows(path) == 0


def test_a_version_3_file_is_migrated_and_keeps_its_entries_and_tags(tmp_path: Path) -> None:
    path = tmp_path / "v3.sqlite3"
    now = [datetime(2026, 1, 1, tzinfo=timezone.utc)]
    clock = lambda: now[0]  # noqa: E731
    with LongTermMemory(path=path, retention_days=30, clock=clock) as memory:
        memory.store({"id": "old", "text": "old", "tags": ["t"], "importance": 0.1})
        memory.store({"id": "pinned", "text": "pinned", "importance": 0.9})
    downgrade_to_v3(path)
    now[0] += timedelta(days=40)
    with LongTermMemory(path=path, retention_days=30, clock=clock) as memory:
        assert [e["id"] for e in memory.search_by_tag("t")] == ["old"]
        assert memory.get_stats()["oldest_entry"] == "2026-01-01T00:00:00.000000+00:00"
        decisions = memory.prune()  # "old" is past the age bound; "pinned" is pinned
        assert [(d.id, d.reason) for d in decisions] == [("old", "age")]
        memory.store({"id": "new", "text": "new", "tags": ["t"]})
        assert [e["id"] for e in memory.search_by_tag("t")] == ["new"]
        assert sorted(e["id"] for e in memory) == ["new", "pinned"]
    with closing(sqlite3.connect(path)) as check:
        assert check.execute("PRAGMA user_version").fetchone()[0] == STORE_SCHEMA_VERSION == 4
        names = {row[0] for row in check.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "entries_by_ts" not in names and "entries_settled_by_ts" in names
        trigger = check.execute("SELECT sql FROM sqlite_master WHERE name = 'entries_tags_insert'").fetchone()[0]
        assert "WHEN instr(NEW.body" in trigger
        triggers = {row[0] for row in check.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        assert not {"entries_count_up", "entries_count_down"} & triggers
    assert orphan_tag_rows(path) == 0
    counted, held = counted_and_held(path)
    assert counted == held == {"": 2}


def test_oldest_entry_counts_fresh_and_settled_entries(tmp_path: Path) -> None:
    # The time index holds settled entries only: the oldest entry may still be fresh
    # (nothing settled it), or settled with fresher ones stored before it by a clock set back.
    now = [datetime(2026, 3, 1, tzinfo=timezone.utc)]
    clock = lambda: now[0]  # noqa: E731
    with LongTermMemory(path=tmp_path / "m.sqlite3", retention_days=None, clock=clock) as memory:
        assert memory.get_stats()["oldest_entry"] is None
        memory.store({"id": "a"})
        now[0] += timedelta(seconds=10)
        memory.store({"id": "b"})
        assert memory.get_stats()["oldest_entry"] == "2026-03-01T00:00:00.000000+00:00"  # both fresh
        now[0] += timedelta(minutes=5)
        memory.prune()  # settles both
        now[0] -= timedelta(days=1)  # the clock goes back: a fresh entry older than both
        memory.store({"id": "c"})
        assert memory.get_stats()["oldest_entry"] == "2026-02-28T00:05:10.000000+00:00"


def test_without_returning_the_same_entries_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # SQLite before 3.35 has no DELETE ... RETURNING: the removal past the bound then looks
    # the entry up and deletes it in two statements, and must choose the same entries.
    def run(name: str) -> List[str]:
        now = [datetime(2026, 5, 1, tzinfo=timezone.utc)]
        with LongTermMemory(max_entries=50, retention_days=None, grace_period=30, path=tmp_path / name,
                            clock=lambda: now[0]) as memory:
            for number in range(400):
                memory.store({"id": f"e{number}", "importance": ((number * 7919) % 1000) / 1000})
                now[0] += timedelta(seconds=1)
            assert len(memory) == 50
            return [entry["id"] for entry in memory]

    with_returning = run("returning.sqlite3")
    monkeypatch.setattr(_sqlite, "_HAS_RETURNING", False)
    assert run("lookup.sqlite3") == with_returning
    counted, held = counted_and_held(tmp_path / "lookup.sqlite3")
    assert counted == held == {"": 50}

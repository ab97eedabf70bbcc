"""The SQLite file's edges (issue 16, defect 7): paths in errors, folders, empty and
read-only files, the version-1 layout; and the library's logger."""

from __future__ import annotations

import logging
import os
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from longterm_backends import downgrade_to_v3

from memlint.runtime import LongTermMemory
from memlint.runtime._sqlite import STORE_APPLICATION_ID, STORE_SCHEMA_VERSION

# The version-1 layout (memlint before issue 16), to check the migration.
V1_SCHEMA = """
CREATE TABLE entries (
    seq INTEGER PRIMARY KEY,             -- insertion order
    id TEXT NOT NULL UNIQUE,
    ts_us INTEGER NOT NULL,              -- stored at, microseconds since the epoch (UTC)
    importance REAL NOT NULL,
    settled INTEGER NOT NULL DEFAULT 0,  -- 1 once past the grace period
    body TEXT NOT NULL                   -- the entry as JSON
);
-- The age bound and the oldest entry.
CREATE INDEX entries_by_ts ON entries (ts_us);
-- Fresh entries waiting to settle, and the pruning order within each group: both are
-- partial indexes, so the count bound never skips over rows it may not delete.
CREATE INDEX entries_fresh ON entries (ts_us) WHERE settled = 0;
CREATE INDEX entries_rank_settled ON entries (importance, ts_us, seq) WHERE settled = 1;
CREATE INDEX entries_rank_fresh ON entries (importance, ts_us, seq) WHERE settled = 0;
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO counters (name, value) VALUES ('entries', 0);
CREATE TRIGGER entries_count_up AFTER INSERT ON entries
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'entries'; END;
CREATE TRIGGER entries_count_down AFTER DELETE ON entries
BEGIN UPDATE counters SET value = value - 1 WHERE name = 'entries'; END;
-- Tags, kept in step with the entries' JSON by triggers, so that a tag is an index lookup.
CREATE TABLE entry_tags (tag TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (tag, seq)) WITHOUT ROWID;
CREATE INDEX entry_tags_by_seq ON entry_tags (seq);
CREATE TRIGGER entries_tags_insert AFTER INSERT ON entries
BEGIN INSERT OR IGNORE INTO entry_tags (tag, seq)
      SELECT value, NEW.seq FROM json_each(NEW.body, '$.tags') WHERE type = 'text'; END;
CREATE TRIGGER entries_tags_update AFTER UPDATE OF body ON entries
BEGIN DELETE FROM entry_tags WHERE seq = OLD.seq;
      INSERT OR IGNORE INTO entry_tags (tag, seq)
      SELECT value, NEW.seq FROM json_each(NEW.body, '$.tags') WHERE type = 'text'; END;
CREATE TRIGGER entries_tags_delete AFTER DELETE ON entries
BEGIN DELETE FROM entry_tags WHERE seq = OLD.seq; END;
-- Commit records of archive moves: an entry left this store under ``token``.
CREATE TABLE moves (
    token TEXT NOT NULL,
    archive_uid TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (token, id)
) WITHOUT ROWID;
CREATE INDEX moves_by_archive ON moves (archive_uid, token);
"""


def test_sqlite_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "garbage.sqlite3"
    path.write_bytes(b"this is not a database, just text" * 100)
    with pytest.raises(sqlite3.DatabaseError) as caught:
        LongTermMemory(path=path)
    assert str(path) in str(caught.value), "the old message said only 'file is not a database'"


def test_the_parent_folder_is_created(tmp_path: Path) -> None:
    path = tmp_path / "new" / "deeper" / "memory.sqlite3"
    with LongTermMemory(path=path) as memory:
        memory.store({"text": "x"})
    assert path.is_file()


def test_an_empty_file_is_initialised_and_the_log_says_so(tmp_path: Path, caplog: Any) -> None:
    path = tmp_path / "touched.sqlite3"
    path.touch()
    with caplog.at_level(logging.WARNING, logger="memlint.runtime"):
        with LongTermMemory(path=path) as memory:
            memory.store({"text": "x"})
    assert any(str(path) in record.getMessage() and "empty" in record.getMessage() for record in caplog.records)
    with LongTermMemory(path=path) as memory:
        assert len(memory) == 1


def make_store(path: Path) -> None:
    with LongTermMemory(path=path) as memory:
        memory.store({"id": "kept", "text": "hello", "tags": ["t"]})


def test_read_only_opening_reads_and_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "memory.sqlite3"
    make_store(path)
    before = path.read_bytes()
    with LongTermMemory(path=path, read_only=True) as memory:
        assert memory.read_only
        assert memory.get("kept")["text"] == "hello"
        assert [e["id"] for e in memory.search_by_tag("t")] == ["kept"]
        assert len(memory) == 1 and memory.get_stats()["total_entries"] == 1
        with pytest.raises(PermissionError):
            memory.store({"text": "new"})
        with pytest.raises(PermissionError):
            memory.delete("kept")
    assert path.read_bytes() == before
    with pytest.raises(FileNotFoundError):
        LongTermMemory(path=tmp_path / "absent.sqlite3", read_only=True)


def test_a_file_this_process_cannot_write_opens_read_only(tmp_path: Path, monkeypatch: Any) -> None:
    # As root, chmod does not stop writes: make the access check answer as for a read-only
    # file system, which is what the old code could not even read.
    path = tmp_path / "memory.sqlite3"
    make_store(path)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda name, mode: False if mode == os.W_OK else real_access(name, mode))
    with LongTermMemory(path=path) as memory:
        assert memory.read_only and memory.get("kept")["text"] == "hello"


def test_a_version_1_file_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite3"
    raw = sqlite3.connect(path)
    raw.executescript(V1_SCHEMA)
    raw.execute(f"PRAGMA application_id = {STORE_APPLICATION_ID}")
    raw.execute("PRAGMA user_version = 1")
    for number in range(3):
        raw.execute("INSERT INTO entries (id, ts_us, importance, body) VALUES (?, ?, ?, ?)",
                    (f"e{number}", 1_700_000_000_000_000 + number, 0.5,
                     f'{{"id":"e{number}","text":"t{number}","tags":["old"]}}'))
    raw.commit()
    raw.close()
    with LongTermMemory(path=path, retention_days=None) as memory:
        assert len(memory) == 3
        assert [e["id"] for e in memory.search_by_tag("old")] == ["e0", "e1", "e2"]
        memory.store({"id": "e3", "text": "new"})
        assert len(memory) == 4
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA user_version").fetchone()[0] == STORE_SCHEMA_VERSION == 4


def test_a_version_2_file_loses_its_fresh_index_and_keeps_its_entries(tmp_path: Path) -> None:
    # Version 3 dropped the index of fresh entries by time (a store updated it for nothing
    # but settling); a version-2 file is migrated in place and settles as before.
    path = tmp_path / "v2.sqlite3"
    now = [datetime(2026, 1, 1, tzinfo=timezone.utc)]
    clock = lambda: now[0]  # noqa: E731
    with LongTermMemory(path=path, retention_days=None, clock=clock) as memory:
        memory.store({"id": "a", "text": "first"})
    now[0] += timedelta(seconds=500)
    downgrade_to_v3(path)
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE INDEX entries_fresh ON entries (ns, ts_us) WHERE settled = 0")
        raw.execute("PRAGMA user_version = 2")
    with LongTermMemory(path=path, retention_days=None, clock=clock, max_entries=2) as memory:
        memory.store({"id": "b", "text": "second"})
        assert memory.get("a")["text"] == "first"
        assert not memory.prune()  # settles "a" (stored 500 s ago) without removing anything
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA user_version").fetchone()[0] == 4
        assert check.execute("SELECT count(*) FROM sqlite_master WHERE name = 'entries_fresh'").fetchone()[0] == 0
        assert check.execute("SELECT id, settled FROM entries ORDER BY seq").fetchall() == [("a", 1), ("b", 0)]


def test_the_library_logger_has_a_null_handler() -> None:
    import memlint.runtime  # noqa: F401 - the import installs it

    handlers = logging.getLogger("memlint.runtime").handlers
    assert any(isinstance(handler, logging.NullHandler) for handler in handlers)

"""SQLite backend of the archive (``MemoryArchiver(archive_dir)``): one file, ``archive.sqlite3``.

It shares ``_sqlite._Database`` (pragmas, schema versioning, transactions, error messages
naming the file) with the store's backend.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from memlint.runtime._backend import ArchiveBackend, ArchiveRow, ArchiveTransaction
from memlint.runtime._filelock import FileLock
from memlint.runtime._sqlite import _chunks, _Database

ARCHIVE_APPLICATION_ID = 0x4D4C4152  # "MLAR"
ARCHIVE_SCHEMA_VERSION = 1

_ARCHIVE_SCHEMA = """
CREATE TABLE archive_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE archived (
    id TEXT PRIMARY KEY,
    archived_us INTEGER NOT NULL,
    original_ts TEXT,
    importance REAL,
    tags TEXT NOT NULL,
    checksum TEXT NOT NULL,
    codec TEXT NOT NULL,
    size INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX archived_by_time ON archived (archived_us);
CREATE TABLE staged (
    token TEXT NOT NULL,
    source TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    id TEXT NOT NULL,
    original_ts TEXT,
    importance REAL,
    tags TEXT NOT NULL,
    checksum TEXT NOT NULL,
    codec TEXT NOT NULL,
    size INTEGER NOT NULL,
    payload BLOB NOT NULL,
    PRIMARY KEY (token, id)
);
CREATE INDEX staged_by_id ON staged (id);
"""

_ARCHIVE_MIGRATIONS: Dict[int, str] = {}


_ARCHIVE_COLUMNS = "id, archived_us, original_ts, importance, tags, checksum, codec, size, payload"


class _SQLiteArchiveTx(ArchiveTransaction):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.c = conn

    def put(self, row: ArchiveRow) -> None:
        self.c.execute(f"INSERT OR REPLACE INTO archived ({_ARCHIVE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)",
                       tuple(row))

    def get(self, entry_id: str) -> Optional[ArchiveRow]:
        row = self.c.execute(f"SELECT {_ARCHIVE_COLUMNS} FROM archived WHERE id = ?", (entry_id,)).fetchone()
        return ArchiveRow(*row) if row else None

    def ids(self) -> List[str]:
        return [row[0] for row in self.c.execute("SELECT id FROM archived ORDER BY id")]

    def index(self) -> List[ArchiveRow]:
        rows = self.c.execute(
            "SELECT id, archived_us, original_ts, importance, tags, checksum, codec, size, x''"
            " FROM archived ORDER BY archived_us, id"
        ).fetchall()
        return [ArchiveRow(*row) for row in rows]

    def totals(self) -> Tuple[int, int, int]:
        count, raw, stored = self.c.execute(
            "SELECT count(*), coalesce(sum(size), 0), coalesce(sum(length(payload)), 0) FROM archived"
        ).fetchone()
        return int(count), int(raw), int(stored)

    def delete_older(self, cutoff_us: int) -> int:
        return self.c.execute("DELETE FROM archived WHERE archived_us < ?", (cutoff_us,)).rowcount

    def stage(self, token: str, source: str, created_us: int, rows: Sequence[ArchiveRow]) -> None:
        self.c.executemany(
            "INSERT OR REPLACE INTO staged (token, source, created_us, id, original_ts, importance, tags,"
            " checksum, codec, size, payload) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            ((token, source, created_us, r.id, r.original_ts, r.importance, r.tags, r.checksum,
              r.codec, r.size, r.payload) for r in rows),
        )

    def staged(self, entry_id: str) -> List[Tuple[str, str, ArchiveRow]]:
        rows = self.c.execute(
            "SELECT token, source, id, created_us, original_ts, importance, tags, checksum, codec,"
            " size, payload FROM staged WHERE id = ?", (entry_id,)
        ).fetchall()
        return [(row[0], row[1], ArchiveRow(*row[2:])) for row in rows]

    def staged_tokens(self) -> List[Tuple[str, str]]:
        return [(row[0], row[1]) for row in self.c.execute("SELECT DISTINCT token, source FROM staged")]

    def staged_ids(self, token: str) -> List[str]:
        return [row[0] for row in self.c.execute("SELECT id FROM staged WHERE token = ?", (token,))]

    def publish(self, token: str, entry_ids: Sequence[str], archived_us: int) -> None:
        for chunk in _chunks(list(entry_ids)):
            marks = ",".join("?" * len(chunk))
            self.c.execute(
                f"INSERT OR REPLACE INTO archived ({_ARCHIVE_COLUMNS})"
                " SELECT id, ?, original_ts, importance, tags, checksum, codec, size, payload"
                f" FROM staged WHERE token = ? AND id IN ({marks})",
                (archived_us, token, *chunk),
            )
        self.c.execute("DELETE FROM staged WHERE token = ?", (token,))


def _new_archive_uid(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO archive_meta (key, value) VALUES ('uid', ?)", (uuid.uuid4().hex,))


class SQLiteArchiveBackend(ArchiveBackend):
    """The archive index and its compressed payloads in one SQLite file."""

    def mover_lock(self) -> FileLock:
        assert self.location is not None
        return FileLock(os.path.join(os.path.dirname(self.location), "archive.lock"))

    def __init__(self, path: str, *, busy_timeout: float = 30.0) -> None:
        self.location = os.path.abspath(path)
        # Archives are written in batches and must survive a power cut: synchronous=FULL.
        self._db = _Database(
            self.location,
            application_id=ARCHIVE_APPLICATION_ID,
            version=ARCHIVE_SCHEMA_VERSION,
            schema=_ARCHIVE_SCHEMA,
            migrations=_ARCHIVE_MIGRATIONS,
            busy_timeout=busy_timeout,
            durable=True,
            on_create=_new_archive_uid,
        )
        try:
            with self._db.transaction(immediate=False) as conn:
                self.uid = str(conn.execute("SELECT value FROM archive_meta WHERE key = 'uid'").fetchone()[0])
        except BaseException:
            self._db.close()
            raise

    @contextmanager
    def write(self) -> Iterator[ArchiveTransaction]:
        with self._db.transaction(immediate=True) as conn:
            yield _SQLiteArchiveTx(conn)

    @contextmanager
    def read(self) -> Iterator[ArchiveTransaction]:
        with self._db.transaction(immediate=False) as conn:
            yield _SQLiteArchiveTx(conn)

    def close(self) -> None:
        self._db.close()


def open_archive_backend(archive_dir: Optional[str], *, busy_timeout: float,
                         url: Optional[str] = None) -> ArchiveBackend:
    """The backend for an archive location (a directory, or a database URL)."""
    if url is not None:
        from memlint.runtime._postgres import PostgresArchiveBackend  # optional driver: loaded on use

        return PostgresArchiveBackend(url, busy_timeout=busy_timeout)
    assert archive_dir is not None
    return SQLiteArchiveBackend(os.path.join(archive_dir, "archive.sqlite3"), busy_timeout=busy_timeout)

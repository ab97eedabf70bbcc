"""SQLite backends of the long-term memory store and the archive (stdlib ``sqlite3``).

Choices, and why:

- WAL journal: readers never block the writer, and a killed process loses no committed
  transaction (``synchronous=NORMAL``; ``FULL`` when asked to survive power loss).
- Every write is ``BEGIN IMMEDIATE``: the write lock is taken up front, so two writers
  never interleave and never hit a read-to-write upgrade deadlock; waiting is left to
  SQLite's busy timeout.
- One connection per object, used by one thread at a time (a lock), so an object can be
  shared by threads; several objects or processes on one file coordinate through SQLite.
- Schemas carry ``PRAGMA application_id`` (what the file is) and ``PRAGMA user_version``
  (which layout), checked on every open; a file from a newer memlint is refused.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from memlint.runtime._backend import (
    ArchiveBackend,
    ArchiveRow,
    ArchiveTransaction,
    SchemaError,
    StoreBackend,
    StoreRow,
    StoreTransaction,
)
from memlint.runtime._filelock import FileLock

STORE_APPLICATION_ID = 0x4D4C544D  # "MLTM"
ARCHIVE_APPLICATION_ID = 0x4D4C4152  # "MLAR"
STORE_SCHEMA_VERSION = 1
ARCHIVE_SCHEMA_VERSION = 1

# SQLite's limit on bound parameters is 32766 since 3.32 (999 before); stay well below.
_CHUNK = 500

_STORE_SCHEMA = """
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

# Migrations from version N to N + 1, by N. None yet: version 1 is the first layout.
_STORE_MIGRATIONS: Dict[int, str] = {}
_ARCHIVE_MIGRATIONS: Dict[int, str] = {}



def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


class _Database:
    """One SQLite connection with memlint's pragmas, a schema check and transactions."""

    def __init__(self, path: str, *, application_id: int, version: int, schema: str,
                 migrations: Dict[int, str], busy_timeout: float, durable: bool,
                 on_create: Optional[Callable[[sqlite3.Connection], None]] = None) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._closed = False
        # isolation_level=None: the module never opens transactions behind our back.
        self._conn: Optional[sqlite3.Connection] = sqlite3.connect(
            path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            self._configure(busy_timeout, durable)
            self._check_schema(application_id, version, schema, migrations, on_create)
        except BaseException:
            self.close()
            raise

    def _configure(self, busy_timeout: float, durable: bool) -> None:
        conn = self.conn
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        if self.path != ":memory:":
            # Switching to WAL needs a moment of exclusive access; on a new file that
            # several processes open at once, wait for it like for any other lock.
            deadline = time.monotonic() + busy_timeout
            while True:
                try:
                    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                    break
                except sqlite3.OperationalError as error:
                    if "locked" not in str(error) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.01)
            if str(mode).lower() != "wal":
                raise SchemaError(f"cannot put {self.path} in WAL mode (journal_mode is {mode})")
        conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")

    def _check_schema(self, application_id: int, version: int, schema: str,
                      migrations: Dict[int, str],
                      on_create: Optional[Callable[[sqlite3.Connection], None]]) -> None:
        # The common case, an up-to-date file, needs no write lock: opening must not wait
        # for (or block) writers.
        with self.transaction(immediate=False) as conn:
            found_app, found_version, _ = self._schema_state(conn)
        if found_app == application_id and found_version == version:
            return
        with self.transaction(immediate=True) as conn:
            found_app, found_version, tables = self._schema_state(conn)
            if found_app == 0 and found_version == 0 and tables == 0:
                for statement in _statements(schema):
                    conn.execute(statement)
                if on_create is not None:
                    on_create(conn)
                conn.execute(f"PRAGMA application_id = {application_id}")
                conn.execute(f"PRAGMA user_version = {version}")
                return
            if found_app != application_id:
                raise SchemaError(
                    f"{self.path} is not a memlint database of this kind "
                    f"(application_id {found_app:#x}, expected {application_id:#x})"
                )
            if found_version > version:
                raise SchemaError(
                    f"{self.path} has schema version {found_version}, newer than this memlint "
                    f"supports ({version}); upgrade memlint"
                )
            while found_version < version:
                for statement in _statements(migrations[found_version]):
                    conn.execute(statement)
                found_version += 1
                conn.execute(f"PRAGMA user_version = {found_version}")

    @staticmethod
    def _schema_state(conn: sqlite3.Connection) -> Tuple[int, int, int]:
        found_app = conn.execute("PRAGMA application_id").fetchone()[0]
        found_version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchone()[0]
        return int(found_app), int(found_version), int(tables)

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError(f"the database {self.path} is closed")
        return self._conn

    @contextmanager
    def transaction(self, *, immediate: bool, rollback: bool = False) -> Iterator[sqlite3.Connection]:
        """Run the block in one transaction; commit unless it raised or ``rollback`` is set."""
        with self._lock:
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
            done = False
            try:
                yield conn
                if not rollback:
                    conn.execute("COMMIT")
                    done = True
            finally:
                if not done and conn.in_transaction:
                    conn.execute("ROLLBACK")

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()

    def __enter__(self) -> "_Database":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _statements(script: str) -> List[str]:
    """Split a schema script into statements (triggers contain ``;`` inside BEGIN..END)."""
    statements: List[str] = []
    current: List[str] = []
    for line in script.splitlines():
        stripped = line.split("--", 1)[0].rstrip()
        if not stripped:
            continue
        current.append(stripped)
        text = "\n".join(current)
        if text.endswith(";") and sqlite3.complete_statement(text):
            statements.append(text)
            current = []
    if current:
        raise ValueError("incomplete SQL statement in schema")
    return statements


class _SQLiteStoreTx(StoreTransaction):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.c = conn

    def upsert(self, entry_id: str, ts_us: int, importance: float, body: str) -> bool:
        updated = self.c.execute(
            "UPDATE entries SET ts_us = ?, importance = ?, settled = 0, body = ? WHERE id = ?",
            (ts_us, importance, body, entry_id),
        ).rowcount
        if updated:
            return False
        self.c.execute(
            "INSERT INTO entries (id, ts_us, importance, body) VALUES (?, ?, ?, ?)",
            (entry_id, ts_us, importance, body),
        )
        return True

    def get(self, entry_id: str) -> Optional[StoreRow]:
        row = self.c.execute(
            "SELECT seq, id, ts_us, importance, body FROM entries WHERE id = ?", (entry_id,)
        ).fetchone()
        return StoreRow(*row) if row else None

    def count(self) -> int:
        return int(self.c.execute("SELECT value FROM counters WHERE name = 'entries'").fetchone()[0])

    def oldest_ts(self) -> Optional[int]:
        value = self.c.execute("SELECT min(ts_us) FROM entries").fetchone()[0]
        return None if value is None else int(value)

    def scan(self, after_seq: int, limit: int) -> List[StoreRow]:
        rows = self.c.execute(
            "SELECT seq, id, ts_us, importance, body FROM entries WHERE seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        ).fetchall()
        return [StoreRow(*row) for row in rows]

    def by_tag(self, tag: str, limit: int) -> List[StoreRow]:
        rows = self.c.execute(
            "SELECT e.seq, e.id, e.ts_us, e.importance, e.body FROM entry_tags t JOIN entries e ON e.seq = t.seq"
            " WHERE t.tag = ? ORDER BY t.seq LIMIT ?",
            (tag, limit),
        ).fetchall()
        return [StoreRow(*row) for row in rows]

    def settle(self, cutoff_us: int) -> int:
        return self.c.execute(
            "UPDATE entries SET settled = 1 WHERE settled = 0 AND ts_us < ?", (cutoff_us,)
        ).rowcount

    def age_victims(self, cutoff_us: int, pin_threshold: float, limit: int,
                    exclude: Optional[str]) -> List[StoreRow]:
        rows = self.c.execute(
            "SELECT seq, id, ts_us, importance, body FROM entries INDEXED BY entries_by_ts"
            " WHERE ts_us < ? AND importance <= ? AND id IS NOT ? ORDER BY ts_us LIMIT ?",
            (cutoff_us, pin_threshold, exclude, limit),
        ).fetchall()
        return [StoreRow(*row) for row in rows]

    def rank_victims(self, settled: bool, limit: int, exclude: Optional[str],
                     max_importance: Optional[float] = None) -> List[StoreRow]:
        # Literal conditions: SQLite uses a partial index only when the WHERE clause
        # visibly implies the index's own condition.
        index, flag = ("entries_rank_settled", 1) if settled else ("entries_rank_fresh", 0)
        ceiling = 2.0 if max_importance is None else max_importance
        sql = (f"SELECT seq, id, ts_us, importance, body FROM entries INDEXED BY {index}"
               f" WHERE settled = {flag} AND importance <= ? AND id IS NOT ?"
               " ORDER BY importance, ts_us, seq LIMIT ?")
        rows = self.c.execute(sql, (ceiling, exclude, limit)).fetchall()
        return [StoreRow(*row) for row in rows]

    def delete(self, entry_ids: Sequence[str]) -> int:
        removed = 0
        for chunk in _chunks(list(entry_ids)):
            marks = ",".join("?" * len(chunk))
            removed += self.c.execute(f"DELETE FROM entries WHERE id IN ({marks})", tuple(chunk)).rowcount
        return removed

    def delete_if_unchanged(self, entry_id: str, body: str) -> bool:
        return self.c.execute(
            "DELETE FROM entries WHERE id = ? AND body = ?", (entry_id, body)
        ).rowcount == 1

    def record_moves(self, token: str, archive_uid: str, entry_ids: Iterable[str]) -> None:
        self.c.executemany(
            "INSERT INTO moves (token, archive_uid, id) VALUES (?, ?, ?)",
            ((token, archive_uid, entry_id) for entry_id in entry_ids),
        )

    def moved_ids(self, token: str) -> List[str]:
        return [row[0] for row in self.c.execute("SELECT id FROM moves WHERE token = ?", (token,))]

    def move_tokens(self, archive_uid: str) -> List[str]:
        return [row[0] for row in self.c.execute(
            "SELECT DISTINCT token FROM moves WHERE archive_uid = ?", (archive_uid,)
        )]

    def forget_moves(self, token: str) -> None:
        self.c.execute("DELETE FROM moves WHERE token = ?", (token,))


class SQLiteStoreBackend(StoreBackend):
    """The store in one SQLite file, or in a private in-memory database (``path=None``)."""

    def __init__(self, path: Optional[str], *, busy_timeout: float = 30.0, durable: bool = False) -> None:
        self.location = None if path is None else os.path.abspath(path)
        self._db = _Database(
            self.location or ":memory:",
            application_id=STORE_APPLICATION_ID,
            version=STORE_SCHEMA_VERSION,
            schema=_STORE_SCHEMA,
            migrations=_STORE_MIGRATIONS,
            busy_timeout=busy_timeout,
            durable=durable,
        )

    @contextmanager
    def write(self) -> Iterator[StoreTransaction]:
        with self._db.transaction(immediate=True) as conn:
            yield _SQLiteStoreTx(conn)

    @contextmanager
    def read(self) -> Iterator[StoreTransaction]:
        with self._db.transaction(immediate=False) as conn:
            yield _SQLiteStoreTx(conn)

    @contextmanager
    def rehearse(self) -> Iterator[StoreTransaction]:
        with self._db.transaction(immediate=True, rollback=True) as conn:
            yield _SQLiteStoreTx(conn)

    def close(self) -> None:
        self._db.close()


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


def open_store_backend(path: Optional[str], *, busy_timeout: float, durable: bool,
                       url: Optional[str] = None) -> StoreBackend:
    """The backend for a store location: the one place that maps a location to a backend."""
    if url is not None:
        from memlint.runtime._postgres import PostgresStoreBackend

        return PostgresStoreBackend(url, busy_timeout=busy_timeout)
    return SQLiteStoreBackend(path, busy_timeout=busy_timeout, durable=durable)


def open_archive_backend(archive_dir: Optional[str], *, busy_timeout: float,
                         url: Optional[str] = None) -> ArchiveBackend:
    """The backend for an archive location (a directory, or a database URL)."""
    if url is not None:
        from memlint.runtime._postgres import PostgresArchiveBackend

        return PostgresArchiveBackend(url, busy_timeout=busy_timeout)
    assert archive_dir is not None
    return SQLiteArchiveBackend(os.path.join(archive_dir, "archive.sqlite3"), busy_timeout=busy_timeout)

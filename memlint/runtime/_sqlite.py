"""SQLite backend of the long-term memory store, and the connection both SQLite backends use.

The archive's backend is in ``_sqlite_archive``.

Choices, and why:

- WAL journal: readers never block the writer, and a killed process loses no committed
  transaction (``synchronous=NORMAL``; ``FULL`` when asked to survive power loss).
- Every write is ``BEGIN IMMEDIATE``: the write lock is taken up front, so two writers
  never interleave and never hit a read-to-write upgrade deadlock; waiting is left to
  SQLite's busy timeout.
- One connection per object, used by one thread at a time (a lock), so an object can be
  shared by threads; several objects or processes on one file coordinate through SQLite.
- Schemas carry ``PRAGMA application_id`` (what the file is) and ``PRAGMA user_version``
  (which layout, in ``_sqlite_schema``), checked on every open; a file from a newer
  memlint is refused.
- A store's cost on a file is mostly its commit, and the commit's cost grows with the
  pages it writes: the layout keeps a store to the B-trees it needs (the table, the id
  index, the rank index of its group), a namespace's count is written once per
  transaction with its net change (not by triggers, twice for a store past the bound),
  and the removal past the bound is one statement.
- A store past the bound is four statements (BEGIN, INSERT, DELETE, COMMIT): the DELETE
  checks the count itself when the memory was full at the last store, and none of them
  uses RETURNING, which SQLite runs as a trigger program (a third of a DELETE's cost).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from memlint.runtime._backend import Query, SchemaError, StoreBackend, StoreRow, StoreTransaction
from memlint.runtime._common import DEFAULT_NAMESPACE
from memlint.runtime._sqlite_connect import cannot_write, connect, error_naming_path, split_statements
from memlint.runtime._sqlite_schema import (  # noqa: F401 - STORE_* are imported from here too
    STORE_APPLICATION_ID,
    STORE_MIGRATIONS,
    STORE_SCHEMA,
    STORE_SCHEMA_VERSION,
)

logger = logging.getLogger(__name__)

# DELETE ... RETURNING (SQLite 3.35, 2021); older libraries look the row up first.
_HAS_RETURNING = sqlite3.sqlite_version_info >= (3, 35, 0)

# WAL pages between two automatic checkpoints: WAL_WINDOW_PER_PAGE times the database's
# pages (re-read every WAL_WINDOW_CHECK commits), at least SQLite's default (a small store
# keeps a small WAL) and at most WAL_CHECKPOINT_BYTES of pages.
WAL_WINDOW_PER_PAGE, WAL_MIN_CHECKPOINT_PAGES, WAL_WINDOW_CHECK = 4, 1_000, 1_000
WAL_CHECKPOINT_BYTES = 256 * 2**20
# The page size of a new store file (SQLite's default is 4096). A store writes about six
# pages per commit whatever their size (a leaf of each of three B-trees where the entry
# goes in, and where the evicted one leaves): smaller pages write, checksum and later
# checkpoint half the bytes. An existing file keeps its page size.
STORE_PAGE_SIZE = 2048
STORE_CACHE_KIB = 1024  # the page cache of a store's connection

# SQLite's limit on bound parameters is 32766 since 3.32 (999 before); stay well below.
_CHUNK = 500

def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


class _Database:
    """One SQLite connection with memlint's pragmas, a schema check and transactions."""

    def __init__(self, path: str, *, application_id: int, version: int, schema: str,
                 migrations: Dict[int, str], busy_timeout: float, durable: bool,
                 on_create: Optional[Callable[[sqlite3.Connection], None]] = None,
                 read_only: bool = False, page_size: Optional[int] = None) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._closed = False
        self._conn: Optional[sqlite3.Connection] = None
        self.wal_window = 0  # pages; 0 until set (never, in memory or read-only)
        self.commits_to_window_check = WAL_WINDOW_CHECK
        in_memory = path == ":memory:"
        if not in_memory and not read_only and cannot_write(path):
            read_only = True  # a read-only file or file system: it can still be read
        self.read_only = read_only
        if not in_memory and not read_only:
            folder = os.path.dirname(path)
            if folder:
                try:
                    os.makedirs(folder, exist_ok=True)
                except OSError as error:
                    raise type(error)(error.errno, f"cannot create the folder of {path}: {error.strerror}") from None
            if os.path.isfile(path) and os.path.getsize(path) == 0:
                # An empty file (touch, mkstemp) is what SQLite itself calls an empty
                # database: it becomes a new store, and the log says so.
                logger.warning("initialising the empty file %s as a new memlint database", path)
        try:
            # isolation_level=None: the module never opens transactions behind our back.
            self._conn = connect(path, busy_timeout, read_only)
            if read_only:
                self._check_readable(application_id, version)
            else:
                self._configure(busy_timeout, durable, page_size)
                self._check_schema(application_id, version, schema, migrations, on_create)
        except sqlite3.Error as error:
            self.close()
            raise error_naming_path(error, path) from error
        except BaseException:
            self.close()
            raise

    def _check_readable(self, application_id: int, version: int) -> None:
        with self.transaction(immediate=False) as conn:
            found_app, found_version, tables = self._schema_state(conn)
        if found_app != application_id or found_version != version:
            raise SchemaError(
                f"{self.path} (opened read-only) is not a memlint database of this kind and version "
                f"(application_id {found_app:#x}, version {found_version}; expected {application_id:#x}, "
                f"{version}); open it writable once to create or migrate it"
            )

    def _configure(self, busy_timeout: float, durable: bool, page_size: Optional[int]) -> None:
        conn = self.conn
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        if self.path != ":memory:":
            if page_size is not None:
                # Only a new (empty) file takes it: SQLite fixes the page size when it
                # writes the first page, and a WAL file never changes it afterwards.
                conn.execute(f"PRAGMA page_size = {int(page_size)}")
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
        if self.path != ":memory:":
            # A WAL checkpoint copies the last version of every page in the WAL to the
            # database and fsyncs both; SQLite's default (every 1,000 pages) made it most
            # of a small commit's cost. The longer the WAL, the more commits share a copy
            # of each page: each store writes random leaves of three B-trees, so a
            # checkpoint rewrites most of the database whatever the window, and a window
            # of four times the database's pages halves that per store compared with
            # twice (on a 100,000-entry store with 2 KiB pages, about 200 MB of WAL). The
            # WAL file keeps that size (no truncation and regrowth every cycle).
            # Durability is unchanged: it is set by `synchronous`.
            self.size_wal_window()

    def size_wal_window(self) -> int:
        """Set the WAL's checkpoint window from the database's size; returns it (pages)."""
        conn = self.conn
        pages, page_size = (conn.execute(f"PRAGMA {name}").fetchone()[0] for name in ("page_count", "page_size"))
        window = min(WAL_CHECKPOINT_BYTES // page_size, max(WAL_MIN_CHECKPOINT_PAGES, WAL_WINDOW_PER_PAGE * pages))
        if window != self.wal_window:
            conn.execute(f"PRAGMA wal_autocheckpoint = {window}")
            # Cut back only above the WAL's size at a checkpoint (frames of a page plus a
            # 24-byte header), or every cycle would truncate it and grow it again.
            conn.execute(f"PRAGMA journal_size_limit = {window * (page_size + 24) * 9 // 8}")
            self.wal_window = window
        self.commits_to_window_check = WAL_WINDOW_CHECK
        return window

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
                for statement in split_statements(schema):
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
                for statement in split_statements(migrations[found_version]):
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
        """Run the block in one transaction; commit unless it raised or ``rollback`` is set.

        SQLite's errors say what failed but not where: they are re-raised (same type)
        with the database's path in front.
        """
        if immediate and self.read_only and not rollback:
            raise PermissionError(f"{self.path} is open read-only")
        with self._lock:
            conn = self.conn
            if conn.in_transaction:
                raise RuntimeError(f"{self.path}: a transaction of this database is already open in this thread"
                                   " (inside LongTermMemory.batch()?)")
            done = False
            try:
                conn.execute("BEGIN IMMEDIATE" if immediate and not self.read_only else "BEGIN")
                yield conn
                if not rollback:
                    conn.execute("COMMIT")
                    done = True
            except sqlite3.Error as error:
                raise error_naming_path(error, self.path) from error
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


_ROW = "seq, id, ts_us, importance, body, expires_us, hits"
# Removal candidates: pruning never reads their body (see ``_backend``).
_VICTIM = "seq, id, ts_us, importance, '', expires_us, hits"


# The removal past the bound in one statement instead of three (is a batch due, which
# entry ranks least, delete it), deleting by rowid. ?1 namespace, ?2 the seq of the
# protected entry, ?3 the pin threshold. The protected entry is excluded by seq, which
# the rank indexes hold: finding the two group heads reads no table row.
_LEAST_RANKED_SEQ = (
    "SELECT seq FROM ("
    "SELECT * FROM (SELECT seq, importance, ts_us FROM entries INDEXED BY entries_rank_fresh"
    " WHERE ns = ?1 AND settled = 0 AND seq != ?2 ORDER BY importance, ts_us, seq LIMIT 1)"
    " UNION ALL SELECT * FROM (SELECT seq, importance, ts_us FROM entries INDEXED BY entries_rank_settled"
    " WHERE ns = ?1 AND settled = 1 AND seq != ?2 ORDER BY importance, ts_us, seq LIMIT 1))"
    " ORDER BY importance, ts_us, seq LIMIT 1"
)
_UNLESS_BATCH = (
    " AND NOT EXISTS (SELECT 1 FROM entries INDEXED BY entries_rank_settled"
    " WHERE ns = ?1 AND settled = 1 AND importance <= ?3 AND seq != ?2)"
)
# When no batch is due, every settled entry but the protected one is pinned (importance
# above ?3): a fresh head at or below ?3 then ranks first of all, and is found without
# comparing the two heads (which sorts them: about as much as the lookup itself).
_VICTIM_SEQ = (
    "coalesce((SELECT seq FROM entries INDEXED BY entries_rank_fresh WHERE ns = ?1 AND settled = 0"
    f" AND importance <= ?3 AND seq != ?2 ORDER BY importance, ts_us, seq LIMIT 1), ({_LEAST_RANKED_SEQ}))"
)
_REMOVE_LEAST_RANKED_UNLESS_BATCH = f"DELETE FROM entries WHERE seq = {_VICTIM_SEQ}{_UNLESS_BATCH}"
# The same, only when the stored count (?4: this transaction's change, not yet stored)
# is one over the bound (?5 = max_entries + 1): a store past the bound then needs no
# statement of its own to count. The count is checked before the heads are looked up.
_REMOVE_LEAST_RANKED_IF_ONE_OVER = (
    "DELETE FROM entries WHERE seq = (CASE WHEN (SELECT value FROM counters WHERE name = ?1) + ?4 = ?5"
    f" THEN {_VICTIM_SEQ} END){_UNLESS_BATCH}"
)


class _SQLiteStoreTx(StoreTransaction):
    """Store operations inside one transaction, all within the namespace ``ns``.

    ``added``: entries this transaction added less those it deleted, not yet in the
    ``counters`` table; ``flush_count`` writes it there before the commit (a write
    transaction excludes every other writer, so the stored count plus ``added`` is exact).
    """

    def __init__(self, conn: sqlite3.Connection, ns: str) -> None:
        self.c = conn
        self.ns = ns
        self.added = 0
        # The ``counters`` row as this transaction read it (``None``: not read yet). Only
        # ``flush_count`` writes it while the transaction lasts, so it is read once.
        self.counted: Optional[int] = None
        # The id and seq of the entry ``upsert`` wrote last: a store protects that entry
        # from its own pruning, and excluding it by seq keeps the removal within the
        # rank index (excluding by id reads a table row per candidate).
        self.last_id: Optional[str] = None
        self.last_seq = 0

    def flush_count(self) -> None:
        if self.added:
            self.c.execute(
                "INSERT INTO counters (name, value) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                (self.ns, self.added),
            )
            if self.counted is not None:
                self.counted += self.added
            self.added = 0

    def _rows(self, sql: str, params: Sequence[object]) -> List[StoreRow]:
        return [StoreRow(*row) for row in self.c.execute(sql, params).fetchall()]

    def upsert(self, entry_id: str, ts_us: int, importance: float, body: str,
               tags: Sequence[str] = (), expires_us: Optional[int] = None,
               slim: bool = False) -> Optional[bool]:
        # A new entry is one statement; a replacement is an UPDATE once the INSERT found
        # the id taken (so the count knows which it was; the triggers keep the tags).
        # No RETURNING: SQLite runs it as a trigger program, which costs more than the
        # cursor's lastrowid (the seq) and a separate count.
        cursor = self.c.execute(
            "INSERT INTO entries (ns, id, ts_us, importance, expires_us, body) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (ns, id) DO NOTHING",
            (self.ns, entry_id, ts_us, importance, expires_us, body),
        )
        if cursor.rowcount:
            self.added += 1
            self.last_id, self.last_seq = entry_id, cursor.lastrowid
            return True
        self.last_id = None
        self.c.execute(
            "UPDATE entries SET ts_us = ?, importance = ?, settled = 0, expires_us = ?, body = ?"
            " WHERE ns = ? AND id = ?",
            (ts_us, importance, expires_us, body, self.ns, entry_id),
        )
        return False

    def rewrite(self, entry_id: str, importance: float, body: str, tags: Sequence[str],
                expires_us: Optional[int]) -> bool:
        return self.c.execute(
            "UPDATE entries SET importance = ?, expires_us = ?, body = ? WHERE ns = ? AND id = ?",
            (importance, expires_us, body, self.ns, entry_id),
        ).rowcount == 1

    def get(self, entry_id: str) -> Optional[StoreRow]:
        rows = self._rows(f"SELECT {_ROW} FROM entries WHERE ns = ? AND id = ?", (self.ns, entry_id))
        return rows[0] if rows else None

    def touch(self, entry_id: str) -> None:
        self.c.execute("UPDATE entries SET hits = hits + 1 WHERE ns = ? AND id = ?", (self.ns, entry_id))

    def count(self) -> int:
        if self.counted is None:
            row = self.c.execute("SELECT value FROM counters WHERE name = ?", (self.ns,)).fetchone()
            self.counted = 0 if row is None else int(row[0])
        return self.counted + self.added

    def oldest_ts(self) -> Optional[int]:
        # The settled entries' minimum is the head of their time index; the fresh ones
        # (a grace period's worth, unless nothing has settled them) are read from their
        # rank index, which holds ts_us.
        value = self.c.execute(
            "SELECT min(oldest) FROM (SELECT min(ts_us) AS oldest FROM entries INDEXED BY entries_settled_by_ts"
            " WHERE ns = ?1 AND settled = 1 UNION ALL SELECT min(ts_us) FROM entries INDEXED BY entries_rank_fresh"
            " WHERE ns = ?1 AND settled = 0)",
            (self.ns,),
        ).fetchone()[0]
        return None if value is None else int(value)

    def scan(self, after_seq: int, limit: int) -> List[StoreRow]:
        return self._rows(
            f"SELECT {_ROW} FROM entries WHERE ns = ? AND seq > ? ORDER BY seq LIMIT ?",
            (self.ns, after_seq, limit),
        )

    def query(self, query: Query, offset: int, limit: Optional[int]) -> List[StoreRow]:
        where = ["ns = ?"]
        params: List[object] = [self.ns]
        for tag in query.tags:
            where.append("seq IN (SELECT seq FROM entry_tags WHERE tag = ?)")
            params.append(tag)
        for column, operator, value in (("ts_us", ">=", query.since_us), ("ts_us", "<", query.until_us),
                                        ("importance", ">=", query.min_importance),
                                        ("importance", "<=", query.max_importance)):
            if value is not None:
                where.append(f"{column} {operator} ?")
                params.append(value)
        if query.now_us is not None:
            where.append("(expires_us IS NULL OR expires_us > ?)")
            params.append(query.now_us)
        params.extend((-1 if limit is None else limit, offset))
        return self._rows(
            f"SELECT {_ROW} FROM entries WHERE {' AND '.join(where)} ORDER BY seq LIMIT ? OFFSET ?", params
        )

    def settle(self, cutoff_us: int) -> int:
        return self.c.execute(
            "UPDATE entries INDEXED BY entries_rank_fresh SET settled = 1 WHERE ns = ? AND settled = 0 AND ts_us < ?",
            (self.ns, cutoff_us),
        ).rowcount

    def age_victims(self, cutoff_us: int, pin_threshold: float, limit: int,
                    exclude: Optional[str]) -> List[StoreRow]:
        # Only settled entries are indexed by time: the age cutoff is never later than
        # the grace cutoff that ``settle`` applied earlier in this transaction.
        return self._rows(
            f"SELECT {_VICTIM} FROM entries INDEXED BY entries_settled_by_ts WHERE ns = ? AND settled = 1"
            " AND ts_us < ? AND importance <= ? AND id IS NOT ? ORDER BY ts_us LIMIT ?",
            (self.ns, cutoff_us, pin_threshold, exclude, limit),
        )

    def expired(self, now_us: int, limit: int, exclude: Optional[str]) -> List[StoreRow]:
        return self._rows(
            f"SELECT {_VICTIM} FROM entries INDEXED BY entries_expiry WHERE ns = ? AND expires_us IS NOT NULL"
            " AND expires_us <= ? AND id IS NOT ? ORDER BY expires_us LIMIT ?",
            (self.ns, now_us, exclude, limit),
        )

    def rank_victims(self, settled: bool, limit: int, exclude: Optional[str],
                     max_importance: Optional[float] = None) -> List[StoreRow]:
        # Literal conditions: SQLite uses a partial index only when the WHERE clause
        # visibly implies the index's own condition.
        index, flag = ("entries_rank_settled", 1) if settled else ("entries_rank_fresh", 0)
        ceiling = 2.0 if max_importance is None else max_importance
        return self._rows(
            f"SELECT {_VICTIM} FROM entries INDEXED BY {index}"
            f" WHERE ns = ? AND settled = {flag} AND importance <= ? AND id IS NOT ?"
            " ORDER BY importance, ts_us, seq LIMIT ?",
            (self.ns, ceiling, exclude, limit),
        )

    def least_ranked(self, exclude: Optional[str]) -> Optional[StoreRow]:
        # The head of each group's rank index, and the first of the two: one statement.
        rows = self._rows(
            f"SELECT * FROM (SELECT {_VICTIM} FROM entries INDEXED BY entries_rank_fresh"
            " WHERE ns = ?1 AND settled = 0 AND id IS NOT ?2 ORDER BY importance, ts_us, seq LIMIT 1)"
            f" UNION ALL SELECT * FROM (SELECT {_VICTIM} FROM entries INDEXED BY entries_rank_settled"
            " WHERE ns = ?1 AND settled = 1 AND id IS NOT ?2 ORDER BY importance, ts_us, seq LIMIT 1)"
            " ORDER BY 4, 3, 1 LIMIT 1",
            (self.ns, exclude),
        )
        return rows[0] if rows else None

    def _seq_of(self, exclude: Optional[str]) -> int:
        """The seq of the protected entry (0, which no entry has, for none)."""
        if exclude is None:
            return 0
        if exclude == self.last_id:
            return self.last_seq
        found = self.c.execute("SELECT seq FROM entries WHERE ns = ? AND id = ?", (self.ns, exclude)).fetchone()
        return 0 if found is None else int(found[0])

    def remove_least_ranked_unless_batch(self, exclude: Optional[str],
                                         pin_threshold: float) -> Optional[StoreRow]:
        if not _HAS_RETURNING:
            return super().remove_least_ranked_unless_batch(exclude, pin_threshold)
        rows = self._rows(_REMOVE_LEAST_RANKED_UNLESS_BATCH + f" RETURNING {_VICTIM}",
                          (self.ns, self._seq_of(exclude), pin_threshold))
        if not rows:
            return None
        self.added -= 1
        return rows[0]

    def drop_least_ranked_unless_batch(self, exclude: Optional[str], pin_threshold: float) -> bool:
        # What a store past the bound runs: no RETURNING (a store does not report what it
        # removed, and SQLite runs RETURNING as a trigger program: a third of the cost).
        if self.c.execute(_REMOVE_LEAST_RANKED_UNLESS_BATCH,
                          (self.ns, self._seq_of(exclude), pin_threshold)).rowcount:
            self.added -= 1
            return True
        return False

    def drop_least_ranked_if_one_over(self, exclude: Optional[str], pin_threshold: float,
                                      max_entries: int) -> bool:
        if self.c.execute(_REMOVE_LEAST_RANKED_IF_ONE_OVER,
                          (self.ns, self._seq_of(exclude), pin_threshold, self.added, max_entries + 1)).rowcount:
            self.added -= 1
            return True
        return False

    def delete(self, entry_ids: Sequence[str]) -> int:
        # rowcount counts the rows the statement itself deleted (not the triggers' tag rows).
        if len(entry_ids) == 1:
            removed = self.c.execute(
                "DELETE FROM entries WHERE ns = ? AND id = ?", (self.ns, entry_ids[0])
            ).rowcount
        else:
            removed = 0
            for chunk in _chunks(list(entry_ids)):
                marks = ",".join("?" * len(chunk))
                removed += self.c.execute(
                    f"DELETE FROM entries WHERE ns = ? AND id IN ({marks})", (self.ns, *chunk)
                ).rowcount
        self.added -= removed
        return removed

    def delete_if_unchanged(self, entry_id: str, body: str) -> bool:
        removed = self.c.execute(
            "DELETE FROM entries WHERE ns = ? AND id = ? AND body = ?", (self.ns, entry_id, body)
        ).rowcount
        self.added -= removed
        return removed == 1

    def clear(self) -> int:
        removed = self.c.execute("DELETE FROM entries WHERE ns = ?", (self.ns,)).rowcount
        self.added -= removed
        return removed

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


class _Writing:
    """``with backend.write() as tx``: ``_Database.transaction(immediate=True)`` as a class,
    since every store pays for its context manager (a generator costs two more frames)."""

    __slots__ = ("db", "ns", "tx")

    def __init__(self, db: _Database, ns: str) -> None:
        self.db = db
        self.ns = ns
        self.tx: Optional[_SQLiteStoreTx] = None

    def __enter__(self) -> _SQLiteStoreTx:
        db = self.db
        if db.read_only:
            raise PermissionError(f"{db.path} is open read-only")
        db._lock.acquire()
        try:
            conn = db.conn
            if conn.in_transaction:
                raise RuntimeError(f"{db.path}: a transaction of this store is already open in this thread"
                                   " (inside LongTermMemory.batch()?)")
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            db._lock.release()
            raise error_naming_path(error, db.path) from error
        except BaseException:
            db._lock.release()
            raise
        self.tx = tx = _SQLiteStoreTx(conn, self.ns)
        return tx

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        db = self.db
        conn = db.conn
        done = False
        try:
            if kind is None:
                self.tx.flush_count()  # type: ignore[union-attr]
                conn.execute("COMMIT")
                done = True
                db.commits_to_window_check -= 1
                if db.commits_to_window_check <= 0 and db.wal_window:
                    db.size_wal_window()
        except sqlite3.Error as error:
            raise error_naming_path(error, db.path) from error
        finally:
            self.tx = None
            try:
                if not done and conn.in_transaction:
                    conn.execute("ROLLBACK")
            finally:
                db._lock.release()
        if isinstance(value, sqlite3.Error):
            raise error_naming_path(value, db.path) from value


class SQLiteStoreBackend(StoreBackend):
    """The store in one SQLite file; ``namespace`` selects one memory among those it holds."""

    def __init__(self, path: str, *, busy_timeout: float = 30.0, durable: bool = False,
                 namespace: str = DEFAULT_NAMESPACE, read_only: bool = False) -> None:
        self.location = os.path.abspath(path)
        self.namespace = namespace
        self._db = _Database(
            self.location,
            application_id=STORE_APPLICATION_ID,
            version=STORE_SCHEMA_VERSION,
            schema=STORE_SCHEMA,
            migrations=STORE_MIGRATIONS,
            busy_timeout=busy_timeout,
            durable=durable,
            read_only=read_only,
            page_size=STORE_PAGE_SIZE,
        )
        # SQLite's default page cache is 2 MiB; a store reads random leaves, so a cache of
        # half of that measured the same time per store, and 1.2 MB less peak RSS (which
        # pays for the longer WAL's index).
        self._db.conn.execute(f"PRAGMA cache_size = -{STORE_CACHE_KIB}")
        self.read_only = self._db.read_only

    def write(self) -> "_Writing":
        return _Writing(self._db, self.namespace)

    @contextmanager
    def read(self) -> Iterator[StoreTransaction]:
        with self._db.transaction(immediate=False) as conn:
            yield _SQLiteStoreTx(conn, self.namespace)

    @contextmanager
    def rehearse(self) -> Iterator[StoreTransaction]:
        with self._db.transaction(immediate=True, rollback=True) as conn:
            yield _SQLiteStoreTx(conn, self.namespace)

    def close(self) -> None:
        self._db.close()


def open_store_backend(path: Optional[str], *, busy_timeout: float, durable: bool,
                       url: Optional[str] = None, namespace: str = DEFAULT_NAMESPACE,
                       read_only: bool = False) -> StoreBackend:
    """The backend for a store location: the one place that maps a location to a backend."""
    if url is not None:
        from memlint.runtime._postgres import PostgresStoreBackend

        return PostgresStoreBackend(url, busy_timeout=busy_timeout, namespace=namespace)
    if path is None:
        from memlint.runtime._memstore import MemoryStoreBackend

        return MemoryStoreBackend()
    return SQLiteStoreBackend(path, busy_timeout=busy_timeout, durable=durable, namespace=namespace,
                              read_only=read_only)

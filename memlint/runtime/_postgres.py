"""PostgreSQL backends of the store and the archive (psycopg 3, pooled): ``url=``.

For many agent workers on many machines sharing one memory. Choices, and why:

- One pool per object (``psycopg_pool``), opened in the constructor and closed by
  ``close()``; every transaction borrows a connection and returns it on every path.
- Entries are JSONB; the indexes mirror the SQLite ones (pruning order per group as
  partial indexes, the age bound on the stored time) plus a GIN index on the tags.
- Writers do not serialize: inserts from every replica proceed while a prune runs. Only
  one pruner runs at a time (``pg_try_advisory_xact_lock``: a store that finds a prune
  under way leaves it to that one), victims are taken with ``FOR UPDATE SKIP LOCKED``,
  and the pruner re-reads the fleet-wide count until it is within the bound. The count
  lives in sharded counter rows (one shard per backend process id modulo 16), so that
  inserts do not queue on one row.
- Schemas are created and migrated under an advisory lock and versioned in
  ``memlint_schema``; a database from a newer memlint is refused.
- A move from a store into an archive on the same database is one transaction.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from contextlib import contextmanager
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple
from urllib.parse import urlsplit, urlunsplit

from memlint.runtime._backend import (
    ArchiveBackend,
    ArchiveRow,
    ArchiveTransaction,
    Query,
    SchemaError,
    StoreBackend,
    StoreRow,
    StoreTransaction,
)

STORE_SCHEMA_VERSION = 2
ARCHIVE_SCHEMA_VERSION = 1
_SHARDS = 16

_STORE_SCHEMA = [
    """CREATE TABLE memlint_entries (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        ts_us BIGINT NOT NULL,
        importance DOUBLE PRECISION NOT NULL,
        settled BOOLEAN NOT NULL DEFAULT FALSE,
        body JSONB NOT NULL)""",
    "CREATE INDEX memlint_entries_by_ts ON memlint_entries (ts_us)",
    "CREATE INDEX memlint_entries_fresh ON memlint_entries (ts_us) WHERE NOT settled",
    "CREATE INDEX memlint_entries_rank_settled ON memlint_entries (importance, ts_us, seq) WHERE settled",
    "CREATE INDEX memlint_entries_rank_fresh ON memlint_entries (importance, ts_us, seq) WHERE NOT settled",
    "CREATE INDEX memlint_entries_tags ON memlint_entries USING GIN ((body -> 'tags'))",
    "CREATE TABLE memlint_counters (shard INTEGER PRIMARY KEY, value BIGINT NOT NULL)",
    f"INSERT INTO memlint_counters SELECT g, 0 FROM generate_series(0, {_SHARDS - 1}) AS g",
    """CREATE TABLE memlint_moves (
        token TEXT NOT NULL, archive_uid TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (token, id))""",
]

_ARCHIVE_SCHEMA = [
    "CREATE TABLE memlint_archive_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE memlint_archived (
        id TEXT PRIMARY KEY,
        archived_us BIGINT NOT NULL,
        original_ts TEXT,
        importance DOUBLE PRECISION,
        tags JSONB NOT NULL,
        checksum TEXT NOT NULL,
        codec TEXT NOT NULL,
        size INTEGER NOT NULL,
        payload BYTEA NOT NULL)""",
    "CREATE INDEX memlint_archived_by_time ON memlint_archived (archived_us)",
    "CREATE INDEX memlint_archived_tags ON memlint_archived USING GIN (tags)",
    """CREATE TABLE memlint_staged (
        token TEXT NOT NULL, source TEXT NOT NULL, created_us BIGINT NOT NULL, id TEXT NOT NULL,
        original_ts TEXT, importance DOUBLE PRECISION, tags JSONB NOT NULL, checksum TEXT NOT NULL,
        codec TEXT NOT NULL, size INTEGER NOT NULL, payload BYTEA NOT NULL, PRIMARY KEY (token, id))""",
    "CREATE INDEX memlint_staged_by_id ON memlint_staged (id)",
]

# Version 2: namespaces (separate memories in one database, each with its own bound),
# per-entry ttl and access counts. A new database gets version 1, then this.
_STORE_V1_TO_V2 = [
    "ALTER TABLE memlint_entries ADD COLUMN ns TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE memlint_entries ADD COLUMN expires_us BIGINT",
    "ALTER TABLE memlint_entries ADD COLUMN hits BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE memlint_entries DROP CONSTRAINT memlint_entries_id_key",
    "ALTER TABLE memlint_entries ADD CONSTRAINT memlint_entries_ns_id_key UNIQUE (ns, id)",
    "DROP INDEX memlint_entries_by_ts",
    "DROP INDEX memlint_entries_fresh",
    "DROP INDEX memlint_entries_rank_settled",
    "DROP INDEX memlint_entries_rank_fresh",
    "CREATE INDEX memlint_entries_by_ts ON memlint_entries (ns, ts_us)",
    "CREATE INDEX memlint_entries_fresh ON memlint_entries (ns, ts_us) WHERE NOT settled",
    "CREATE INDEX memlint_entries_rank_settled ON memlint_entries (ns, importance, ts_us, seq) WHERE settled",
    "CREATE INDEX memlint_entries_rank_fresh ON memlint_entries (ns, importance, ts_us, seq) WHERE NOT settled",
    "CREATE INDEX memlint_entries_expiry ON memlint_entries (ns, expires_us) WHERE expires_us IS NOT NULL",
    "ALTER TABLE memlint_counters ADD COLUMN ns TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE memlint_counters DROP CONSTRAINT memlint_counters_pkey",
    "ALTER TABLE memlint_counters ADD PRIMARY KEY (ns, shard)",
]

_MIGRATIONS: Dict[Tuple[str, int], List[str]] = {("store", 1): _STORE_V1_TO_V2}  # (component, from version)


def _key(name: str) -> int:
    """A stable 64-bit advisory lock key for ``name`` (never ``hash()``: it differs per process)."""
    return int.from_bytes(hashlib.sha256(f"memlint:{name}".encode()).digest()[:8], "big", signed=True)


_SCHEMA_LOCK = _key("schema")
_PRUNE_LOCK = _key("prune")
_MOVE_LOCK = _key("archive-move")


def is_postgres_url(url: str) -> bool:
    return urlsplit(url).scheme in ("postgresql", "postgres")


def redact(url: str) -> str:
    """The URL without its password, for messages and ``repr``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ""
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def _driver() -> Any:
    try:
        import psycopg
        import psycopg_pool
    except ImportError as error:
        raise ImportError(
            "the PostgreSQL backend (url='postgresql://...') needs psycopg 3 and psycopg-pool: "
            "pip install 'memlint[postgres]'"
        ) from error
    return psycopg, psycopg_pool



class _Pool:
    """A small connection pool; ``transaction()`` lends one connection for one transaction."""

    def __init__(self, url: str, *, timeout: float, size: int = 4) -> None:
        if not isinstance(url, str) or not is_postgres_url(url):
            raise ValueError(f"not a PostgreSQL URL (postgresql://...): {url!r}")
        psycopg, psycopg_pool = _driver()
        self.url = url
        self._lock = threading.Lock()
        self._closed = False
        # One direct connection first: a pool retries a refused connection until its
        # timeout and then says only "PoolTimeout"; the server's own message (a missing
        # database, a bad password) is what the caller needs, at once.
        try:
            psycopg.connect(url, connect_timeout=max(1, int(timeout))).close()
        except psycopg.OperationalError as error:
            raise ConnectionError(f"cannot connect to {redact(url)}: {str(error).strip()}") from None
        self._pool: Any = psycopg_pool.ConnectionPool(
            url, min_size=1, max_size=size, open=False, timeout=max(timeout, 1.0),
            kwargs={"autocommit": True}, name="memlint",
        )
        try:
            self._pool.open(wait=True, timeout=max(timeout, 1.0))
            with self._pool.connection() as conn:
                info = conn.info
                self.identity = (info.host, info.port, info.dbname)
        except BaseException:
            self._pool.close()
            raise

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"the database connection pool for {redact(self.url)} is closed")

    @contextmanager
    def transaction(self, rollback: bool = False) -> Iterator[Any]:
        self._check_open()
        with self._pool.connection() as conn:
            with conn.transaction(force_rollback=rollback):
                yield conn

    @contextmanager
    def session(self) -> Iterator[Any]:
        """One connection outside any transaction (for session-level advisory locks)."""
        self._check_open()
        with self._pool.connection() as conn:
            yield conn

    def ensure_schema(self, component: str, version: int, statements: Sequence[str]) -> None:
        with self.transaction() as conn:
            # Replicas that start together must not race to create the same tables.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS memlint_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
            row = conn.execute("SELECT version FROM memlint_schema WHERE component = %s", (component,)).fetchone()
            if row is None:
                # The first layout, then every migration: one path to each version.
                for statement in statements:
                    conn.execute(statement)
                first = 1
                conn.execute("INSERT INTO memlint_schema (component, version) VALUES (%s, %s)", (component, first))
                row = (first,)
            found = int(row[0])
            if found > version:
                raise SchemaError(
                    f"{redact(self.url)} has {component} schema version {found}, newer than this memlint "
                    f"supports ({version}); upgrade memlint"
                )
            while found < version:
                for statement in _MIGRATIONS[(component, found)]:
                    conn.execute(statement)
                found += 1
                conn.execute("UPDATE memlint_schema SET version = %s WHERE component = %s", (found, component))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._pool.close()

    def __enter__(self) -> "_Pool":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _rows(cursor: Any) -> List[StoreRow]:
    return [StoreRow(int(r[0]), r[1], int(r[2]), float(r[3]), r[4], None if r[5] is None else int(r[5]), int(r[6]))
            for r in cursor.fetchall()]


_COLUMNS = "seq, id, ts_us, importance, body::text, expires_us, hits"


class _PostgresStoreTx(StoreTransaction):
    """Store operations inside one transaction, all within the namespace ``ns``."""

    def __init__(self, conn: Any, ns: str = "") -> None:
        self.c = conn
        self.ns = ns

    def _add_count(self, delta: int) -> None:
        if delta:
            self.c.execute(
                "INSERT INTO memlint_counters (ns, shard, value) VALUES (%s, pg_backend_pid() %% "
                f"{_SHARDS}, %s) ON CONFLICT (ns, shard) DO UPDATE SET value = memlint_counters.value + EXCLUDED.value",
                (self.ns, delta),
            )

    def _select(self, where: str, params: Sequence[Any], tail: str = "") -> List[StoreRow]:
        return _rows(self.c.execute(f"SELECT {_COLUMNS} FROM memlint_entries WHERE ns = %s AND {where} {tail}",
                                    (self.ns, *params)))

    def upsert(self, entry_id: str, ts_us: int, importance: float, body: str,
               tags: Sequence[str] = (), expires_us: Optional[int] = None,
               slim: bool = False) -> bool:
        inserted = self.c.execute(
            "INSERT INTO memlint_entries (ns, id, ts_us, importance, settled, expires_us, body)"
            " VALUES (%s, %s, %s, %s, FALSE, %s, %s::jsonb)"
            " ON CONFLICT (ns, id) DO UPDATE SET ts_us = EXCLUDED.ts_us, importance = EXCLUDED.importance,"
            " settled = FALSE, expires_us = EXCLUDED.expires_us, body = EXCLUDED.body RETURNING (xmax = 0)",
            (self.ns, entry_id, ts_us, importance, expires_us, body),
        ).fetchone()[0]
        if inserted:
            self._add_count(1)
        return bool(inserted)

    def rewrite(self, entry_id: str, importance: float, body: str, tags: Sequence[str],
                expires_us: Optional[int]) -> bool:
        return int(self.c.execute(
            "UPDATE memlint_entries SET importance = %s, expires_us = %s, body = %s::jsonb WHERE ns = %s AND id = %s",
            (importance, expires_us, body, self.ns, entry_id),
        ).rowcount) == 1

    def get(self, entry_id: str) -> Optional[StoreRow]:
        rows = self._select("id = %s", (entry_id,))
        return rows[0] if rows else None

    def touch(self, entry_id: str) -> None:
        self.c.execute("UPDATE memlint_entries SET hits = hits + 1 WHERE ns = %s AND id = %s", (self.ns, entry_id))

    def count(self) -> int:
        return int(self.c.execute(
            "SELECT coalesce(sum(value), 0) FROM memlint_counters WHERE ns = %s", (self.ns,)
        ).fetchone()[0])

    def oldest_ts(self) -> Optional[int]:
        value = self.c.execute("SELECT min(ts_us) FROM memlint_entries WHERE ns = %s", (self.ns,)).fetchone()[0]
        return None if value is None else int(value)

    def scan(self, after_seq: int, limit: int) -> List[StoreRow]:
        return self._select("seq > %s", (after_seq,), "ORDER BY seq LIMIT %s" % int(limit))

    def query(self, query: Query, offset: int, limit: Optional[int]) -> List[StoreRow]:
        where = ["TRUE"]
        params: List[Any] = []
        if query.tags:
            # jsonb containment (@>) is served by the GIN index on body -> 'tags'.
            where.append("body -> 'tags' @> %s::jsonb")
            params.append(json.dumps(list(query.tags)))
        for column, operator, value in (("ts_us", ">=", query.since_us), ("ts_us", "<", query.until_us),
                                        ("importance", ">=", query.min_importance),
                                        ("importance", "<=", query.max_importance)):
            if value is not None:
                where.append(f"{column} {operator} %s")
                params.append(value)
        if query.now_us is not None:
            where.append("(expires_us IS NULL OR expires_us > %s)")
            params.append(query.now_us)
        params.extend((limit, offset))
        return self._select(" AND ".join(where), params, "ORDER BY seq LIMIT %s OFFSET %s")

    def settle(self, cutoff_us: int) -> int:
        return int(self.c.execute(
            "UPDATE memlint_entries SET settled = TRUE WHERE ns = %s AND NOT settled AND ts_us < %s",
            (self.ns, cutoff_us),
        ).rowcount)

    def try_lock_pruning(self, wait: bool = False) -> bool:
        # One pruner per namespace: each namespace has its own bound.
        key = _key("prune:" + self.ns) if self.ns else _PRUNE_LOCK
        if wait:
            self.c.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
            return True
        return bool(self.c.execute("SELECT pg_try_advisory_xact_lock(%s)", (key,)).fetchone()[0])

    def age_victims(self, cutoff_us: int, pin_threshold: float, limit: int,
                    exclude: Optional[str]) -> List[StoreRow]:
        return self._select("ts_us < %s AND importance <= %s AND id IS DISTINCT FROM %s",
                            (cutoff_us, pin_threshold, exclude, limit),
                            "ORDER BY ts_us LIMIT %s FOR UPDATE SKIP LOCKED")

    def expired(self, now_us: int, limit: int, exclude: Optional[str]) -> List[StoreRow]:
        return self._select("expires_us IS NOT NULL AND expires_us <= %s AND id IS DISTINCT FROM %s",
                            (now_us, exclude, limit), "ORDER BY expires_us LIMIT %s FOR UPDATE SKIP LOCKED")

    def rank_victims(self, settled: bool, limit: int, exclude: Optional[str],
                     max_importance: Optional[float] = None) -> List[StoreRow]:
        group = "settled" if settled else "NOT settled"
        ceiling = 2.0 if max_importance is None else max_importance
        return self._select(f"{group} AND importance <= %s AND id IS DISTINCT FROM %s", (ceiling, exclude, limit),
                            "ORDER BY importance, ts_us, seq LIMIT %s FOR UPDATE SKIP LOCKED")

    def delete(self, entry_ids: Sequence[str]) -> int:
        if not entry_ids:
            return 0
        removed = int(self.c.execute("DELETE FROM memlint_entries WHERE ns = %s AND id = ANY(%s)",
                                     (self.ns, list(entry_ids))).rowcount)
        self._add_count(-removed)
        return removed

    def delete_if_unchanged(self, entry_id: str, body: str) -> bool:
        removed = int(self.c.execute(
            "DELETE FROM memlint_entries WHERE ns = %s AND id = %s AND body = %s::jsonb", (self.ns, entry_id, body)
        ).rowcount)
        self._add_count(-removed)
        return removed == 1

    def clear(self) -> int:
        removed = int(self.c.execute("DELETE FROM memlint_entries WHERE ns = %s", (self.ns,)).rowcount)
        self._add_count(-removed)
        return removed

    def record_moves(self, token: str, archive_uid: str, entry_ids: Iterable[str]) -> None:
        with self.c.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO memlint_moves (token, archive_uid, id) VALUES (%s, %s, %s)",
                [(token, archive_uid, entry_id) for entry_id in entry_ids],
            )

    def moved_ids(self, token: str) -> List[str]:
        return [r[0] for r in self.c.execute("SELECT id FROM memlint_moves WHERE token = %s", (token,)).fetchall()]

    def move_tokens(self, archive_uid: str) -> List[str]:
        return [r[0] for r in self.c.execute(
            "SELECT DISTINCT token FROM memlint_moves WHERE archive_uid = %s", (archive_uid,)
        ).fetchall()]

    def forget_moves(self, token: str) -> None:
        self.c.execute("DELETE FROM memlint_moves WHERE token = %s", (token,))


class PostgresStoreBackend(StoreBackend):
    """The store in a PostgreSQL database (tables ``memlint_*``)."""

    concurrent_writers = True

    def __init__(self, url: str, *, busy_timeout: float = 30.0, namespace: str = "") -> None:
        self.location = None  # not a file: archive moves go through ``atomic_move``
        self.namespace = namespace
        self.display = redact(url)
        self.pool = _Pool(url, timeout=busy_timeout)
        try:
            self.pool.ensure_schema("store", STORE_SCHEMA_VERSION, _STORE_SCHEMA)
        except BaseException:
            self.pool.close()
            raise

    def tx(self, conn: Any) -> "_PostgresStoreTx":
        return _PostgresStoreTx(conn, self.namespace)

    @contextmanager
    def write(self) -> Iterator[StoreTransaction]:
        with self.pool.transaction() as conn:
            yield self.tx(conn)

    @contextmanager
    def read(self) -> Iterator[StoreTransaction]:
        with self.pool.transaction() as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield self.tx(conn)

    @contextmanager
    def rehearse(self) -> Iterator[StoreTransaction]:
        with self.pool.transaction(rollback=True) as conn:
            yield self.tx(conn)

    def close(self) -> None:
        self.pool.close()


_ARCHIVE_COLUMNS = "id, archived_us, original_ts, importance, tags::text, checksum, codec, size, payload"


def _archive_rows(cursor: Any) -> List[ArchiveRow]:
    return [ArchiveRow(r[0], int(r[1]), r[2], r[3], r[4], r[5], r[6], int(r[7]), bytes(r[8]))
            for r in cursor.fetchall()]


class _PostgresArchiveTx(ArchiveTransaction):
    def __init__(self, conn: Any) -> None:
        self.c = conn

    def put(self, row: ArchiveRow) -> None:
        self.c.execute(
            "INSERT INTO memlint_archived (id, archived_us, original_ts, importance, tags, checksum, codec, size,"
            " payload) VALUES (%s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET"
            " archived_us = EXCLUDED.archived_us, original_ts = EXCLUDED.original_ts,"
            " importance = EXCLUDED.importance, tags = EXCLUDED.tags, checksum = EXCLUDED.checksum,"
            " codec = EXCLUDED.codec, size = EXCLUDED.size, payload = EXCLUDED.payload",
            tuple(row),
        )

    def get(self, entry_id: str) -> Optional[ArchiveRow]:
        rows = _archive_rows(self.c.execute(f"SELECT {_ARCHIVE_COLUMNS} FROM memlint_archived WHERE id = %s",
                                            (entry_id,)))
        return rows[0] if rows else None

    def ids(self) -> List[str]:
        return [r[0] for r in self.c.execute("SELECT id FROM memlint_archived ORDER BY id").fetchall()]

    def index(self) -> List[ArchiveRow]:
        return _archive_rows(self.c.execute(
            "SELECT id, archived_us, original_ts, importance, tags::text, checksum, codec, size, ''::bytea"
            " FROM memlint_archived ORDER BY archived_us, id"
        ))

    def totals(self) -> Tuple[int, int, int]:
        count, raw, stored = self.c.execute(
            "SELECT count(*), coalesce(sum(size), 0), coalesce(sum(length(payload)), 0) FROM memlint_archived"
        ).fetchone()
        return int(count), int(raw), int(stored)

    def delete_older(self, cutoff_us: int) -> int:
        return int(self.c.execute("DELETE FROM memlint_archived WHERE archived_us < %s", (cutoff_us,)).rowcount)

    def stage(self, token: str, source: str, created_us: int, rows: Sequence[ArchiveRow]) -> None:
        with self.c.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO memlint_staged (token, source, created_us, id, original_ts, importance, tags,"
                " checksum, codec, size, payload) VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s)"
                " ON CONFLICT (token, id) DO NOTHING",
                [(token, source, created_us, r.id, r.original_ts, r.importance, r.tags, r.checksum, r.codec,
                  r.size, r.payload) for r in rows],
            )

    def staged(self, entry_id: str) -> List[Tuple[str, str, ArchiveRow]]:
        rows = self.c.execute(
            "SELECT token, source, id, created_us, original_ts, importance, tags::text, checksum, codec, size,"
            " payload FROM memlint_staged WHERE id = %s", (entry_id,)
        ).fetchall()
        return [(r[0], r[1], ArchiveRow(r[2], int(r[3]), r[4], r[5], r[6], r[7], r[8], int(r[9]), bytes(r[10])))
                for r in rows]

    def staged_tokens(self) -> List[Tuple[str, str]]:
        return [(r[0], r[1]) for r in self.c.execute("SELECT DISTINCT token, source FROM memlint_staged").fetchall()]

    def staged_ids(self, token: str) -> List[str]:
        return [r[0] for r in self.c.execute("SELECT id FROM memlint_staged WHERE token = %s", (token,)).fetchall()]

    def publish(self, token: str, entry_ids: Sequence[str], archived_us: int) -> None:
        self.c.execute(
            "INSERT INTO memlint_archived (id, archived_us, original_ts, importance, tags, checksum, codec, size,"
            " payload) SELECT id, %s, original_ts, importance, tags, checksum, codec, size, payload"
            " FROM memlint_staged WHERE token = %s AND id = ANY(%s) ON CONFLICT (id) DO UPDATE SET"
            " archived_us = EXCLUDED.archived_us, original_ts = EXCLUDED.original_ts,"
            " importance = EXCLUDED.importance, tags = EXCLUDED.tags, checksum = EXCLUDED.checksum,"
            " codec = EXCLUDED.codec, size = EXCLUDED.size, payload = EXCLUDED.payload",
            (archived_us, token, list(entry_ids)),
        )
        self.c.execute("DELETE FROM memlint_staged WHERE token = %s", (token,))


class PostgresArchiveBackend(ArchiveBackend):
    """The archive index and payloads in a PostgreSQL database (tables ``memlint_*``)."""

    def __init__(self, url: str, *, busy_timeout: float = 30.0) -> None:
        self.location = None
        self.display = redact(url)
        self.pool = _Pool(url, timeout=busy_timeout)
        try:
            self.pool.ensure_schema("archive", ARCHIVE_SCHEMA_VERSION, _ARCHIVE_SCHEMA)
            with self.pool.transaction() as conn:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                conn.execute("INSERT INTO memlint_archive_meta (key, value) VALUES ('uid', %s)"
                             " ON CONFLICT (key) DO NOTHING", (uuid.uuid4().hex,))
                self.uid = str(conn.execute("SELECT value FROM memlint_archive_meta WHERE key = 'uid'").fetchone()[0])
        except BaseException:
            self.pool.close()
            raise

    @contextmanager
    def write(self) -> Iterator[ArchiveTransaction]:
        with self.pool.transaction() as conn:
            yield _PostgresArchiveTx(conn)

    @contextmanager
    def read(self) -> Iterator[ArchiveTransaction]:
        with self.pool.transaction() as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield _PostgresArchiveTx(conn)

    @contextmanager
    def mover_lock(self) -> Iterator[None]:
        """One mover per archive: a session advisory lock, dropped by the server if we die."""
        with self.pool.session() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (_MOVE_LOCK,))
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (_MOVE_LOCK,))

    def atomic_move(self, store: StoreBackend, rows: Sequence[StoreRow], packed: Sequence[ArchiveRow],
                    archived_us: int) -> Optional[List[str]]:
        """Delete ``rows`` from ``store`` and archive them in ONE transaction, if both live in
        this database; ``None`` otherwise."""
        if not isinstance(store, PostgresStoreBackend) or store.pool.identity != self.pool.identity:
            return None
        by_id = {row.id: row for row in packed}
        with self.pool.transaction() as conn:
            store_tx, archive_tx = store.tx(conn), _PostgresArchiveTx(conn)
            moved = [row.id for row in rows if store_tx.delete_if_unchanged(row.id, row.body)]
            for entry_id in moved:
                archive_tx.put(by_id[entry_id]._replace(archived_us=archived_us))
        return moved

    def close(self) -> None:
        self.pool.close()

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
import threading
import uuid
from contextlib import contextmanager
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple
from urllib.parse import urlsplit, urlunsplit

from memlint.runtime._backend import (
    ArchiveBackend,
    ArchiveRow,
    ArchiveTransaction,
    SchemaError,
    StoreBackend,
    StoreRow,
    StoreTransaction,
)

STORE_SCHEMA_VERSION = 1
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

_MIGRATIONS: Dict[Tuple[str, int], List[str]] = {}  # (component, from version) -> statements


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
        _, psycopg_pool = _driver()
        self.url = url
        self._lock = threading.Lock()
        self._closed = False
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
                for statement in statements:
                    conn.execute(statement)
                conn.execute("INSERT INTO memlint_schema (component, version) VALUES (%s, %s)", (component, version))
                return
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
    return [StoreRow(int(r[0]), r[1], int(r[2]), float(r[3]), r[4]) for r in cursor.fetchall()]


_COLUMNS = "seq, id, ts_us, importance, body::text"


class _PostgresStoreTx(StoreTransaction):
    def __init__(self, conn: Any) -> None:
        self.c = conn

    def _add_count(self, delta: int) -> None:
        if delta:
            self.c.execute(
                f"UPDATE memlint_counters SET value = value + %s WHERE shard = pg_backend_pid() %% {_SHARDS}",
                (delta,),
            )

    def upsert(self, entry_id: str, ts_us: int, importance: float, body: str) -> bool:
        inserted = self.c.execute(
            "INSERT INTO memlint_entries (id, ts_us, importance, settled, body) VALUES (%s, %s, %s, FALSE, %s::jsonb)"
            " ON CONFLICT (id) DO UPDATE SET ts_us = EXCLUDED.ts_us, importance = EXCLUDED.importance,"
            " settled = FALSE, body = EXCLUDED.body RETURNING (xmax = 0)",
            (entry_id, ts_us, importance, body),
        ).fetchone()[0]
        if inserted:
            self._add_count(1)
        return bool(inserted)

    def get(self, entry_id: str) -> Optional[StoreRow]:
        rows = _rows(self.c.execute(f"SELECT {_COLUMNS} FROM memlint_entries WHERE id = %s", (entry_id,)))
        return rows[0] if rows else None

    def count(self) -> int:
        return int(self.c.execute("SELECT coalesce(sum(value), 0) FROM memlint_counters").fetchone()[0])

    def oldest_ts(self) -> Optional[int]:
        value = self.c.execute("SELECT min(ts_us) FROM memlint_entries").fetchone()[0]
        return None if value is None else int(value)

    def scan(self, after_seq: int, limit: int) -> List[StoreRow]:
        return _rows(self.c.execute(
            f"SELECT {_COLUMNS} FROM memlint_entries WHERE seq > %s ORDER BY seq LIMIT %s", (after_seq, limit)
        ))

    def by_tag(self, tag: str, limit: int) -> List[StoreRow]:
        # jsonb "?" (has element) is served by the GIN index on body -> 'tags'.
        return _rows(self.c.execute(
            f"SELECT {_COLUMNS} FROM memlint_entries WHERE body -> 'tags' ? %s ORDER BY seq LIMIT %s", (tag, limit)
        ))

    def settle(self, cutoff_us: int) -> int:
        return int(self.c.execute(
            "UPDATE memlint_entries SET settled = TRUE WHERE NOT settled AND ts_us < %s", (cutoff_us,)
        ).rowcount)

    def try_lock_pruning(self, wait: bool = False) -> bool:
        if wait:
            self.c.execute("SELECT pg_advisory_xact_lock(%s)", (_PRUNE_LOCK,))
            return True
        return bool(self.c.execute("SELECT pg_try_advisory_xact_lock(%s)", (_PRUNE_LOCK,)).fetchone()[0])

    def age_victims(self, cutoff_us: int, pin_threshold: float, limit: int,
                    exclude: Optional[str]) -> List[StoreRow]:
        return _rows(self.c.execute(
            f"SELECT {_COLUMNS} FROM memlint_entries WHERE ts_us < %s AND importance <= %s"
            " AND id IS DISTINCT FROM %s ORDER BY ts_us LIMIT %s FOR UPDATE SKIP LOCKED",
            (cutoff_us, pin_threshold, exclude, limit),
        ))

    def rank_victims(self, settled: bool, limit: int, exclude: Optional[str],
                     max_importance: Optional[float] = None) -> List[StoreRow]:
        group = "settled" if settled else "NOT settled"
        ceiling = 2.0 if max_importance is None else max_importance
        return _rows(self.c.execute(
            f"SELECT {_COLUMNS} FROM memlint_entries WHERE {group} AND importance <= %s"
            " AND id IS DISTINCT FROM %s ORDER BY importance, ts_us, seq LIMIT %s FOR UPDATE SKIP LOCKED",
            (ceiling, exclude, limit),
        ))

    def delete(self, entry_ids: Sequence[str]) -> int:
        if not entry_ids:
            return 0
        removed = int(self.c.execute("DELETE FROM memlint_entries WHERE id = ANY(%s)", (list(entry_ids),)).rowcount)
        self._add_count(-removed)
        return removed

    def delete_if_unchanged(self, entry_id: str, body: str) -> bool:
        removed = int(self.c.execute(
            "DELETE FROM memlint_entries WHERE id = %s AND body = %s::jsonb", (entry_id, body)
        ).rowcount)
        self._add_count(-removed)
        return removed == 1

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

    def __init__(self, url: str, *, busy_timeout: float = 30.0) -> None:
        self.location = None  # not a file: archive moves go through ``atomic_move``
        self.display = redact(url)
        self.pool = _Pool(url, timeout=busy_timeout)
        try:
            self.pool.ensure_schema("store", STORE_SCHEMA_VERSION, _STORE_SCHEMA)
        except BaseException:
            self.pool.close()
            raise

    @contextmanager
    def write(self) -> Iterator[StoreTransaction]:
        with self.pool.transaction() as conn:
            yield _PostgresStoreTx(conn)

    @contextmanager
    def read(self) -> Iterator[StoreTransaction]:
        with self.pool.transaction() as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield _PostgresStoreTx(conn)

    @contextmanager
    def rehearse(self) -> Iterator[StoreTransaction]:
        with self.pool.transaction(rollback=True) as conn:
            yield _PostgresStoreTx(conn)

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
            store_tx, archive_tx = _PostgresStoreTx(conn), _PostgresArchiveTx(conn)
            moved = [row.id for row in rows if store_tx.delete_if_unchanged(row.id, row.body)]
            for entry_id in moved:
                archive_tx.put(by_id[entry_id]._replace(archived_us=archived_us))
        return moved

    def close(self) -> None:
        self.pool.close()


# -- LongTermMemoryIndex: entries and embeddings in the database ---------------------------

INDEX_SCHEMA_VERSION = 1

_INDEX_SCHEMA = [
    # Embeddings are stored unit-length and as float8: the portable path and the re-ranking
    # of pgvector candidates compute the same cosine as the in-memory index.
    """CREATE TABLE memlint_index_entries (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        body JSONB NOT NULL,
        embedding DOUBLE PRECISION[] NOT NULL CHECK (cardinality(embedding) > 0))""",
    "CREATE INDEX memlint_index_entries_tags ON memlint_index_entries USING GIN ((body -> 'tags'))",
]

_INDEX_LOCK = _key("index-write")


def _cosine(column: str) -> str:
    """SQL for the cosine of the unit vectors in ``column`` and ``%(q)s`` (a float8[])."""
    return f"(SELECT sum(e * q) FROM unnest({column}, %(q)s::float8[]) AS pair(e, q))"


# pgvector search takes a pool of candidates by pgvector's cosine distance (float4, in C),
# then ranks them exactly on the float8 embeddings, so that it answers like the portable
# scan. The pool is a few times top_k: to push a true neighbour out of it, that many
# entries would have to lie within float4 rounding of it.
# Exact mode scans; approximate mode takes the pool from the HNSW index (faster on large
# tables, but the index may miss a neighbour). Past _ANN_TOP_K the portable scan is used,
# since HNSW cannot return a larger pool (hnsw.ef_search is at most 1000).
_ANN_FACTOR = 4
_ANN_MIN_POOL = 100
_ANN_TOP_K = 250


class PostgresIndexBackend:
    """Rows of a ``LongTermMemoryIndex`` in PostgreSQL (table ``memlint_index_entries``).

    ``use_pgvector``: ``None`` uses the ``vector`` extension when it can be created or
    already exists; ``False`` always searches with the portable SQL scan (writes still
    keep a ``vector`` column filled if one exists, so other replicas can use it);
    ``True`` requires the extension. ``approximate``: with pgvector, take candidates from
    the HNSW index instead of a scan (see ``_ANN_FACTOR``).
    """

    def __init__(self, url: str, *, use_pgvector: Optional[bool] = None, approximate: bool = False,
                 busy_timeout: float = 30.0) -> None:
        self.display = redact(url)
        self.approximate = bool(approximate)
        self.pool = _Pool(url, timeout=busy_timeout)
        self._indexed_dimensions: Set[int] = set()
        try:
            self.pool.ensure_schema("index", INDEX_SCHEMA_VERSION, _INDEX_SCHEMA)
            if use_pgvector is False:
                self.vector_column = self._has_vector_column()
            else:
                self.vector_column = self._enable_pgvector()
            if use_pgvector and not self.vector_column:
                raise RuntimeError(
                    f"use_pgvector=True, but the pgvector extension ('vector') cannot be created in "
                    f"{self.display}: install it on the server (Debian: postgresql-NN-pgvector)"
                )
            #: True when searches use pgvector's cosine-distance operator and index.
            self.pgvector = bool(self.vector_column and use_pgvector is not False)
        except BaseException:
            self.pool.close()
            raise

    def _has_vector_column(self) -> bool:
        with self.pool.transaction() as conn:
            row = conn.execute(
                "SELECT 1 FROM pg_attribute WHERE attrelid = 'memlint_index_entries'::regclass"
                " AND attname = 'embedding_vector' AND NOT attisdropped"
            ).fetchone()
        return row is not None

    def _enable_pgvector(self) -> bool:
        with self.pool.transaction() as conn:
            available = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone()
        if available is None:
            return self._has_vector_column()
        psycopg, _ = _driver()
        try:
            with self.pool.transaction() as conn:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
                conn.execute("ALTER TABLE memlint_index_entries ADD COLUMN IF NOT EXISTS embedding_vector vector")
                # Rows written by a replica that opened before the column existed.
                conn.execute("UPDATE memlint_index_entries SET embedding_vector = embedding::vector"
                             " WHERE embedding_vector IS NULL")
        except psycopg.Error:
            # Typically no privilege to create extensions: the portable path serves.
            return self._has_vector_column()
        return True

    @staticmethod
    def _dimension(conn: Any) -> Optional[int]:
        row = conn.execute("SELECT cardinality(embedding) FROM memlint_index_entries LIMIT 1").fetchone()
        return None if row is None else int(row[0])

    def dimension(self) -> Optional[int]:
        with self.pool.transaction() as conn:
            return self._dimension(conn)

    def add(self, entry_id: str, body: str, vector: Sequence[float]) -> None:
        """Store ``body`` (JSON) and the unit ``vector`` under ``entry_id``, replacing it;
        ``ValueError`` if the index holds another dimension."""
        with self.pool.transaction() as conn:
            # Serializes writers, so that two replicas cannot add two dimensions at once.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_INDEX_LOCK,))
            held = self._dimension(conn)
            if held is not None and held != len(vector):
                raise ValueError(f"embedding has dimension {len(vector)}, but this index holds dimension {held}")
            # Delete, then insert: a replaced entry moves to the end, as in memory.
            conn.execute("DELETE FROM memlint_index_entries WHERE id = %s", (entry_id,))
            values = list(vector)
            if self.vector_column:
                conn.execute(
                    "INSERT INTO memlint_index_entries (id, body, embedding, embedding_vector)"
                    " VALUES (%s, %s::jsonb, %s::float8[], %s::float8[]::vector)",
                    (entry_id, body, values, values),
                )
                self._ensure_ann_index(conn, len(values))
            else:
                conn.execute(
                    "INSERT INTO memlint_index_entries (id, body, embedding) VALUES (%s, %s::jsonb, %s::float8[])",
                    (entry_id, body, values),
                )

    def _ensure_ann_index(self, conn: Any, dimension: int) -> None:
        """An HNSW cosine index for vectors of ``dimension`` (an index needs a fixed one)."""
        if dimension in self._indexed_dimensions:
            return
        psycopg, _ = _driver()
        n = int(dimension)
        try:
            with conn.transaction():  # a savepoint: a pgvector without HNSW keeps the add
                conn.execute(
                    f"CREATE INDEX IF NOT EXISTS memlint_index_cosine_{n} ON memlint_index_entries"
                    f" USING hnsw ((embedding_vector::vector({n})) vector_cosine_ops)"
                    f" WHERE vector_dims(embedding_vector) = {n}"
                )
        except psycopg.Error:
            return  # approximate searches then scan instead
        self._indexed_dimensions.add(n)

    def remove(self, entry_id: str) -> bool:
        with self.pool.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_INDEX_LOCK,))
            return int(conn.execute("DELETE FROM memlint_index_entries WHERE id = %s", (entry_id,)).rowcount) == 1

    def count(self) -> int:
        with self.pool.transaction() as conn:
            return int(conn.execute("SELECT count(*) FROM memlint_index_entries").fetchone()[0])

    def contains(self, entry_id: str) -> bool:
        with self.pool.transaction() as conn:
            return conn.execute("SELECT 1 FROM memlint_index_entries WHERE id = %s", (entry_id,)).fetchone() is not None

    def bodies(self) -> List[str]:
        with self.pool.transaction() as conn:
            return [r[0] for r in conn.execute("SELECT body::text FROM memlint_index_entries ORDER BY seq").fetchall()]

    def by_tag(self, tag: str) -> List[str]:
        with self.pool.transaction() as conn:
            return [r[0] for r in conn.execute(
                "SELECT body::text FROM memlint_index_entries WHERE body -> 'tags' ? %s ORDER BY seq", (tag,)
            ).fetchall()]

    def search(self, query: Sequence[float], top_k: int, *, portable: bool = False) -> List[str]:
        """Bodies of the ``top_k`` entries most similar to the unit ``query``, best first
        (ties: first added first); ``ValueError`` on a dimension mismatch.

        ``portable=True`` uses the portable scan even when pgvector is in use.
        """
        with self.pool.transaction() as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            held = self._dimension(conn)
            if held is None or top_k == 0:
                return []
            if held != len(query):
                raise ValueError(
                    f"query_embedding has dimension {len(query)}, but this index holds dimension {held}"
                )
            params = {"q": list(query), "k": top_k}
            if self.pgvector and not portable and top_k <= _ANN_TOP_K:
                n = int(held)
                params["pool"] = max(_ANN_FACTOR * top_k, _ANN_MIN_POOL)
                if self.approximate:
                    conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(params["pool"]),))
                    # Literal dimension and predicate: the planner matches them to the partial index.
                    candidates = (
                        f"SELECT seq, embedding FROM memlint_index_entries WHERE vector_dims(embedding_vector) = {n}"
                        f" ORDER BY embedding_vector::vector({n}) <=> %(q)s::float8[]::vector({n}) LIMIT %(pool)s"
                    )
                else:
                    # Not the indexed expression, so this is an exact scan; seq keeps the
                    # first-added of many equal vectors in the pool.
                    candidates = (
                        "SELECT seq, embedding FROM memlint_index_entries"
                        " ORDER BY embedding_vector <=> %(q)s::float8[]::vector, seq LIMIT %(pool)s"
                    )
                sql = (
                    f"WITH candidates AS ({candidates})"
                    " SELECT e.body::text FROM candidates c JOIN memlint_index_entries e USING (seq)"
                    f" ORDER BY {_cosine('c.embedding')} DESC, c.seq LIMIT %(k)s"
                )
            else:
                sql = (f"SELECT body::text FROM memlint_index_entries"
                       f" ORDER BY {_cosine('embedding')} DESC, seq LIMIT %(k)s")
            return [r[0] for r in conn.execute(sql, params).fetchall()]

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> "PostgresIndexBackend":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

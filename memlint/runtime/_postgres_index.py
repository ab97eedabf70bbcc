"""PostgreSQL rows of a ``LongTermMemoryIndex`` (``url=``): entries and embeddings.

Split from ``_postgres`` (the store and archive backends), whose pool, schema versioning
and driver loading it shares.
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Set

from memlint.runtime._postgres import _SCHEMA_LOCK, _Pool, _driver, _key, redact

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

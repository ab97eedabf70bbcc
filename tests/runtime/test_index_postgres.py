"""What only the PostgreSQL index has: schema, choice of search path, pooling, errors.

The search behaviour itself runs on every backend through the ``index`` fixture of
``test_index.py``.
"""

from __future__ import annotations

import math
import random
import time
from typing import Iterator, List

import psycopg
import pytest
from longterm_backends import PostgresServer, postgres_server  # noqa: F401 - fixture used by name
from test_index import pgvector_available

from memlint.runtime import LongTermMemoryIndex
from memlint.runtime._backend import SchemaError


@pytest.fixture
def url(postgres_server: PostgresServer) -> Iterator[str]:  # noqa: F811 - the fixture above
    database = postgres_server.create_database()
    try:
        yield postgres_server.url(database)
    finally:
        postgres_server.drop_database(database)


def other_sessions(url: str) -> int:
    """Connections to the test database other than this check's own."""
    with psycopg.connect(url) as check:
        return int(check.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0])


def sessions_left(url: str) -> int:
    """``other_sessions`` once closed ones are gone: a server process leaves
    ``pg_stat_activity`` a moment after its client disconnects, an open pool never does."""
    deadline = time.monotonic() + 10
    while True:
        count = other_sessions(url)
        if count == 0 or time.monotonic() > deadline:
            return count
        time.sleep(0.05)


def test_entries_and_embeddings_live_in_the_database(url: str) -> None:
    with LongTermMemoryIndex(url=url, use_pgvector=False) as index:
        index.add({"id": "a", "text": "cats", "tags": ["animals"]}, [3.0, 4.0])
    with psycopg.connect(url) as raw:
        versions = dict(raw.execute("SELECT component, version FROM memlint_schema").fetchall())
        assert versions == {"index": 1}
        body, embedding, kind = raw.execute(
            "SELECT body ->> 'text', embedding, pg_typeof(body)::text FROM memlint_index_entries WHERE id = 'a'"
        ).fetchone()
        assert (body, kind) == ("cats", "jsonb")
        assert embedding == pytest.approx([0.6, 0.8]), "stored unit-length"
    with LongTermMemoryIndex(url=url) as reopened:  # another process or replica sees the same
        assert [e["text"] for e in reopened.search_by_tag("animals")] == ["cats"]
        assert "a" in reopened and len(reopened) == 1 and reopened.dimension == 2


def test_replicas_share_one_index(url: str) -> None:
    with LongTermMemoryIndex(url=url) as first, LongTermMemoryIndex(url=url, use_pgvector=False) as second:
        first.add({"id": "x", "text": "x"}, [1.0, 0.0])
        second.add({"id": "y", "text": "y"}, [0.0, 1.0])
        for index in (first, second):
            assert [e["text"] for e in index.search_semantic([0.1, 1.0], top_k=2)] == ["y", "x"]
        with pytest.raises(ValueError, match="dimension"):
            second.add({"id": "z"}, [1.0, 0.0, 0.0])  # the dimension is the database's
        assert first.remove("x") is True and second.remove("x") is False


def test_default_uses_pgvector_exactly_when_available(url: str, postgres_server: PostgresServer) -> None:  # noqa: F811
    available = pgvector_available(postgres_server)
    with LongTermMemoryIndex(url=url) as index:
        assert index.backend == ("pgvector" if available else "postgres")
    with LongTermMemoryIndex(url=url, use_pgvector=False) as forced:
        assert forced.backend == "postgres"
    if available:
        with LongTermMemoryIndex(url=url, use_pgvector=True) as index:
            assert index.backend == "pgvector"
    else:
        with pytest.raises(RuntimeError, match="pgvector"):
            LongTermMemoryIndex(url=url, use_pgvector=True)
        assert sessions_left(url) == 0, "a failed constructor closes its pool"


def test_pgvector_stores_vectors_with_a_cosine_index(url: str, postgres_server: PostgresServer) -> None:  # noqa: F811
    if not pgvector_available(postgres_server):
        pytest.skip("the PostgreSQL server has no pgvector extension (Debian: postgresql-15-pgvector)")
    with LongTermMemoryIndex(url=url, use_pgvector=True) as index:
        index.add({"id": "a"}, [1.0, 2.0, 2.0])
    with psycopg.connect(url) as raw:
        kind = raw.execute("SELECT pg_typeof(embedding_vector)::text FROM memlint_index_entries").fetchone()[0]
        assert kind == "vector"
        definitions = [row[0] for row in raw.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'memlint_index_entries'").fetchall()]
        assert any("vector_cosine_ops" in d and "vector(3)" in d for d in definitions), definitions


def test_approximate_search_finds_near_neighbours(url: str, postgres_server: PostgresServer) -> None:  # noqa: F811
    if not pgvector_available(postgres_server):
        pytest.skip("the PostgreSQL server has no pgvector extension (Debian: postgresql-15-pgvector)")
    rng = random.Random(3)
    vectors = {f"e{number}": [rng.uniform(-1, 1) for _ in range(8)] for number in range(500)}
    with LongTermMemoryIndex(url=url, approximate=True) as fast:
        for name, vector in vectors.items():
            fast.add({"id": name}, vector)
        found = 0
        for _ in range(20):
            query = [rng.uniform(-1, 1) for _ in range(8)]
            truth = sorted(vectors, key=lambda name: -cosine(query, vectors[name]))[:10]
            approximate = [e["id"] for e in fast.search_semantic(query, 10)]
            assert len(set(approximate)) == 10
            scores = [cosine(query, vectors[name]) for name in approximate]
            assert scores == sorted(scores, reverse=True), "what it finds, it ranks exactly"
            found += len(set(approximate) & set(truth))
        assert found / 200 >= 0.9, f"recall {found / 200:.2f}"


def cosine(a: List[float], b: List[float]) -> float:
    return sum(x * y for x, y in zip(a, b)) / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def test_connections_are_pooled_closed_and_not_leaked_on_errors(url: str) -> None:
    with LongTermMemoryIndex(url=url) as index:
        for number in range(50):
            index.add({"text": f"e{number}"}, [1.0, float(number)])
        with pytest.raises(ValueError, match="dimension"):
            index.search_semantic([1.0, 0.0, 0.0])
        with pytest.raises(ValueError, match="dimension"):
            index.add({"text": "wrong"}, [1.0, 0.0, 0.0])
        assert len(index.search_semantic([1.0, 0.0], top_k=5)) == 5
        assert 1 <= other_sessions(url) <= 4, "a small pool, not a connection per call"
    assert sessions_left(url) == 0
    index.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        index.search_by_tag("t")


def test_newer_schema_is_refused_and_nothing_leaks(url: str) -> None:
    LongTermMemoryIndex(url=url).close()
    with psycopg.connect(url) as raw:
        raw.execute("UPDATE memlint_schema SET version = 99 WHERE component = 'index'")
    with pytest.raises(SchemaError, match="newer"):
        LongTermMemoryIndex(url=url)
    assert sessions_left(url) == 0


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="PostgreSQL URL"):
        LongTermMemoryIndex(url="mysql://localhost/db")
    with pytest.raises(TypeError):
        LongTermMemoryIndex(url=42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="url="):
        LongTermMemoryIndex(use_pgvector=True)
    with pytest.raises(ValueError, match="approximate"):
        LongTermMemoryIndex(approximate=True)
    with pytest.raises(ValueError, match="approximate"):
        LongTermMemoryIndex(url="postgresql://localhost/db", use_pgvector=False, approximate=True)
    with pytest.raises(ValueError, match="in-memory"):
        LongTermMemoryIndex(url="postgresql://localhost/db", use_numpy=True)
    with LongTermMemoryIndex() as memory:
        assert memory.backend == "memory"

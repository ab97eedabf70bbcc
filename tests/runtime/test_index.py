"""LongTermMemoryIndex: cosine search, tags, validation; every backend ranks the same.

Every test taking ``index`` runs on each backend: in memory (pure Python, numpy), in
PostgreSQL with the portable SQL scan (forced with ``use_pgvector=False``, even where
pgvector exists), and in PostgreSQL with pgvector (skipped, saying so, when the test
server has no ``vector`` extension).
"""

from __future__ import annotations

import math
import random
from typing import Any, Iterator, List

import pytest
from longterm_backends import PostgresServer, postgres_server  # noqa: F401 - fixture used by name

from memlint.runtime import LongTermMemoryIndex

try:
    import numpy
except ImportError:  # pragma: no cover - numpy is optional
    numpy = None

BACKENDS = ["python", "numpy", "postgres", "pgvector"]


def pgvector_available(server: PostgresServer) -> bool:
    """Whether the test server can load pgvector (its ``vector.control`` is installed)."""
    import psycopg

    with psycopg.connect(server.url()) as conn:
        return conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone() is not None


def open_index(backend: str, request: Any) -> Iterator[LongTermMemoryIndex]:
    """An index on ``backend``, closed (and its database dropped) after the test."""
    if backend in ("python", "numpy"):
        if backend == "numpy" and numpy is None:
            pytest.skip("numpy is not installed")
        with LongTermMemoryIndex(use_numpy=backend == "numpy") as index:
            yield index
        return
    server = request.getfixturevalue("postgres_server")
    if backend == "pgvector" and not pgvector_available(server):
        pytest.skip("the PostgreSQL server has no pgvector extension (Debian: postgresql-15-pgvector)")
    database = server.create_database()
    try:
        with LongTermMemoryIndex(url=server.url(database), use_pgvector=backend == "pgvector") as index:
            assert index.backend == backend
            yield index
    finally:
        server.drop_database(database)


@pytest.fixture(params=BACKENDS)
def index(request: Any) -> Iterator[LongTermMemoryIndex]:
    yield from open_index(request.param, request)


def texts(entries: List[dict]) -> List[str]:
    return [entry["text"] for entry in entries]


def test_document_api(index: LongTermMemoryIndex) -> None:
    index.add({"text": "cats", "tags": ["animals"]}, [1.0, 0.0, 0.0])
    index.add({"text": "dogs", "tags": ["animals", "pets"]}, [0.9, 0.1, 0.0])
    index.add({"text": "cars", "tags": ["vehicles"]}, [0.0, 0.0, 1.0])
    assert texts(index.search_semantic([1.0, 0.05, 0.0], top_k=2)) == ["cats", "dogs"]
    assert texts(index.search_by_tag("animals")) == ["cats", "dogs"]
    assert texts(index.search_by_tag("pets")) == ["dogs"]
    assert index.search_by_tag("nothing") == []
    assert len(index) == 3 and len(index.entries) == 3


def test_similarity_is_cosine_not_dot_product(index: LongTermMemoryIndex) -> None:
    index.add({"text": "aligned"}, [1.0, 0.0])
    index.add({"text": "long but off"}, [30.0, 30.0])  # a dot product would rank this first
    assert texts(index.search_semantic([1.0, 0.0], top_k=1)) == ["aligned"]


def test_top_k_edges_and_ties(index: LongTermMemoryIndex) -> None:
    assert index.search_semantic([1.0, 0.0], top_k=3) == []
    for name in ("a", "b", "c"):
        index.add({"text": name}, [1.0, 1.0])
    assert index.search_semantic([1.0, 1.0], top_k=0) == []
    assert texts(index.search_semantic([1.0, 1.0], top_k=10)) == ["a", "b", "c"]  # ties: order added
    with pytest.raises(ValueError):
        index.search_semantic([1.0, 1.0], top_k=-1)
    with pytest.raises(TypeError):
        index.search_semantic([1.0, 1.0], top_k=2.5)  # type: ignore[arg-type]


@pytest.mark.parametrize("vector, error", [
    ([0.0, 0.0, 0.0], ValueError),
    ([1.0, 2.0], ValueError),  # dimension mismatch
    ([1.0, float("nan"), 0.0], ValueError),
    ([1.0, float("inf"), 0.0], ValueError),
    ([], ValueError),
    ("abc", TypeError),
    ([1.0, "x", 0.0], TypeError),
    ([True, False, True], TypeError),
    (3.0, TypeError),
])
def test_bad_vectors(index: LongTermMemoryIndex, vector: Any, error: type) -> None:
    index.add({"text": "first"}, [1.0, 0.0, 0.0])
    with pytest.raises(error):
        index.add({"text": "second"}, vector)
    with pytest.raises(error):
        index.search_semantic(vector)
    assert len(index) == 1


def test_huge_components_do_not_overflow(index: LongTermMemoryIndex) -> None:
    index.add({"text": "big"}, [1e300, 1e300])
    index.add({"text": "other"}, [1e300, -1e300])
    assert texts(index.search_semantic([1.0, 1.0], top_k=1)) == ["big"]


def test_numpy_arrays_are_accepted(index: LongTermMemoryIndex) -> None:
    if numpy is None:
        pytest.skip("numpy is not installed")
    index.add({"text": "x"}, numpy.array([0.0, 1.0]))
    index.add({"text": "y"}, numpy.array([1.0, 0.0], dtype=numpy.float32))
    assert texts(index.search_semantic(numpy.array([0.1, 0.9]), top_k=1)) == ["x"]
    with pytest.raises(ValueError, match="one-dimensional"):
        index.search_semantic(numpy.ones((2, 2)))


def test_every_backend_ranks_like_the_cosine(index: LongTermMemoryIndex) -> None:
    rng = random.Random(7)
    vectors = {}
    for number in range(300):
        vectors[f"e{number}"] = vector = [rng.uniform(-1, 1) for _ in range(16)]
        index.add({"id": f"e{number}", "text": f"e{number}"}, vector)
    for number in range(300, 310):  # exact ties: equal vectors rank in the order added
        vectors[f"e{number}"] = list(vectors["e5"])
        index.add({"id": f"e{number}", "text": f"e{number}"}, vectors[f"e{number}"])
    names = list(vectors)
    queries = [[rng.uniform(-1, 1) for _ in range(16)] for _ in range(20)] + [vectors["e5"]]
    for query in queries:
        expected = sorted(names, key=lambda name: (-_cosine(query, vectors[name]), names.index(name)))[:12]
        assert texts(index.search_semantic(query, 12)) == expected
    # Adding an id again replaces it and moves it last among equals.
    index.add({"id": "e5", "text": "e5"}, vectors["e5"])
    assert texts(index.search_semantic(vectors["e5"], 3)) == ["e300", "e301", "e302"]
    assert texts(index.search_semantic(vectors["e5"], 11))[-1] == "e5"
    assert len(index) == 310


def test_many_equal_vectors_rank_in_the_order_added(index: LongTermMemoryIndex) -> None:
    index.add({"id": "other", "text": "other"}, [0.0, 1.0])
    for number in range(150):  # more equals than pgvector's candidate pool
        index.add({"id": f"t{number}", "text": f"t{number}"}, [2.0, 2.0])
    assert texts(index.search_semantic([1.0, 1.0], top_k=5)) == ["t0", "t1", "t2", "t3", "t4"]
    assert texts(index.search_semantic([1.0, 1.0], top_k=151))[-1] == "other"


def _cosine(a: List[float], b: List[float]) -> float:
    return sum(x * y for x, y in zip(a, b)) / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def test_ids_replace_and_remove_keep_tags_consistent(index: LongTermMemoryIndex) -> None:
    entry = {"id": "n1", "text": "v1", "tags": ["a", "b"]}
    assert index.add(entry, [1.0, 0.0]) == "n1"
    assert entry == {"id": "n1", "text": "v1", "tags": ["a", "b"]}, "the caller's dict is not modified"
    index.add({"id": "n1", "text": "v2", "tags": ["b", "c"]}, [0.0, 1.0])
    assert len(index) == 1
    assert index.search_by_tag("a") == []
    assert texts(index.search_by_tag("c")) == ["v2"]
    generated = index.add({"text": "no id", "tags": ["c"]}, [1.0, 1.0])
    assert generated.startswith("m") and generated in index
    assert index.remove("n1") is True and index.remove("n1") is False
    assert texts(index.search_by_tag("c")) == ["no id"]
    assert index.search_by_tag("b") == []
    result = index.search_by_tag("c")
    result[0]["text"] = "changed"
    assert texts(index.search_by_tag("c")) == ["no id"], "results are copies"


def test_dimension_resets_when_empty(index: LongTermMemoryIndex) -> None:
    index.add({"id": "a"}, [1.0, 0.0])
    assert index.dimension == 2
    index.remove("a")
    assert index.dimension is None
    index.add({"id": "b"}, [1.0, 0.0, 0.0])
    assert index.dimension == 3


@pytest.mark.parametrize("entry, error", [
    ("text", TypeError),
    ({"tags": "a"}, TypeError),
    ({"id": "../x"}, ValueError),
    ({"value": {1, 2}}, TypeError),
])
def test_bad_entries(index: LongTermMemoryIndex, entry: Any, error: type) -> None:
    with pytest.raises(error):
        index.add(entry, [1.0])
    assert len(index) == 0
    with pytest.raises(TypeError):
        index.search_by_tag(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("use_numpy", [True, False])
def test_vectors_are_contiguous_float32_and_adding_keeps_the_matrix(use_numpy: bool) -> None:
    if use_numpy:
        pytest.importorskip("numpy", reason="numpy is not installed: the stdlib array path is tested")
    index = LongTermMemoryIndex(use_numpy=use_numpy)
    for number in range(1000):
        index.add({"id": number, "text": f"e{number}"}, [float(number % 7), 1.0, float(number % 3), 0.5])
    # 4 bytes a number (capacity at most doubled), not a tuple of Python floats.
    assert 1000 * 4 * 4 <= index.vector_bytes <= 2 * 1000 * 4 * 4
    index.search_semantic([1.0, 1.0, 0.0, 0.5], top_k=3)
    matrix = index._vectors.matrix
    index.add({"id": "late", "text": "late"}, [9.0, 0.0, 0.0, 0.0])
    # The old index threw its search matrix away on every add and rebuilt it on the next search.
    assert index._vectors.matrix is matrix
    assert index.search_semantic([1.0, 0.0, 0.0, 0.0], top_k=1)[0]["id"] == "late"
    for number in range(0, 1000, 2):
        index.remove(number)
    assert index.search_semantic([0.0, 1.0, 0.0, 0.0], top_k=1)[0]["id"] % 2 == 1
    assert index.vector_bytes <= 2 * 1000 * 4 * 4

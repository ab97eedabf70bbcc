"""LongTermMemoryIndex: cosine search, tags, validation; numpy and pure Python agree."""

from __future__ import annotations

import math
import random
from typing import Any, List

import pytest

from memlint.runtime import LongTermMemoryIndex

try:
    import numpy
except ImportError:  # pragma: no cover - numpy is optional
    numpy = None

BOTH = [False, pytest.param(True, marks=pytest.mark.skipif(numpy is None, reason="numpy is not installed"))]


@pytest.fixture(params=BOTH, ids=["python", "numpy"])
def index(request: Any) -> LongTermMemoryIndex:
    return LongTermMemoryIndex(use_numpy=request.param)


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


@pytest.mark.skipif(numpy is None, reason="numpy is not installed")
def test_numpy_arrays_are_accepted(index: LongTermMemoryIndex) -> None:
    index.add({"text": "x"}, numpy.array([0.0, 1.0]))
    index.add({"text": "y"}, numpy.array([1.0, 0.0], dtype=numpy.float32))
    assert texts(index.search_semantic(numpy.array([0.1, 0.9]), top_k=1)) == ["x"]
    with pytest.raises(ValueError, match="one-dimensional"):
        index.search_semantic(numpy.ones((2, 2)))


@pytest.mark.skipif(numpy is None, reason="numpy is not installed")
def test_numpy_and_python_rank_the_same() -> None:
    rng = random.Random(7)
    fast, slow = LongTermMemoryIndex(use_numpy=True), LongTermMemoryIndex(use_numpy=False)
    vectors = {}
    for number in range(300):
        vectors[f"e{number}"] = vector = [rng.uniform(-1, 1) for _ in range(16)]
        fast.add({"text": f"e{number}"}, vector)
        slow.add({"text": f"e{number}"}, vector)
    for _ in range(20):
        query = [rng.uniform(-1, 1) for _ in range(16)]
        expected = sorted(vectors, key=lambda name: -_cosine(query, vectors[name]))[:10]
        assert texts(fast.search_semantic(query, 10)) == expected
        assert texts(slow.search_semantic(query, 10)) == expected


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

"""``LongTermMemoryIndex``: semantic and tag search over memories (the document's "indexing").

The document's API (``add(entry, embedding)``, ``search_semantic(query_embedding,
top_k)``, ``search_by_tag(tag)``), fixed where its example goes wrong:

- similarity is the cosine (vectors are normalized), not a raw dot product that favours
  long vectors; a zero vector, a non-finite value or a dimension mismatch is a
  ``ValueError`` instead of a silent nonsense ranking;
- ``top_k=0`` returns nothing (``argsort(...)[-0:]`` returns everything);
- ids are the entry's own ``id`` or a content id, not list positions; adding an id again
  replaces it, and ``remove`` keeps the tag index consistent;
- embeddings may be plain sequences or numpy arrays; numpy is used when installed and
  never required. The caller's dicts are copied, never modified.

``url="postgresql://..."`` keeps the entries and embeddings in PostgreSQL instead
(``memlint.runtime._postgres.PostgresIndexBackend``): searched with pgvector's cosine
operator (and, if asked, its HNSW index) when the ``vector`` extension is available, with
a portable SQL scan otherwise; the exact paths rank like the in-memory index.
"""

from __future__ import annotations

import copy
import heapq
import json
import math
import threading
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple, Union

from memlint.runtime._common import check_entry, check_number, check_tags, content_id, normalize_id, to_json

if TYPE_CHECKING:
    from memlint.runtime._postgres_index import PostgresIndexBackend

__all__ = ["LongTermMemoryIndex"]

Vector = Tuple[float, ...]


class LongTermMemoryIndex:
    """An index of entries by embedding (cosine similarity) and by tag.

    In memory by default. ``use_numpy`` (in memory only): ``None`` uses numpy when it can
    be imported; ``False`` forces the pure Python path (the results are the same).

    ``url``: a PostgreSQL database (``postgresql://...``, needs ``memlint[postgres]``)
    shared by every index opened on it. ``use_pgvector``: ``None`` searches with the
    pgvector extension when it is available, ``False`` always with the portable scan,
    ``True`` requires pgvector. Searches are exact (pgvector's cosine distance picks
    candidates, the float8 cosine ranks them: the same results as in memory);
    ``approximate=True`` takes the candidates from pgvector's HNSW index instead, faster
    on large tables but it may miss a neighbour. ``busy_timeout``: seconds to wait for a
    connection. The index holds a connection pool then: ``close()`` it, or use ``with``.
    """

    def __init__(
        self,
        *,
        use_numpy: Optional[bool] = None,
        url: Optional[str] = None,
        use_pgvector: Optional[bool] = None,
        approximate: bool = False,
        busy_timeout: float = 30.0,
    ) -> None:
        check_number("busy_timeout", busy_timeout, low=0)
        if url is not None and not isinstance(url, str):
            raise TypeError(f"url must be a str, not {type(url).__name__}")
        if url is None and use_pgvector:
            raise ValueError("use_pgvector=True needs a database: pass url='postgresql://...'")
        if approximate and (url is None or use_pgvector is False):
            raise ValueError("approximate=True searches pgvector's index: it needs url= and pgvector")
        if url is not None and use_numpy:
            raise ValueError("use_numpy applies to the in-memory index; the database computes with url=")
        self._entries: Dict[str, Dict[str, Any]] = {}
        self._vectors: Dict[str, Vector] = {}
        self._tags: Dict[str, Dict[str, None]] = {}  # tag -> ids, in insertion order
        self._dimension: Optional[int] = None
        self._lock = threading.Lock()
        self._matrix: Any = None  # numpy cache: (ids, unit vectors as rows)
        self._numpy: Any = _load_numpy() if use_numpy is not False and url is None else None
        if use_numpy and self._numpy is None:
            raise ImportError("use_numpy=True but numpy cannot be imported")
        # Opened last: nothing after it can fail and leave the pool open.
        self._db: Optional[PostgresIndexBackend] = None
        if url is not None:
            from memlint.runtime._postgres_index import PostgresIndexBackend

            self._db = PostgresIndexBackend(
                url, use_pgvector=use_pgvector, approximate=approximate, busy_timeout=busy_timeout
            )

    @property
    def backend(self) -> str:
        """Where searches run: ``"memory"``, ``"postgres"`` (portable scan) or ``"pgvector"``."""
        if self._db is None:
            return "memory"
        return "pgvector" if self._db.pgvector else "postgres"

    def close(self) -> None:
        """Release the database connections (none in memory). Idempotent; a database
        index is unusable afterwards."""
        if self._db is not None:
            self._db.close()

    def __enter__(self) -> "LongTermMemoryIndex":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def dimension(self) -> Optional[int]:
        """The embedding dimension, fixed by the first ``add`` (``None`` while empty)."""
        if self._db is not None:
            return self._db.dimension()
        return self._dimension

    @property
    def entries(self) -> List[Dict[str, Any]]:
        """Copies of the indexed entries, in the order added."""
        if self._db is not None:
            return [json.loads(body) for body in self._db.bodies()]
        with self._lock:
            return [copy.deepcopy(entry) for entry in self._entries.values()]

    def __len__(self) -> int:
        if self._db is not None:
            return self._db.count()
        return len(self._entries)

    def __contains__(self, entry_id: object) -> bool:
        try:
            key = normalize_id(entry_id)
        except (TypeError, ValueError):
            return False
        if self._db is not None:
            return self._db.contains(key)
        return key in self._entries

    def add(self, entry: Dict[str, Any], embedding: Sequence[float]) -> str:
        """Index a copy of ``entry`` under its ``id`` (or a content id); return the id."""
        data = check_entry(entry)
        if "id" in data:
            entry_id = normalize_id(data.pop("id"))
        else:
            entry_id = content_id(data)
        stored = {"id": entry_id, **data}
        body = to_json(stored)  # JSON-only, like every other store of the runtime
        vector = _unit_vector(embedding, "embedding")
        if self._db is not None:
            self._db.add(entry_id, body, vector)
            return entry_id
        stored = copy.deepcopy(stored)
        with self._lock:
            if self._dimension is not None and len(vector) != self._dimension and self._entries:
                raise ValueError(
                    f"embedding has dimension {len(vector)}, but this index holds dimension {self._dimension}"
                )
            self._remove_locked(entry_id)
            self._dimension = len(vector)
            self._entries[entry_id] = stored
            self._vectors[entry_id] = vector
            for tag in stored.get("tags", []):
                self._tags.setdefault(tag, {})[entry_id] = None
            self._matrix = None
        return entry_id

    def remove(self, entry_id: Union[str, int]) -> bool:
        """Remove an entry from the index; True if it was there."""
        key = normalize_id(entry_id)
        if self._db is not None:
            return self._db.remove(key)
        with self._lock:
            return self._remove_locked(key)

    def _remove_locked(self, key: str) -> bool:
        old = self._entries.pop(key, None)
        if old is None:
            return False
        del self._vectors[key]
        for tag in old.get("tags", []):
            ids = self._tags.get(tag)
            if ids is not None:
                ids.pop(key, None)
                if not ids:
                    del self._tags[tag]
        if not self._entries:
            self._dimension = None
        self._matrix = None
        return True

    def search_semantic(self, query_embedding: Sequence[float], top_k: int = 5) -> List[Dict[str, Any]]:
        """The ``top_k`` entries most similar to the query (cosine), best first.

        Ties keep the order in which entries were added.
        """
        check_number("top_k", top_k, low=0, integer=True)
        query = _unit_vector(query_embedding, "query_embedding")
        if self._db is not None:
            return [json.loads(body) for body in self._db.search(query, top_k)]
        with self._lock:
            if not self._entries or top_k == 0:
                return []
            if len(query) != self._dimension:
                raise ValueError(
                    f"query_embedding has dimension {len(query)}, but this index holds dimension {self._dimension}"
                )
            if self._numpy is not None:
                best = self._top_numpy(query, top_k)
            else:
                best = self._top_python(query, top_k)
            return [copy.deepcopy(self._entries[entry_id]) for entry_id in best]

    def _top_python(self, query: Vector, top_k: int) -> List[str]:
        scored = (
            (sum(a * b for a, b in zip(vector, query)), -position, entry_id)
            for position, (entry_id, vector) in enumerate(self._vectors.items())
        )
        return [entry_id for _, _, entry_id in heapq.nlargest(top_k, scored)]

    def _top_numpy(self, query: Vector, top_k: int) -> List[str]:
        np = self._numpy
        if self._matrix is None:
            ids = list(self._vectors)
            self._matrix = (ids, np.array([self._vectors[i] for i in ids], dtype=np.float64))
        ids, matrix = self._matrix
        scores = matrix @ np.asarray(query, dtype=np.float64)
        order = np.argsort(-scores, kind="stable")[:top_k]
        return [ids[int(i)] for i in order]

    def search_by_tag(self, tag: str) -> List[Dict[str, Any]]:
        """Every entry carrying ``tag``, in the order added."""
        check_tags([tag])
        if self._db is not None:
            return [json.loads(body) for body in self._db.by_tag(tag)]
        with self._lock:
            return [copy.deepcopy(self._entries[i]) for i in self._tags.get(tag, {})]


def _load_numpy() -> Any:
    try:
        import numpy
    except ImportError:
        return None
    return numpy


def _unit_vector(values: Any, name: str) -> Vector:
    """A finite, non-zero vector of floats scaled to length 1."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a sequence of numbers, not {type(values).__name__}")
    ndim = getattr(values, "ndim", 1)
    if ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, not {ndim}-dimensional")
    if hasattr(values, "tolist"):
        values = values.tolist()
    floats = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must contain numbers, not {type(value).__name__}")
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{name} contains a non-finite value: {value!r}")
        floats.append(number)
    if not floats:
        raise ValueError(f"{name} is empty")
    largest = max(abs(x) for x in floats)
    if largest == 0.0:
        raise ValueError(f"{name} is the zero vector: it has no direction to compare")
    scaled = [x / largest for x in floats]  # so that squaring cannot overflow
    norm = math.sqrt(math.fsum(x * x for x in scaled))
    return tuple(x / norm for x in scaled)

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
  never required. The caller's dicts are copied, never modified;
- vectors live in one contiguous float32 matrix (numpy, or the stdlib ``array`` module
  without it), 4 bytes a number instead of a tuple of Python floats (about 30); adding a
  vector appends a row (the capacity doubles when full, amortized O(dimension)), so a
  search right after an add does not rebuild anything. Removed rows are tombstones,
  compacted once they are half of the matrix.

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
from array import array
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple, Union

from memlint.runtime._common import (
    check_entry,
    check_number,
    check_tags,
    content_id,
    id_value,
    normalize_id,
    to_json,
)

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
        self._tags: Dict[str, Dict[str, None]] = {}  # tag -> ids, in insertion order
        self._dimension: Optional[int] = None
        self._lock = threading.Lock()
        self._numpy: Any = _load_numpy() if use_numpy is not False and url is None else None
        if use_numpy and self._numpy is None:
            raise ImportError("use_numpy=True but numpy cannot be imported")
        self._vectors = _Float32Rows(self._numpy)
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
            given = data.pop("id")
            entry_id = normalize_id(given)
            given = id_value(given)
        else:
            entry_id = given = content_id(data)
        stored = {"id": given, **data}
        body = to_json(stored)  # JSON-only, like every other store of the runtime
        vector = _unit_vector(embedding, "embedding")
        if self._db is not None:
            self._db.add(entry_id, body, vector)
            return entry_id
        stored = json.loads(body)  # a private copy (faster than deepcopy: it is JSON anyway)
        with self._lock:
            if self._dimension is not None and len(vector) != self._dimension and self._entries:
                raise ValueError(
                    f"embedding has dimension {len(vector)}, but this index holds dimension {self._dimension}"
                )
            self._remove_locked(entry_id)
            if self._dimension != len(vector):
                self._vectors = _Float32Rows(self._numpy)  # empty: a new dimension starts afresh
            self._dimension = len(vector)
            self._entries[entry_id] = stored
            self._vectors.append(entry_id, vector)
            for tag in stored.get("tags", []):
                self._tags.setdefault(tag, {})[entry_id] = None
        return given

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
        self._vectors.remove(key)
        for tag in old.get("tags", []):
            ids = self._tags.get(tag)
            if ids is not None:
                ids.pop(key, None)
                if not ids:
                    del self._tags[tag]
        if not self._entries:
            self._dimension = None
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
            best = self._vectors.top(query, top_k)
            return [copy.deepcopy(self._entries[entry_id]) for entry_id in best]

    @property
    def vector_bytes(self) -> int:
        """Bytes held by the embedding matrix (its capacity, 4 bytes a number)."""
        return self._vectors.nbytes

    def search_by_tag(self, tag: str) -> List[Dict[str, Any]]:
        """Every entry carrying ``tag``, in the order added."""
        check_tags([tag])
        if self._db is not None:
            return [json.loads(body) for body in self._db.by_tag(tag)]
        with self._lock:
            return [copy.deepcopy(self._entries[i]) for i in self._tags.get(tag, {})]


class _Float32Rows:
    """Unit vectors as rows of one contiguous float32 matrix, in the order added.

    numpy: a 2-D array whose capacity doubles when full. Without numpy: a flat
    ``array('f')`` (appending to it is amortized O(1) too). Removing a row leaves a
    tombstone (its id is ``None``); the matrix is compacted, in order, once half of its
    rows are tombstones. Ties in a search go to the earlier row: the first added.
    """

    def __init__(self, numpy: Any) -> None:
        self.np = numpy
        self.ids: List[Optional[str]] = []
        self.row_of: Dict[str, int] = {}
        self.dimension = 0
        self.dead = 0
        self.dead_rows: List[int] = []
        self.matrix: Any = None if numpy is not None else array("f")

    @property
    def nbytes(self) -> int:
        if self.matrix is None:
            return 0
        return int(self.matrix.nbytes) if self.np is not None else self.matrix.itemsize * len(self.matrix)

    def append(self, entry_id: str, vector: Vector) -> None:
        row = len(self.ids)
        self.dimension = len(vector)
        if self.np is not None:
            np = self.np
            if self.matrix is None:
                self.matrix = np.empty((16, self.dimension), dtype=np.float32)
            elif row == self.matrix.shape[0]:
                grown = np.empty((2 * row, self.dimension), dtype=np.float32)
                grown[:row] = self.matrix
                self.matrix = grown
            self.matrix[row] = vector
        else:
            self.matrix.extend(vector)
        self.ids.append(entry_id)
        self.row_of[entry_id] = row

    def remove(self, entry_id: str) -> None:
        row = self.row_of.pop(entry_id)
        self.ids[row] = None
        self.dead += 1
        self.dead_rows.append(row)
        if self.dead * 2 > len(self.ids) and self.dead >= 16:
            self._compact()

    def _compact(self) -> None:
        live = [row for row, entry_id in enumerate(self.ids) if entry_id is not None]
        d = self.dimension
        if self.np is not None:
            self.matrix = self.matrix[live].copy() if live else None
        else:
            old = self.matrix
            self.matrix = array("f")
            for row in live:
                self.matrix.extend(old[row * d:(row + 1) * d])
        self.ids = [self.ids[row] for row in live]
        self.row_of = {entry_id: row for row, entry_id in enumerate(self.ids) if entry_id is not None}
        self.dead = 0
        self.dead_rows = []

    def top(self, query: Vector, top_k: int) -> List[str]:
        used = len(self.ids)
        if used == 0 or top_k == 0:
            return []
        if self.np is None:
            return self._top_python(query, top_k)
        np = self.np
        scores = self.matrix[:used] @ np.asarray(query, dtype=np.float32)
        if self.dead:
            scores[self.dead_rows] = -np.inf
        alive = used - self.dead
        k = min(top_k, alive)
        # Every row scoring at least the k-th best, then (score desc, row asc): exact ties
        # at the boundary go to the first added.
        kth = np.partition(scores, used - k)[used - k]
        rows = np.nonzero(scores >= kth)[0]
        order = rows[np.lexsort((rows, -scores[rows]))][:k]
        return [self.ids[int(row)] for row in order]  # type: ignore[misc]

    def _top_python(self, query: Vector, top_k: int) -> List[str]:
        d = self.dimension
        matrix = self.matrix

        def scored() -> Any:
            for row, entry_id in enumerate(self.ids):
                if entry_id is not None:
                    start = row * d
                    yield sum(a * b for a, b in zip(matrix[start:start + d], query)), -row, entry_id

        return [entry_id for _, _, entry_id in heapq.nlargest(top_k, scored())]


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

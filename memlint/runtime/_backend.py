"""The storage contract behind ``LongTermMemory`` and ``MemoryArchiver``.

The classes that users see hold the policy (retention, archival, validation); a backend
holds the rows and the transactions. SQLite (``memlint.runtime._sqlite``) implements it
today; a server database can implement the same two small interfaces without touching
the policy code. Every method of a transaction runs inside the transaction that
``write()``/``read()``/``rehearse()`` opened, so a group of calls is atomic.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ContextManager, Iterable, List, NamedTuple, Optional, Sequence, Tuple


class SchemaError(RuntimeError):
    """The database is not a memlint database of the expected kind, or is from a newer memlint."""


class StoreRow(NamedTuple):
    """One stored entry. ``seq`` orders entries by first insertion."""

    seq: int
    id: str
    ts_us: int
    importance: float
    body: str
    #: When a per-entry ``ttl`` runs out (microseconds since the epoch), or ``None``.
    expires_us: Optional[int] = None
    #: How often ``get`` has returned the entry (MEM-006's access frequency).
    hits: int = 0


class Query(NamedTuple):
    """Filters of ``StoreTransaction.query``; ``None`` means "any"."""

    #: Entries carrying every one of these tags.
    tags: Tuple[str, ...] = ()
    since_us: Optional[int] = None  # stored at or after
    until_us: Optional[int] = None  # stored before
    min_importance: Optional[float] = None
    max_importance: Optional[float] = None
    #: Leave out entries whose ttl ran out by then.
    now_us: Optional[int] = None


def rank_order(row: StoreRow) -> Tuple[float, int, int]:
    """The count bound's removal order: least important, then oldest, then first stored."""
    return (row.importance, row.ts_us, row.seq)


def row_matches(row: StoreRow, query: Query, tags: Sequence[str]) -> bool:
    """Whether ``row`` (carrying ``tags``) passes ``query``: the reference the SQL mirrors."""
    if query.since_us is not None and row.ts_us < query.since_us:
        return False
    if query.until_us is not None and row.ts_us >= query.until_us:
        return False
    if query.min_importance is not None and row.importance < query.min_importance:
        return False
    if query.max_importance is not None and row.importance > query.max_importance:
        return False
    if query.now_us is not None and row.expires_us is not None and row.expires_us <= query.now_us:
        return False
    return all(tag in tags for tag in query.tags)


class StoreTransaction(ABC):
    """Operations of one long-term memory transaction."""

    @abstractmethod
    def upsert(self, entry_id: str, ts_us: int, importance: float, body: str,
               tags: Sequence[str] = (), expires_us: Optional[int] = None,
               slim: bool = False) -> Optional[bool]:
        """Insert or replace the entry ``entry_id`` (fresh again); True if it was new
        (``None`` from a backend that cannot tell without another query).

        ``slim`` (only ever given to a backend whose ``derives_head`` is True): ``body``
        is only what follows the head ``{"id":"<entry_id>","importance":<repr>,
        "timestamp":"<ISO of ts_us>"``, which the backend derives from the row.
        """

    @abstractmethod
    def rewrite(self, entry_id: str, importance: float, body: str, tags: Sequence[str],
                expires_us: Optional[int]) -> bool:
        """Change an entry in place (its time, position and grace status stay); False if absent."""

    @abstractmethod
    def get(self, entry_id: str) -> Optional[StoreRow]: ...

    @abstractmethod
    def touch(self, entry_id: str) -> None:
        """Count one access of ``entry_id`` (its ``hits``)."""

    @abstractmethod
    def query(self, query: Query, offset: int, limit: Optional[int]) -> List[StoreRow]:
        """Entries passing ``query``, in ``seq`` order, skipping ``offset``, at most ``limit``."""

    # The rows of expired, age_victims, rank_victims and least_ranked are removal
    # candidates: pruning never reads their ``body``, and a backend may leave it "".

    @abstractmethod
    def expired(self, now_us: int, limit: int, exclude: Optional[str]) -> List[StoreRow]:
        """Entries whose ``expires_us`` is at or before ``now_us``."""

    @abstractmethod
    def clear(self) -> int:
        """Delete every entry (of this namespace); return how many."""

    @abstractmethod
    def count(self) -> int: ...

    @abstractmethod
    def oldest_ts(self) -> Optional[int]: ...

    @abstractmethod
    def scan(self, after_seq: int, limit: int) -> List[StoreRow]:
        """Entries with ``seq > after_seq`` in ``seq`` order (keyset paging)."""

    def try_lock_pruning(self, wait: bool = False) -> bool:
        """Become the only pruner until this transaction ends; False if another prunes now
        (``wait=True``: wait for it instead).

        Backends whose writers are serialized anyway (SQLite) are always the only one.
        """
        return True

    @abstractmethod
    def settle(self, cutoff_us: int) -> int:
        """Mark entries stored before ``cutoff_us`` as out of their grace period."""

    @abstractmethod
    def age_victims(self, cutoff_us: int, pin_threshold: float, limit: int,
                    exclude: Optional[str]) -> List[StoreRow]:
        """Oldest first: entries older than ``cutoff_us`` with importance <= ``pin_threshold``.

        Called after ``settle(c)`` with ``c >= cutoff_us`` in the same transaction, so a
        backend may look among the settled entries only.
        """

    @abstractmethod
    def rank_victims(self, settled: bool, limit: int, exclude: Optional[str],
                     max_importance: Optional[float] = None) -> List[StoreRow]:
        """Least important, then oldest (then first stored), among settled (or among fresh)
        entries whose importance is at most ``max_importance`` (any, if ``None``)."""

    def least_ranked(self, exclude: Optional[str]) -> Optional[StoreRow]:
        """The entry the count bound removes when exactly one must go: the first in
        ``rank_order`` of all entries, fresh or settled, other than ``exclude``."""
        candidates = self.rank_victims(False, 1, exclude) + self.rank_victims(True, 1, exclude)
        return min(candidates, key=rank_order) if candidates else None

    def remove_least_ranked(self, exclude: Optional[str]) -> Optional[StoreRow]:
        """Delete the entry ``least_ranked`` names and return its row (``None``: nothing
        went). A backend may do both at once (the in-memory one does)."""
        least = self.least_ranked(exclude)
        if least is None or self.delete([least.id]) == 0:
            return None
        return least

    def remove_least_ranked_unless_batch(self, exclude: Optional[str],
                                         pin_threshold: float) -> Optional[StoreRow]:
        """``remove_least_ranked``, only when the count bound's batch would be empty (no
        settled entry other than ``exclude`` with importance <= ``pin_threshold``);
        ``None``, changing nothing, when it would not be or when nothing may go."""
        if self.rank_victims(True, 1, exclude, pin_threshold):
            return None
        return self.remove_least_ranked(exclude)

    def drop_least_ranked_unless_batch(self, exclude: Optional[str], pin_threshold: float) -> bool:
        """``remove_least_ranked_unless_batch`` without the removed row (a store does not
        report what it removed): True if an entry went. A backend may skip reading it."""
        return self.remove_least_ranked_unless_batch(exclude, pin_threshold) is not None

    def drop_least_ranked_if_one_over(self, exclude: Optional[str], pin_threshold: float,
                                      max_entries: int) -> bool:
        """``drop_least_ranked_unless_batch`` only when the count is exactly ``max_entries
        + 1``, checked by the backend in the same step (a store that expects to be past the
        bound then does not count first); False, changing nothing, otherwise. Only for
        backends whose write transactions exclude other writers; this default does
        nothing (the caller then counts and prunes as usual)."""
        return False

    @abstractmethod
    def delete(self, entry_ids: Sequence[str]) -> int: ...

    @abstractmethod
    def delete_if_unchanged(self, entry_id: str, body: str) -> bool:
        """Delete ``entry_id`` only if its stored JSON is still ``body``."""

    # The commit records of archive moves (see ``memlint.runtime.archive``).
    @abstractmethod
    def record_moves(self, token: str, archive_uid: str, entry_ids: Iterable[str]) -> None: ...

    @abstractmethod
    def moved_ids(self, token: str) -> List[str]: ...

    @abstractmethod
    def move_tokens(self, archive_uid: str) -> List[str]: ...

    @abstractmethod
    def forget_moves(self, token: str) -> None: ...


class StoreBackend(ABC):
    """Where a ``LongTermMemory`` keeps its rows. Owns its connection: close it."""

    #: The database file (or ``None`` when the store lives in memory only).
    location: Optional[str] = None
    #: True when opened read-only (a read-only file or file system): writes raise.
    read_only: bool = False
    #: True when other writers change the store while a write transaction runs (a server
    #: database); False when a write transaction excludes them (SQLite, in memory), so
    #: that only its own writes change the count meanwhile.
    concurrent_writers: bool = False
    #: True when the backend rebuilds a body's head from the row (see ``upsert``'s ``slim``).
    derives_head: bool = False

    @abstractmethod
    def write(self) -> ContextManager[StoreTransaction]:
        """An exclusive write transaction: committed on success, rolled back on error."""

    @abstractmethod
    def read(self) -> ContextManager[StoreTransaction]:
        """A read transaction: one consistent snapshot for several reads."""

    @abstractmethod
    def rehearse(self) -> ContextManager[StoreTransaction]:
        """A write transaction that is always rolled back (for dry runs)."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> "StoreBackend":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class ArchiveRow(NamedTuple):
    """One archived entry and its index record."""

    id: str
    archived_us: int
    original_ts: Optional[str]
    importance: Optional[float]
    tags: str  # JSON list
    checksum: str  # SHA-256 of the uncompressed canonical JSON
    codec: str
    size: int  # uncompressed bytes
    payload: bytes


class ArchiveTransaction(ABC):
    @abstractmethod
    def put(self, row: ArchiveRow) -> None:
        """Insert or replace the archived entry ``row.id``."""

    @abstractmethod
    def get(self, entry_id: str) -> Optional[ArchiveRow]: ...

    @abstractmethod
    def ids(self) -> List[str]: ...

    @abstractmethod
    def index(self) -> List[ArchiveRow]:
        """Every index record (``payload`` left empty)."""

    @abstractmethod
    def totals(self) -> Tuple[int, int, int]:
        """(entries, uncompressed bytes, stored bytes) of the archived entries."""

    @abstractmethod
    def delete_older(self, cutoff_us: int) -> int: ...

    # Two-phase archive moves: staged rows become visible once their source commits.
    @abstractmethod
    def stage(self, token: str, source: str, created_us: int, rows: Sequence[ArchiveRow]) -> None: ...

    @abstractmethod
    def staged(self, entry_id: str) -> List[Tuple[str, str, ArchiveRow]]:
        """(token, source, row) of every staged copy of ``entry_id``."""

    @abstractmethod
    def staged_tokens(self) -> List[Tuple[str, str]]:
        """(token, source) of every staged move."""

    @abstractmethod
    def staged_ids(self, token: str) -> List[str]: ...

    @abstractmethod
    def publish(self, token: str, entry_ids: Sequence[str], archived_us: int) -> None:
        """Make the staged ``entry_ids`` of ``token`` archived; drop the rest of ``token``."""


class ArchiveBackend(ABC):
    """Where a ``MemoryArchiver`` keeps payloads and its index. Owns its connection."""

    uid: str = ""
    location: Optional[str] = None

    @abstractmethod
    def mover_lock(self) -> ContextManager[None]:
        """Held by ``archive_from``: one mover per archive, released if the holder dies."""

    def atomic_move(self, store: StoreBackend, rows: Sequence[StoreRow], packed: Sequence[ArchiveRow],
                    archived_us: int) -> Optional[List[str]]:
        """Move ``rows`` out of ``store`` into the archive in one transaction and return the
        ids moved, when both share one database; ``None`` when they do not (the archiver
        then uses its two-phase move)."""
        return None

    @abstractmethod
    def write(self) -> ContextManager[ArchiveTransaction]: ...

    @abstractmethod
    def read(self) -> ContextManager[ArchiveTransaction]: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> "ArchiveBackend":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

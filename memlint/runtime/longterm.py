"""``LongTermMemory``: bounded, persistent long-term memory (rule MEM-005).

A drop-in for the rules document's class (``LongTermMemory(max_entries, retention_days)``,
``store``, ``storage``, ``get_stats``) that fixes what its example gets wrong:

- it persists (``path=``: one SQLite file, safe for many threads and processes) instead
  of living in a list that a restart empties;
- a store costs amortized O(log n): pruning runs in batches between two watermarks over
  indexes, instead of sorting everything on every insert past the bound;
- retention combines a count bound, an age bound, importance pins (importance above 0.8
  outlives the age bound) and a grace period, and ``prune(dry_run=True)`` shows what
  would go and why;
- time is timezone-aware UTC from an injectable clock; entries are JSON, never pickle;
  the caller's dict is never modified; bad input raises before anything is written.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Tuple, Union

from memlint.runtime._backend import StoreBackend, StoreRow, StoreTransaction
from memlint.runtime._common import (
    Clock,
    check_entry,
    check_importance,
    check_number,
    check_tags,
    content_id,
    from_micros,
    iso_utc,
    normalize_id,
    read_clock,
    to_json,
    to_micros,
    utc_now,
)
from memlint.runtime._sqlite import open_store_backend

__all__ = ["LongTermMemory", "PruneDecision"]

_DAY_US = 86_400 * 1_000_000
_PAGE = 1000
# Age pruning runs with every count prune and, besides, at most this often on store():
# expiry is a background concern, and checking it on every insert would cost a query each.
_AGE_CHECK_INTERVAL_US = 60 * 1_000_000


class PruneDecision(NamedTuple):
    """One entry that pruning removes (or, in a dry run, would remove), and why."""

    id: str
    #: ``"age"`` (older than the retention period and not pinned) or ``"count"`` (over
    #: ``max_entries``: the least important, then oldest, entries go first).
    reason: str
    #: When the entry was stored (ISO 8601, UTC).
    timestamp: str
    importance: float
    #: The same, in words.
    detail: str


class LongTermMemory:
    """Long-term memory with a count bound, an age bound, importance pins and a grace period.

    ``max_entries``: the most entries kept (a hard bound). When a store goes past it, a
    batch is removed at once, down to ``low_watermark * max_entries``: entries past their
    ``grace_period`` and not pinned, least important and then oldest first. Only if
    those run out, as few entries as the bound needs go: fresh ones, then pinned ones
    (least important, oldest first). An entry is never removed by its own ``store``.

    ``retention_days``: entries stored longer ago than this are removed unless their
    importance is above ``pin_threshold`` (0.8, as the rules document). ``None``: no age
    bound.

    ``path``: an SQLite file to keep the memory in (created if missing); ``url``: a
    PostgreSQL database shared by many workers (``postgresql://...``, needs
    ``memlint[postgres]``); neither keeps it in memory only. ``clock``: a callable returning an aware ``datetime`` (for tests).
    ``durable=True`` also survives power loss (fsync on every commit), at a cost per store.
    """

    def __init__(
        self,
        max_entries: int = 10000,
        retention_days: Optional[float] = 90,
        *,
        path: Union[str, "os.PathLike[str]", None] = None,
        url: Optional[str] = None,
        pin_threshold: float = 0.8,
        grace_period: Union[timedelta, float] = timedelta(seconds=60),
        low_watermark: float = 0.9,
        clock: Optional[Clock] = None,
        busy_timeout: float = 30.0,
        durable: bool = False,
    ) -> None:
        self.max_entries = check_number("max_entries", max_entries, low=1, integer=True)
        self.retention_days = check_number("retention_days", retention_days, low=0, allow_none=True)
        self.pin_threshold = float(check_number("pin_threshold", pin_threshold, low=0.0, high=1.0))
        if isinstance(grace_period, timedelta):
            grace_seconds = grace_period.total_seconds()
        else:
            grace_seconds = check_number("grace_period", grace_period)
        if grace_seconds < 0:
            raise ValueError(f"grace_period must not be negative, not {grace_period!r}")
        self.grace_period = timedelta(seconds=grace_seconds)
        fraction = check_number("low_watermark", low_watermark, high=1.0)
        if fraction <= 0:
            raise ValueError(f"low_watermark must be in (0, 1], not {low_watermark!r}")
        self.low_watermark = fraction
        check_number("busy_timeout", busy_timeout, low=0)
        if clock is not None and not callable(clock):
            raise TypeError("clock must be a callable returning an aware datetime")
        if path is not None:
            path = os.fspath(path)
            if not isinstance(path, str):
                raise TypeError("path must be a str or os.PathLike[str]")
        if url is not None:
            if path is not None:
                raise ValueError("give either path= (SQLite) or url= (PostgreSQL), not both")
            if not isinstance(url, str):
                raise TypeError(f"url must be a str, not {type(url).__name__}")
        self._clock: Clock = clock if clock is not None else utc_now
        self._grace_us = int(grace_seconds * 1_000_000)
        self._retention_us = None if self.retention_days is None else int(self.retention_days * _DAY_US)
        self._next_age_check_us: Optional[int] = None
        self._backend: StoreBackend = open_store_backend(
            path, busy_timeout=busy_timeout, durable=bool(durable), url=url
        )

    # -- lifecycle -------------------------------------------------------------------

    @property
    def path(self) -> Optional[str]:
        """The database file, or ``None`` for an in-memory store."""
        return self._backend.location

    def close(self) -> None:
        """Release the database connection. Idempotent; the object is unusable afterwards."""
        self._backend.close()

    def __enter__(self) -> "LongTermMemory":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.path or "memory"
        return f"LongTermMemory(max_entries={self.max_entries}, retention_days={self.retention_days}, at {where})"

    # -- writing ---------------------------------------------------------------------

    def store(self, entry: Dict[str, Any]) -> str:
        """Store a copy of ``entry`` and return its id; prune if a bound is passed.

        The stored copy gets ``timestamp`` (now, ISO 8601 UTC; any given value is
        replaced, as in the rules document), ``importance`` (default 0.5, must be in
        [0, 1]) and ``id`` (the entry's own, or one derived from its content). Storing
        an id that exists replaces that entry. ``entry`` itself is not modified.
        """
        now = read_clock(self._clock)
        now_us = to_micros(now)
        entry_id, importance, body = self._prepare(entry, iso_utc(now))
        pruned: Optional[List[PruneDecision]] = []
        with self._backend.write() as tx:
            tx.upsert(entry_id, now_us, importance, body)
            due = self._next_age_check_us is None or now_us >= self._next_age_check_us
            if due or tx.count() > self.max_entries:
                pruned = self._prune(tx, now_us, protect=entry_id)
        if pruned is None:
            # Another replica was pruning while our entry was not yet committed, so it may
            # not have counted it: wait for it to finish, then check the bound again.
            with self._backend.write() as tx:
                self._prune(tx, now_us, protect=entry_id, wait=True)
        return entry_id

    def _prepare(self, entry: Any, timestamp: str) -> Tuple[str, float, str]:
        data = check_entry(entry)
        importance = check_importance(data.get("importance", 0.5))
        data["importance"] = importance
        data["timestamp"] = timestamp
        if "id" in data:
            entry_id = normalize_id(data.pop("id"))
        else:
            entry_id = content_id(data)
        body = to_json({"id": entry_id, **data})
        return entry_id, importance, body

    def delete(self, entry_id: Union[str, int]) -> bool:
        """Remove one entry; True if it existed."""
        key = normalize_id(entry_id)
        with self._backend.write() as tx:
            return tx.delete([key]) == 1

    def prune(self, dry_run: bool = False) -> List[PruneDecision]:
        """Apply the age and count bounds now; return what was (or would be) removed, and why.

        With ``dry_run=True`` nothing changes: the same pruning runs in a transaction that
        is rolled back, so the answer is exactly what a real prune would do at this moment.
        """
        now_us = to_micros(read_clock(self._clock))
        if dry_run:
            with self._backend.rehearse() as tx:
                return self._prune(tx, now_us, protect=None, dry_run=True, wait=True) or []
        with self._backend.write() as tx:
            return self._prune(tx, now_us, protect=None, wait=True) or []

    def _prune(self, tx: StoreTransaction, now_us: int, protect: Optional[str],
               dry_run: bool = False, wait: bool = False) -> Optional[List[PruneDecision]]:
        """Prune inside ``tx``; ``None`` if another replica is pruning (and ``wait`` is False)."""
        decisions: List[PruneDecision] = []
        if not tx.try_lock_pruning(wait=wait):
            return None
        grace_cutoff = now_us - self._grace_us
        tx.settle(grace_cutoff)
        if self._retention_us is not None:
            cutoff = min(now_us - self._retention_us, grace_cutoff)
            while True:
                victims = tx.age_victims(cutoff, self.pin_threshold, _PAGE, protect)
                if not victims:
                    break
                tx.delete([row.id for row in victims])
                decisions.extend(self._decision(row, "age") for row in victims)
        # Re-read the count after each round: with concurrent writers (a server database)
        # it grows while we prune, and the bound is for everyone's entries.
        while True:
            count = tx.count()
            if count <= self.max_entries:
                break
            removed = 0
            # The batch: settled, unpinned entries, down to the low watermark, so that
            # the next prune is (max_entries - low watermark) stores away.
            low_count = min(self.max_entries, int(self.max_entries * self.low_watermark))
            victims = tx.rank_victims(True, count - low_count, protect, self.pin_threshold)
            removed += tx.delete([row.id for row in victims])
            decisions.extend(self._decision(row, "count") for row in victims)
            # Not enough of those: as few as the bound needs, fresh entries first, and
            # pinned entries only when nothing else is left.
            for settled in (False, True):
                if count - removed <= self.max_entries:
                    break
                victims = tx.rank_victims(settled, count - removed - self.max_entries, protect)
                removed += tx.delete([row.id for row in victims])
                decisions.extend(self._decision(row, "count") for row in victims)
            if removed == 0:
                break  # nothing may go (only the protected entry, or rows locked by others)
        if not dry_run:
            self._next_age_check_us = now_us + _AGE_CHECK_INTERVAL_US
        return decisions

    def _decision(self, row: StoreRow, reason: str) -> PruneDecision:
        stamp = iso_utc(from_micros(row.ts_us))
        if reason == "age":
            detail = (f"stored {stamp}, more than {self.retention_days} days ago, and importance "
                      f"{row.importance} is not above the pin threshold {self.pin_threshold}")
        else:
            detail = (f"over max_entries={self.max_entries}: among the least important "
                      f"(importance {row.importance}) and oldest (stored {stamp})")
        return PruneDecision(row.id, reason, stamp, row.importance, detail)

    # -- reading ---------------------------------------------------------------------

    def get(self, entry_id: Union[str, int]) -> Optional[Dict[str, Any]]:
        """The stored entry with this id, or ``None``."""
        key = normalize_id(entry_id)
        with self._backend.read() as tx:
            row = tx.get(key)
        return None if row is None else _decode(row)

    def search_by_tag(self, tag: str, limit: int = 1000) -> List[Dict[str, Any]]:
        """Entries whose ``tags`` contain ``tag``, in the order stored (an index lookup)."""
        check_tags([tag])
        check_number("limit", limit, low=0, integer=True)
        with self._backend.read() as tx:
            rows = tx.by_tag(tag, limit)
        return [_decode(row) for row in rows]

    def __contains__(self, entry_id: object) -> bool:
        try:
            key = normalize_id(entry_id)
        except (TypeError, ValueError):
            return False
        with self._backend.read() as tx:
            return tx.get(key) is not None

    def __len__(self) -> int:
        with self._backend.read() as tx:
            return tx.count()

    def __iter__(self) -> Iterator[Dict[str, Any]]:
        """Every kept entry, in the order first stored, read a page at a time."""
        after = 0
        while True:
            with self._backend.read() as tx:
                rows = tx.scan(after, _PAGE)
            if not rows:
                return
            for row in rows:
                yield _decode(row)
            after = rows[-1].seq

    @property
    def storage(self) -> List[Dict[str, Any]]:
        """The kept entries (copies), in the order first stored, as the document's list."""
        entries: List[Dict[str, Any]] = []
        with self._backend.read() as tx:
            after = 0
            while True:
                rows = tx.scan(after, _PAGE)
                if not rows:
                    break
                entries.extend(_decode(row) for row in rows)
                after = rows[-1].seq
        return entries

    def get_stats(self) -> Dict[str, Any]:
        """``total_entries``, ``max_entries``, ``usage_percent`` and ``oldest_entry`` (ISO or None)."""
        with self._backend.read() as tx:
            total = tx.count()
            oldest = tx.oldest_ts()
        return {
            "total_entries": total,
            "max_entries": self.max_entries,
            "usage_percent": total / self.max_entries * 100,
            "oldest_entry": None if oldest is None else iso_utc(from_micros(oldest)),
        }


def _decode(row: StoreRow) -> Dict[str, Any]:
    value = json.loads(row.body)
    if not isinstance(value, dict):  # pragma: no cover - only a hand-edited file gets here
        raise ValueError(f"stored entry {row.id!r} is not a JSON object")
    return value

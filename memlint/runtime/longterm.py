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
  the caller's dict is never modified; bad input raises before anything is written;
- in memory (no ``path``/``url``) it is a dict-and-heap engine (``_memstore``), not a
  database; ``namespace=`` shares one file or database between separate memories;
  ``update``/``delete``/``clear``, ``search`` with filters and pagination, a per-entry
  ``ttl`` and access counts (MEM-006's access frequency) complete the API.
"""

from __future__ import annotations

import heapq
import json
import os
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, ContextManager, Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

from memlint.runtime._backend import Query, StoreBackend, StoreRow, StoreTransaction, rank_order
from memlint.runtime._common import (
    Clock,
    canonical_json,
    check_entry,
    check_namespace,
    check_importance,
    check_number,
    check_tags,
    content_id_of_json,
    from_micros,
    id_value,
    iso_of_micros,
    iso_utc,
    normalize_id,
    parse_timestamp,
    read_clock,
    to_micros,
    utc_now,
)
from memlint.runtime._sqlite import open_store_backend

__all__ = ["LongTermMemory", "PruneDecision"]

_DAY_US = 86_400 * 1_000_000
_PAGE = 1000
# On store(), the maintenance part of pruning (settling entries past their grace period,
# ttl and age expiry) runs at most this often (and at least as often as the grace period
# is long): it is a background concern, and doing it on every store past the bound would
# cost several queries each. prune() always does all of it.
_AGE_CHECK_INTERVAL_US = 60 * 1_000_000
_KEEP: Any = object()  # "leave as it is" for update()
IdLike = Union[str, int]
get_ident = threading.get_ident


class PruneDecision(NamedTuple):
    """One entry that pruning removes (or, in a dry run, would remove), and why."""

    id: str
    #: ``"age"`` (older than the retention period and not pinned), ``"ttl"`` (its own
    #: ``ttl`` ran out) or ``"count"`` (over ``max_entries``: the least important, then
    #: oldest, entries go first).
    reason: str
    #: When the entry was stored (ISO 8601, UTC).
    timestamp: str
    importance: float
    #: The same, in words.
    detail: str


class LongTermMemory:
    """Long-term memory with a count bound, an age bound, importance pins and a grace period.

    ``max_entries``: the most entries kept (a hard bound, enforced on open too). When a
    store goes past it, a batch is removed at once, down to ``low_watermark *
    max_entries``: entries past their ``grace_period`` and not pinned, least important and
    then oldest first. If that is not enough, as few entries as the bound needs go, the
    least important (then oldest) of all, fresh or settled, pinned or not: a new
    important entry outranks an old unimportant one. An entry is never removed by its own
    ``store``.

    ``retention_days``: entries stored longer ago than this are removed unless their
    importance is above ``pin_threshold`` (0.8, as the rules document), and never within
    their grace period. ``None``: no age bound. ``store(entry, ttl=...)`` gives one entry
    its own lifetime.

    ``path``: an SQLite file (created, with its folder, if missing); ``url``: a
    PostgreSQL database shared by many workers (``postgresql://...``, needs
    ``memlint[postgres]``); neither keeps it in this process only. ``namespace``: a name
    that separates memories sharing one file or database (own bound, own entries).
    ``clock``: a callable returning an aware ``datetime`` (for tests). ``durable=True``
    also survives power loss (fsync on every commit). ``read_only=True`` opens an
    existing file without writing (also chosen automatically for a read-only file).
    ``track_access=False``: ``get`` does not count accesses (no write per read).
    """

    def __init__(
        self,
        max_entries: int = 10000,
        retention_days: Optional[float] = 90,
        *,
        path: Union[str, "os.PathLike[str]", None] = None,
        url: Optional[str] = None,
        namespace: Optional[str] = None,
        pin_threshold: float = 0.8,
        grace_period: Union[timedelta, float] = timedelta(seconds=60),
        low_watermark: float = 0.9,
        clock: Optional[Clock] = None,
        busy_timeout: float = 30.0,
        durable: bool = False,
        read_only: bool = False,
        track_access: bool = True,
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
        self.namespace = check_namespace(namespace)
        self.track_access = bool(track_access)
        self._clock: Clock = clock if clock is not None else utc_now
        self._grace_us = int(grace_seconds * 1_000_000)
        self._retention_us = None if self.retention_days is None else int(self.retention_days * _DAY_US)
        self._next_age_check_us: Optional[int] = None
        # Whether the last store found this memory full: the next one then expects to be
        # one over the bound, and removes one entry in the step that checks it (a hint
        # only; a wrong guess costs a statement, never an entry).
        self._full = False
        self._maintenance_interval_us = min(_AGE_CHECK_INTERVAL_US, self._grace_us)
        self._backend: StoreBackend = open_store_backend(
            path, busy_timeout=busy_timeout, durable=bool(durable), url=url,
            namespace=self.namespace, read_only=bool(read_only),
        )
        self._slim_bodies = self._backend.derives_head
        self._batch: Optional[_Batch] = None
        self._batch_lock = threading.Lock()  # one batch per object at a time
        if not self._backend.read_only:
            try:
                self._enforce_bound_on_open()
            except BaseException:
                self._backend.close()
                raise

    def _enforce_bound_on_open(self) -> None:
        # A store opened with a smaller max_entries than it holds keeps its bound at once.
        with self._read() as tx:
            over = tx.count() > self.max_entries
        if over:
            now_us = to_micros(read_clock(self._clock))
            with self._write() as tx:
                self._prune(tx, now_us, protect=None, wait=True)

    # -- lifecycle -------------------------------------------------------------------

    @property
    def path(self) -> Optional[str]:
        """The database file, or ``None`` for an in-memory or PostgreSQL store."""
        return self._backend.location

    @property
    def read_only(self) -> bool:
        """True when opened read-only: every write raises ``PermissionError``."""
        return self._backend.read_only

    def close(self) -> None:
        """Release the database connection. Idempotent; the object is unusable afterwards."""
        self._backend.close()

    def __enter__(self) -> "LongTermMemory":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.path or getattr(self._backend, "display", None) or "memory"
        space = f", namespace={self.namespace!r}" if self.namespace else ""
        return (f"LongTermMemory(max_entries={self.max_entries}, retention_days={self.retention_days}"
                f"{space}, at {where})")

    def _in_own_batch(self) -> bool:
        """True inside a ``batch()`` that this thread opened."""
        batch = self._batch
        return batch is not None and batch.owner == get_ident()

    def _write(self) -> ContextManager[StoreTransaction]:
        """A write transaction: the open ``batch()``'s, in the thread that opened it."""
        batch = self._batch
        if batch is not None and batch.owner == get_ident():
            return batch
        return self._backend.write()

    def _read(self) -> ContextManager[StoreTransaction]:
        batch = self._batch
        if batch is not None and batch.owner == get_ident():
            return batch  # reads see the batch's own writes
        return self._backend.read()

    @contextmanager
    def batch(self) -> Iterator["LongTermMemory"]:
        """Group commit: every call on this memory from this thread inside the block runs
        in one transaction, committed once when the block ends.

        Bounds are enforced on every store as usual. Durability is the block's: nothing
        of it is committed before it ends, so a crash or kill inside it loses the whole
        block (never a part of it), and when it ends everything is. If the block raises,
        or any call inside it raised (even if caught), nothing of it is stored, and a
        caught failure makes the block end with ``RuntimeError``. The write lock is held
        for the whole block: other threads' writes to this memory, and other writers to
        the same file, wait for it. Nested blocks join the outer one.
        """
        self._writable()
        current = self._batch
        if current is not None and current.owner == get_ident():
            yield self
            return
        with self._batch_lock:
            with self._backend.write() as tx:
                batch = _Batch(get_ident(), tx)
                self._batch = batch
                try:
                    yield self
                finally:
                    self._batch = None
                if batch.failed:
                    raise RuntimeError("a call inside this batch() raised: nothing of the batch was stored")

    def _writable(self) -> None:
        if self._backend.read_only:
            raise PermissionError(f"{self.path} is open read-only: this memory cannot be changed")

    # -- writing ---------------------------------------------------------------------

    def store(self, entry: Dict[str, Any], *, ttl: Union[timedelta, float, None] = None) -> IdLike:
        """Store a copy of ``entry`` and return its id; prune if a bound is passed.

        The stored copy gets ``timestamp`` (now, ISO 8601 UTC; any given value is
        replaced, as in the rules document), ``importance`` (default 0.5, must be in
        [0, 1]) and ``id`` (the entry's own, returned as given, or a content id derived
        from everything but ``id``, ``timestamp`` and ``importance``). Storing an id that
        exists replaces that entry. ``ttl`` (seconds or a ``timedelta``): the entry
        expires that long after now, whatever its importance. ``entry`` is not modified.
        """
        backend = self._backend
        if backend.read_only:
            self._writable()
        now_us = time.time_ns() // 1000 if self._clock is utc_now else self._now_us()
        expires_us = None if ttl is None else now_us + _ttl_micros(ttl)
        key, body, slim, importance, given, tags = self._prepare(entry, now_us)
        pruned: Optional[List[PruneDecision]] = []
        batch = self._batch
        with (backend.write() if batch is None or batch.owner != get_ident() else batch) as tx:
            tx.upsert(key, now_us, importance, body, tags, expires_us, slim)
            next_check = self._next_age_check_us
            if next_check is None or now_us >= next_check:
                pruned = self._prune(tx, now_us, protect=key, report=False)
            elif not (self._full and tx.drop_least_ranked_if_one_over(key, self.pin_threshold, self.max_entries)):
                count = tx.count()
                self._full = count >= self.max_entries
                if count > self.max_entries:
                    pruned = self._prune(tx, now_us, protect=key, report=False, maintenance=False, count=count)
        if pruned is None:
            # Another replica was pruning while our entry was not yet committed, so it may
            # not have counted it: wait for it to finish, then check the bound again.
            with self._write() as tx:
                self._prune(tx, now_us, protect=key, wait=True, report=False)
        return given

    def store_many(self, entries: Iterable[Dict[str, Any]], *,
                   ttl: Union[timedelta, float, None] = None) -> List[IdLike]:
        """Store several entries in one transaction (one commit: group commit), then prune
        once; return their ids. All are checked before anything is written."""
        self._writable()
        now_us = self._now_us()
        expires_us = None if ttl is None else now_us + _ttl_micros(ttl)
        prepared = [self._prepare(entry, now_us) for entry in entries]
        if not prepared:
            return []
        protect = prepared[-1][0]
        pruned: Optional[List[PruneDecision]] = []
        with self._write() as tx:
            for key, body, slim, importance, _, tags in prepared:
                tx.upsert(key, now_us, importance, body, tags, expires_us, slim)
            due = self._next_age_check_us is None or now_us >= self._next_age_check_us
            count = None if due else tx.count()
            if count is None or count > self.max_entries:
                pruned = self._prune(tx, now_us, protect=protect, report=False, maintenance=due, count=count)
        if pruned is None:
            with self._write() as tx:
                self._prune(tx, now_us, protect=protect, wait=True, report=False)
        return [given for _, _, _, _, given, _ in prepared]

    def _now_us(self) -> int:
        """Now, in microseconds since the epoch, from the clock (the default clock without
        making a datetime: a store needs only the number)."""
        if self._clock is utc_now:
            return time.time_ns() // 1000
        return to_micros(read_clock(self._clock))

    def _prepare(self, entry: Any, now_us: int) -> Tuple[str, str, bool, float, IdLike, List[str]]:
        """(key, JSON body, slim, importance, id as given, tags) of an entry to store.

        ``slim``: the body is only what follows its head (``{"id":...,"importance":...,
        "timestamp":"..."``), for a backend that derives the head from the row itself.
        """
        if type(entry) is dict:
            data = dict(entry)
        else:
            data = check_entry(entry)
        importance = check_importance(data.pop("importance", 0.5))
        data.pop("timestamp", None)
        tags: List[str] = []
        if "tags" in data:
            tags = data["tags"] = check_tags(data["tags"])
        has_id = "id" in data
        given = data.pop("id", None)
        # One serialization serves the content id and the body: the canonical JSON of the
        # caller's content, after the id, importance and timestamp.
        content = canonical_json(data)
        tail = "}" if content == "{}" else "," + content[1:]
        if has_id:
            key = normalize_id(given)
            given = id_value(given)
            # An int id, or one JSON escapes (a quote; ids hold no backslash or control
            # character), is kept in the body as given.
            if self._slim_bodies and given is key and '"' not in key:
                return key, tail, True, importance, given, tags
            id_json = json.dumps(given, ensure_ascii=False)
        else:
            key = given = content_id_of_json(content)
            if self._slim_bodies:
                return key, tail, True, importance, given, tags
            id_json = '"' + key + '"'  # hex digits: nothing to escape
        head = '{"id":%s,"importance":%r,"timestamp":"%s"' % (id_json, importance, iso_of_micros(now_us))
        return key, head + tail, False, importance, given, tags

    def update(self, entry_id: IdLike, fields: Optional[Dict[str, Any]] = None, *,
               importance: Optional[float] = None, ttl: Any = _KEEP) -> Dict[str, Any]:
        """Change a stored entry in place and return it: ``fields`` are merged into it
        (``id``/``timestamp`` cannot change), ``importance`` replaces its importance,
        ``ttl`` (seconds, ``timedelta``, or ``None`` for none) restarts its lifetime from
        now. Its time, place and grace period stay. ``KeyError`` if there is no such entry.
        """
        self._writable()
        key = normalize_id(entry_id)
        changes = check_entry(fields or {})
        for fixed in ("id", "timestamp"):
            if fixed in changes:
                raise ValueError(f"update() cannot change an entry's {fixed!r}")
        if "importance" in changes:
            if importance is not None:
                raise ValueError("give importance either in fields or as importance=, not both")
            importance = changes.pop("importance")
        now_us = to_micros(read_clock(self._clock))
        with self._write() as tx:
            row = tx.get(key)
            if row is None or _expired(row, now_us):
                raise KeyError(f"no entry with id {key!r}")
            data = json.loads(row.body)
            data.update(changes)
            if importance is not None:
                data["importance"] = check_importance(importance)
            new_importance = float(data["importance"])
            tags = check_tags(data.get("tags", []))
            expires = row.expires_us
            if ttl is not _KEEP:
                expires = None if ttl is None else now_us + _ttl_micros(ttl)
            head = {"id": data.pop("id"), "importance": new_importance, "timestamp": data.pop("timestamp")}
            data.pop("importance", None)
            body = json.dumps(head, ensure_ascii=False)[:-1]
            content = canonical_json(data)
            body += "}" if content == "{}" else "," + content[1:]
            tx.rewrite(key, new_importance, body, tags, expires)
            if new_importance < row.importance:
                self._prune(tx, now_us, protect=None)
        return json.loads(body)

    def delete(self, entry_id: IdLike) -> bool:
        """Remove one entry; True if it existed."""
        self._writable()
        key = normalize_id(entry_id)
        with self._write() as tx:
            return tx.delete([key]) == 1

    def clear(self) -> int:
        """Remove every entry (of this namespace); return how many went."""
        self._writable()
        with self._write() as tx:
            return tx.clear()

    def prune(self, dry_run: bool = False) -> List[PruneDecision]:
        """Apply the ttl, age and count bounds now; return what was (or would be) removed, and why.

        With ``dry_run=True`` nothing changes: the same pruning runs in a transaction that
        is rolled back, so the answer is exactly what a real prune would do at this moment.
        """
        now_us = to_micros(read_clock(self._clock))
        if dry_run:
            if self._in_own_batch():
                raise RuntimeError("prune(dry_run=True) cannot run inside batch(): the batch is not committed yet")
            with self._backend.rehearse() as tx:
                return self._prune(tx, now_us, protect=None, dry_run=True, wait=True) or []
        self._writable()
        with self._write() as tx:
            return self._prune(tx, now_us, protect=None, wait=True) or []

    def _prune(self, tx: StoreTransaction, now_us: int, protect: Optional[str],
               dry_run: bool = False, wait: bool = False, report: bool = True,
               maintenance: bool = True, count: Optional[int] = None) -> Optional[List[PruneDecision]]:
        """Prune inside ``tx``; ``None`` if another replica is pruning (and ``wait`` is False).

        ``report=False`` (a store) skips describing each removal; ``maintenance=False``
        (a store between two maintenance rounds) only enforces the count bound, and
        ``count`` is then the entries the caller just counted in ``tx``.
        """
        decisions: Optional[List[PruneDecision]] = [] if report else None
        if not tx.try_lock_pruning(wait=wait):
            return None
        if maintenance:
            count = None  # settling and expiry change it
            grace_cutoff = now_us - self._grace_us
            tx.settle(grace_cutoff)
            self._remove_all(tx, decisions, "ttl", lambda: tx.expired(now_us, _PAGE, protect))
            if self._retention_us is not None:
                cutoff = min(now_us - self._retention_us, grace_cutoff)
                self._remove_all(tx, decisions, "age",
                                 lambda: tx.age_victims(cutoff, self.pin_threshold, _PAGE, protect))
        # With concurrent writers (a server database) the count grows while we prune, and
        # the bound is for everyone's entries: it is read again after each round. Where a
        # write transaction excludes every other writer, only our removals change it.
        exclusive = not self._backend.concurrent_writers
        if count is None:
            count = tx.count()
        while count > self.max_entries:
            if count == self.max_entries + 1:
                # The usual case past the bound, when no batch is due (no settled,
                # unpinned entry): the least important of all goes, in one call.
                if decisions is None:
                    gone = tx.drop_least_ranked_unless_batch(protect, self.pin_threshold)
                else:
                    least = tx.remove_least_ranked_unless_batch(protect, self.pin_threshold)
                    gone = least is not None
                    if least is not None:
                        decisions.append(self._decision(least, "count"))
                if gone:
                    count = count - 1 if exclusive else tx.count()
                    continue
            # The batch: settled, unpinned entries, down to the low watermark, so that
            # the next prune is (max_entries - low watermark) stores away.
            low_count = min(self.max_entries, int(self.max_entries * self.low_watermark))
            victims = tx.rank_victims(True, count - low_count, protect, self.pin_threshold)
            removed = self._remove(tx, victims, decisions, "count") if victims else 0
            need = count - removed - self.max_entries
            if need == 1:
                # The usual case past the bound: the least important of all (of the two
                # group heads).
                least = tx.remove_least_ranked(protect)
                if least is not None:
                    removed += 1
                    if decisions is not None:
                        decisions.append(self._decision(least, "count"))
            elif need > 0:
                # Not enough: as few as the bound needs, ranked by importance then age
                # over every entry, fresh and settled alike.
                candidates = tx.rank_victims(False, need, protect) + tx.rank_victims(True, need, protect)
                chosen = heapq.nsmallest(need, candidates, key=rank_order)
                removed += self._remove(tx, chosen, decisions, "count")
            if removed == 0:
                break  # nothing may go (only the protected entry, or rows locked by others)
            count = count - removed if exclusive else tx.count()
        if not dry_run and maintenance:
            self._next_age_check_us = now_us + self._maintenance_interval_us
        return decisions if decisions is not None else []

    def _remove(self, tx: StoreTransaction, rows: Sequence[StoreRow],
                decisions: Optional[List["PruneDecision"]], reason: str) -> int:
        if not rows:
            return 0
        removed = tx.delete([row.id for row in rows])
        if decisions is not None:
            decisions.extend(self._decision(row, reason) for row in rows)
        return removed

    def _remove_all(self, tx: StoreTransaction, decisions: Optional[List["PruneDecision"]], reason: str,
                    victims: Any) -> None:
        while True:
            rows = victims()
            if not rows or self._remove(tx, rows, decisions, reason) == 0:
                return

    def _decision(self, row: StoreRow, reason: str) -> PruneDecision:
        stamp = iso_utc(from_micros(row.ts_us))
        if reason == "age":
            detail = (f"stored {stamp}, more than {self.retention_days} days ago, and importance "
                      f"{row.importance} is not above the pin threshold {self.pin_threshold}")
        elif reason == "ttl":
            expiry = iso_utc(from_micros(row.expires_us or 0))
            detail = f"its ttl ran out at {expiry}"
        else:
            detail = (f"over max_entries={self.max_entries}: among the least important "
                      f"(importance {row.importance}) and oldest (stored {stamp})")
        return PruneDecision(row.id, reason, stamp, row.importance, detail)

    # -- reading ---------------------------------------------------------------------

    def get(self, entry_id: IdLike) -> Optional[Dict[str, Any]]:
        """The stored entry with this id, or ``None`` (also once its ttl ran out).

        Counts one access (see ``accesses``) unless ``track_access=False`` or read-only.
        """
        key = normalize_id(entry_id)
        now_us = to_micros(read_clock(self._clock))
        counting = self.track_access and not self._backend.read_only
        with (self._write() if counting else self._read()) as tx:
            row = tx.get(key)
            if row is None or _expired(row, now_us):
                return None
            if counting:
                tx.touch(key)
        return _decode(row)

    def accesses(self, entry_id: IdLike) -> int:
        """How often ``get`` has returned this entry (0 if absent); MEM-006's access frequency."""
        key = normalize_id(entry_id)
        with self._read() as tx:
            row = tx.get(key)
        return 0 if row is None else row.hits

    def search(self, *, tags: Optional[Sequence[str]] = None, since: Any = None, until: Any = None,
               min_importance: Optional[float] = None, max_importance: Optional[float] = None,
               limit: Optional[int] = None, offset: int = 0) -> List[Dict[str, Any]]:
        """Entries matching every filter given, in the order first stored.

        ``tags``: entries carrying all of them; ``since``/``until``: stored at or after /
        before (aware ``datetime`` or ISO 8601; naive means UTC); ``min_importance``/
        ``max_importance``: inclusive bounds. Pagination is explicit: ``limit`` (``None``:
        every match) and ``offset``; a page shorter than ``limit`` is the last. Never
        capped silently.
        """
        query = Query(
            tags=tuple(check_tags(tags)) if tags is not None else (),
            since_us=None if since is None else to_micros(parse_timestamp(since)),
            until_us=None if until is None else to_micros(parse_timestamp(until)),
            min_importance=None if min_importance is None else check_importance(min_importance),
            max_importance=None if max_importance is None else check_importance(max_importance),
            now_us=to_micros(read_clock(self._clock)),
        )
        check_number("offset", offset, low=0, integer=True)
        check_number("limit", limit, low=0, integer=True, allow_none=True)
        if limit == 0:
            return []
        with self._read() as tx:
            rows = tx.query(query, int(offset), None if limit is None else int(limit))
        return [_decode(row) for row in rows]

    def search_by_tag(self, tag: str, limit: Optional[int] = None, offset: int = 0) -> List[Dict[str, Any]]:
        """Every entry whose ``tags`` contain ``tag``, in the order stored (an index lookup);
        ``limit``/``offset`` paginate (no limit by default: nothing is dropped silently)."""
        check_tags([tag])
        return self.search(tags=[tag], limit=limit, offset=offset)

    def __contains__(self, entry_id: object) -> bool:
        try:
            key = normalize_id(entry_id)
        except (TypeError, ValueError):
            return False
        now_us = to_micros(read_clock(self._clock))
        with self._read() as tx:
            row = tx.get(key)
        return row is not None and not _expired(row, now_us)

    def __len__(self) -> int:
        """Entries held, counting expired ones until the next prune removes them."""
        with self._read() as tx:
            return tx.count()

    def __iter__(self) -> Iterator[Dict[str, Any]]:
        """Every kept entry, in the order first stored, read a page at a time."""
        after = 0
        now_us = to_micros(read_clock(self._clock))
        while True:
            with self._read() as tx:
                rows = tx.scan(after, _PAGE)
            if not rows:
                return
            for row in rows:
                if not _expired(row, now_us):
                    yield _decode(row)
            after = rows[-1].seq

    @property
    def storage(self) -> List[Dict[str, Any]]:
        """The kept entries (copies), in the order first stored, as the document's list."""
        now_us = to_micros(read_clock(self._clock))
        entries: List[Dict[str, Any]] = []
        with self._read() as tx:
            after = 0
            while True:
                rows = tx.scan(after, _PAGE)
                if not rows:
                    break
                entries.extend(_decode(row) for row in rows if not _expired(row, now_us))
                after = rows[-1].seq
        return entries

    def get_stats(self) -> Dict[str, Any]:
        """``total_entries``, ``max_entries``, ``usage_percent`` and ``oldest_entry`` (ISO or None)."""
        with self._read() as tx:
            total = tx.count()
            oldest = tx.oldest_ts()
        return {
            "total_entries": total,
            "max_entries": self.max_entries,
            "usage_percent": total / self.max_entries * 100,
            "oldest_entry": None if oldest is None else iso_utc(from_micros(oldest)),
        }


class _Batch:
    """The open transaction of a ``batch()``, lent to the calls inside it."""

    __slots__ = ("owner", "tx", "failed")

    def __init__(self, owner: int, tx: StoreTransaction) -> None:
        self.owner = owner
        self.tx = tx
        self.failed = False

    def __enter__(self) -> StoreTransaction:
        return self.tx

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        if kind is not None:
            self.failed = True  # the call may have written part of its work


def _ttl_micros(ttl: Union[timedelta, float]) -> int:
    seconds = ttl.total_seconds() if isinstance(ttl, timedelta) else check_number("ttl", ttl)
    if seconds <= 0:
        raise ValueError(f"ttl must be positive, not {ttl!r}")
    return int(seconds * 1_000_000)


def _expired(row: StoreRow, now_us: int) -> bool:
    return row.expires_us is not None and row.expires_us <= now_us


def _decode(row: StoreRow) -> Dict[str, Any]:
    value = json.loads(row.body)
    if not isinstance(value, dict):  # pragma: no cover - only a hand-edited file gets here
        raise ValueError(f"stored entry {row.id!r} is not a JSON object")
    return value

"""The in-memory engine of ``LongTermMemory`` (no ``path``/``url``): dicts and heaps.

Why not SQLite's ``:memory:``: a store there paid for SQL parsing, five B-tree indexes and
triggers on every insert (about 130 µs per store past the bound). Here a store is one dict
insert and three heap pushes, and pruning pops the least important entries from a heap,
so a store costs O(log n) with small constants.

Layout:

- ``rows``: id -> ``_Rec``, in first-insertion order (a replaced entry keeps its place,
  as in SQLite, where ``seq`` stays).
- ``fresh``: the ids of the entries still in their grace period, in arrival order
  (``_freshqueue``): settling takes them from its front. A store appends one pointer
  there, where it used to push a (time, seq, id) item on a heap.
- Heaps of tuples ending with the entry's id (never the record: a stale item must not
  keep a deleted entry's body alive): ``settled_time`` (time, seq: the age bound on the
  settled entries), ``rank[settled]`` (importance, time, seq: the pruning order of each
  group) and ``expiry`` (per-entry ttl). Each entry has one rank item, and one time item
  once settled. Heaps are never searched: an item that no longer matches its entry
  (replaced, deleted, moved to the other group) is *stale* and dropped when it reaches
  the top. When stale items are many, they are filtered out of the heaps (amortized O(1)
  per write).
- Transactions: one lock; every change appends to an undo log, and an error (or a dry
  run) replays it backwards. An undone record gets fresh heap items, so the heaps never
  lose a live entry; duplicates are filtered like stale items.
"""

from __future__ import annotations

import bisect
import heapq
import threading
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from memlint.runtime._backend import Query, StoreBackend, StoreRow, StoreTransaction, row_matches
from memlint.runtime._common import from_micros
from memlint.runtime._freshqueue import FreshQueue

# Rebuild the rank heaps when they hold this many items per entry (one is live).
_COMPACT_FACTOR = 2
_COMPACT_FLOOR = 10_000


class _Rec:
    """One entry. Only ``settled`` and ``hits`` change in place; anything else is a new record."""

    # ``tail``: the body, or only what follows its head (a "slim" body, which starts with
    # "," or "}", never "{"): the id, importance and time are in the record already, and
    # the head is most of a small entry's JSON.
    __slots__ = ("seq", "key", "ts_us", "importance", "tail", "expires_us", "hits", "settled", "tags")

    def __init__(self, seq: int, key: str, ts_us: int, importance: float, body: str,
                 expires_us: Optional[int], tags: Tuple[str, ...]) -> None:
        self.seq = seq
        self.key = key
        self.ts_us = ts_us
        self.importance = importance
        self.tail = body
        self.expires_us = expires_us
        self.hits = 0
        self.settled = False
        self.tags = tags

    @property
    def body(self) -> str:
        tail = self.tail
        if tail[0] == "{":
            return tail
        stamp = from_micros(self.ts_us).isoformat(timespec="microseconds")
        return '{"id":"%s","importance":%r,"timestamp":"%s"%s' % (self.key, self.importance, stamp, tail)

    def row(self) -> StoreRow:
        return StoreRow(self.seq, self.key, self.ts_us, self.importance, self.body, self.expires_us, self.hits)

    def victim(self) -> StoreRow:
        """The row of a removal candidate: pruning never reads the body (see ``_backend``)."""
        return StoreRow(self.seq, self.key, self.ts_us, self.importance, "", self.expires_us, self.hits)


class MemoryStoreBackend(StoreBackend):
    """A ``LongTermMemory`` kept in this process only (see the module docstring)."""

    location = None
    derives_head = True

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._closed = False
        self._seq = 0
        self._version = 0
        self._rows: Dict[str, _Rec] = {}
        self._tags: Dict[str, Dict[str, None]] = {}
        self._fresh = FreshQueue()
        self._settled_time: List[Any] = []
        self._rank: Dict[bool, List[Any]] = {False: [], True: []}
        self._expiry: List[Any] = []
        self._in_order = True  # False after an undo re-inserted a record at the end
        self._order_cache: Optional[Tuple[int, List[int], List[_Rec]]] = None
        self.undo: Optional[List[Tuple[Any, ...]]] = None
        self._tx = _MemoryTx(self)
        self._writing = _Transaction(self, rollback=False)
        self._commits = 0
        self._stale_time = 0  # time items whose entry was deleted or replaced (an estimate)

    # -- transactions ----------------------------------------------------------------

    def write(self) -> "_Transaction":
        return self._writing  # stateless: one object serves every write

    def read(self) -> "_Transaction":
        return self._writing

    def rehearse(self) -> "_Transaction":
        return _Transaction(self, rollback=True)

    def begin(self) -> "_MemoryTx":
        """Start a transaction (the caller holds ``_lock``)."""
        if self._closed:
            raise ValueError("the in-memory store is closed")
        if self.undo is not None:
            raise RuntimeError("a transaction of this store is already open in this thread")
        self.undo = []
        return self._tx

    def end(self, commit: bool) -> None:
        """Commit or roll back (the caller holds ``_lock``)."""
        try:
            if commit:
                self.undo = None
                self._commits += 1
                if not self._commits & 1023:  # checking costs four len() calls: not on every commit
                    self._maybe_compact()
            else:
                self._roll_back()
        finally:
            self.undo = None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._rows = {}
            self._tags = {}
            self._expiry = []
            self._fresh = FreshQueue()
            self._settled_time = []
            self._rank = {False: [], True: []}

    # -- record bookkeeping ----------------------------------------------------------

    def push(self, rec: _Rec, place: bool = True) -> None:
        """Heap items for a live record (its current group), and (``place``) its place
        in the fresh queue if it is fresh."""
        if rec.settled:
            heapq.heappush(self._settled_time, (rec.ts_us, rec.seq, rec.key))
        elif place:
            self._fresh.append(rec.key, rec.ts_us)
        heapq.heappush(self._rank[rec.settled], (rec.importance, rec.ts_us, rec.seq, rec.key))
        if rec.expires_us is not None:
            heapq.heappush(self._expiry, (rec.expires_us, rec.seq, rec.key))

    # What each heap's items say about their entry; an item is stale once that changed.
    def of_time(self, item: Tuple[Any, ...]) -> Optional[_Rec]:
        """The settled record of a ``settled_time`` item, or ``None`` if it is stale."""
        rec = self._rows.get(item[-1])
        if rec is None or rec.seq != item[1] or rec.ts_us != item[0] or not rec.settled:
            return None
        return rec

    def of_rank(self, item: Tuple[Any, ...], settled: bool) -> Optional[_Rec]:
        rec = self._rows.get(item[-1])
        if (rec is None or rec.seq != item[2] or rec.importance != item[0] or rec.ts_us != item[1]
                or rec.settled != settled):
            return None
        return rec

    def of_expiry(self, item: Tuple[Any, ...]) -> Optional[_Rec]:
        rec = self._rows.get(item[-1])
        if rec is None or rec.seq != item[1] or rec.expires_us != item[0]:
            return None
        return rec

    def add_tags(self, rec: _Rec) -> None:
        for tag in rec.tags:
            self._tags.setdefault(tag, {})[rec.key] = None

    def drop_tags(self, rec: _Rec) -> None:
        for tag in rec.tags:
            holders = self._tags.get(tag)
            if holders is not None:
                holders.pop(rec.key, None)
                if not holders:
                    del self._tags[tag]

    def _roll_back(self) -> None:
        log, self.undo = self.undo or [], None
        self._version += 1
        for op in reversed(log):
            kind = op[0]
            if kind == "put":
                _, key, prev = op
                current = self._rows.get(key)
                if current is not None:
                    self.drop_tags(current)
                    if not current.settled:
                        self._fresh.leave(key)
                if prev is None:
                    self._rows.pop(key, None)
                else:
                    self._rows[key] = prev
                    self.add_tags(prev)
                    self.push(prev)
            elif kind == "del":
                rec = op[1]
                self._rows[rec.key] = rec
                self._in_order = False
                self.add_tags(rec)
                self.push(rec)
            elif kind == "settle":
                rec = op[1]
                rec.settled = False
                if self._rows.get(rec.key) is rec:
                    self.push(rec)
            elif kind == "hits":
                op[1].hits = op[2]
            elif kind == "clear":
                self._rows, self._tags = op[1], op[2]
                self._in_order = False
                for rec in self._rows.values():
                    self.push(rec, place=False)
                self._fresh.rebuild(self._rows, from_rows=True)

    def _maybe_compact(self) -> None:
        # Heaps are compacted by filtering out their stale items, not rebuilt from the
        # records: the live items are kept as they are, so that compacting never holds a
        # second set of items (a rebuild did, about 8 MB at 100,000 entries, and that set
        # the process's peak memory). The heaps never lack a live entry's item, so the
        # filtered ones are complete.
        rows = len(self._rows)
        # Time items of deleted or replaced settled entries stay until the age bound
        # reaches them: dropped once they are a quarter of the entries, since each one
        # holds an id, a time and a seq (about 230 bytes). (The count also takes in
        # deleted fresh entries, which leave nothing: it only makes this check early.)
        self._fresh.maybe_compact(self._rows)
        if self._stale_time > rows // 4 + 1000:
            self._settled_time = _heap_of([item for item in self._settled_time if self.of_time(item) is not None])
            self._expiry = _heap_of([item for item in self._expiry if self.of_expiry(item) is not None])
            self._stale_time = 0
        # Rank items of deleted entries are mostly popped as they surface; the rest are
        # dropped once they are as many as the entries.
        rank = self._rank
        if len(rank[False]) + len(rank[True]) > _COMPACT_FACTOR * rows + _COMPACT_FLOOR:
            for settled, heap in rank.items():
                rank[settled] = _heap_of([item for item in heap if self.of_rank(item, settled) is not None])

    def ordered(self) -> Tuple[List[int], List[_Rec]]:
        """Live records in ``seq`` order and their seqs (cached until the next change)."""
        cache = self._order_cache
        if cache is not None and cache[0] == self._version:
            return cache[1], cache[2]
        if not self._in_order:
            self._rows = dict(sorted(self._rows.items(), key=lambda item: item[1].seq))
            self._in_order = True
        recs = list(self._rows.values())
        seqs = [rec.seq for rec in recs]
        self._order_cache = (self._version, seqs, recs)
        return seqs, recs


def _heap_of(items: List[Any]) -> List[Any]:
    heapq.heapify(items)
    return items


class _Transaction:
    """``with backend.write() as tx``: a class rather than a generator, since a store pays
    for its context manager on every call."""

    __slots__ = ("db", "rollback")

    def __init__(self, db: MemoryStoreBackend, rollback: bool) -> None:
        self.db = db
        self.rollback = rollback

    # begin() and end(), inlined for the usual case (every store runs these).
    def __enter__(self) -> "_MemoryTx":
        db = self.db
        db._lock.acquire()
        if db._closed or db.undo is not None:
            try:
                db.begin()  # raises, saying why
            finally:
                db._lock.release()
        db.undo = []
        return db._tx

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> None:
        db = self.db
        try:
            if kind is None and not self.rollback:
                db.undo = None
                db._commits += 1
                if not db._commits & 1023:  # checking costs four len() calls: not on every commit
                    db._maybe_compact()
            else:
                db.end(commit=False)
        finally:
            db._lock.release()


class _MemoryTx(StoreTransaction):
    def __init__(self, db: MemoryStoreBackend) -> None:
        self.db = db

    def upsert(self, entry_id: str, ts_us: int, importance: float, body: str,
               tags: Sequence[str] = (), expires_us: Optional[int] = None, slim: bool = False) -> bool:
        db = self.db
        prev = db._rows.get(entry_id)
        if prev is None:
            db._seq += 1
            seq = db._seq
        else:
            seq = prev.seq
            db.drop_tags(prev)
            db._stale_time += 1
            if not prev.settled:
                db._fresh.leave(entry_id)  # stored again: it goes last
        rec = _Rec(seq, entry_id, ts_us, importance, body, expires_us, tuple(tags) if tags else ())
        db._rows[entry_id] = rec
        db._version += 1
        db.undo.append(("put", entry_id, prev))  # type: ignore[union-attr]
        if tags:
            db.add_tags(rec)
        # push(), inlined: this is the path of every store.
        fresh = db._fresh
        fresh.keys.append(entry_id)  # fresh.append(), inlined
        if ts_us < fresh.last:
            fresh.ordered = False
        else:
            fresh.last = ts_us
        heapq.heappush(db._rank[False], (importance, ts_us, seq, entry_id))
        if expires_us is not None:
            heapq.heappush(db._expiry, (expires_us, seq, entry_id))
        return prev is None

    def rewrite(self, entry_id: str, importance: float, body: str, tags: Sequence[str],
                expires_us: Optional[int]) -> bool:
        db = self.db
        prev = db._rows.get(entry_id)
        if prev is None:
            return False
        rec = _Rec(prev.seq, entry_id, prev.ts_us, importance, body, expires_us, tuple(tags))
        rec.settled, rec.hits = prev.settled, prev.hits
        db.drop_tags(prev)
        db._rows[entry_id] = rec
        db._version += 1
        db._stale_time += 1
        db.undo.append(("put", entry_id, prev))  # type: ignore[union-attr]
        db.add_tags(rec)
        db.push(rec, place=False)  # a fresh entry keeps its place in the fresh queue
        return True

    def get(self, entry_id: str) -> Optional[StoreRow]:
        rec = self.db._rows.get(entry_id)
        return None if rec is None else rec.row()

    def touch(self, entry_id: str) -> None:
        rec = self.db._rows.get(entry_id)
        if rec is not None:
            self.db.undo.append(("hits", rec, rec.hits))  # type: ignore[union-attr]
            rec.hits += 1

    def count(self) -> int:
        return len(self.db._rows)

    def oldest_ts(self) -> Optional[int]:
        db = self.db
        heads = []
        heap = db._settled_time
        while heap and db.of_time(heap[0]) is None:
            heapq.heappop(heap)
        if heap:
            heads.append(heap[0][0])
        first_fresh = db._fresh.head(db._rows)
        if first_fresh is not None:
            heads.append(first_fresh.ts_us)
        return min(heads) if heads else None

    def scan(self, after_seq: int, limit: int) -> List[StoreRow]:
        seqs, recs = self.db.ordered()
        start = bisect.bisect_right(seqs, after_seq)
        return [rec.row() for rec in recs[start:start + limit]]

    def query(self, query: Query, offset: int, limit: Optional[int]) -> List[StoreRow]:
        db = self.db
        if query.tags:
            holders = [db._tags.get(tag, {}) for tag in query.tags]
            smallest = min(holders, key=len)
            candidates: Iterable[_Rec] = sorted((db._rows[key] for key in smallest), key=lambda rec: rec.seq)
        else:
            candidates = db.ordered()[1]
        found: List[StoreRow] = []
        skipped = 0
        for rec in candidates:
            if not row_matches(rec.row(), query, rec.tags):
                continue
            if skipped < offset:
                skipped += 1
                continue
            if limit is not None and len(found) >= limit:
                break
            found.append(rec.row())
        return found

    def settle(self, cutoff_us: int) -> int:
        db = self.db
        leaving = db._fresh.take_older(db._rows, cutoff_us)
        for rec in leaving:
            rec.settled = True
            db.undo.append(("settle", rec))  # type: ignore[union-attr]
            heapq.heappush(db._settled_time, (rec.ts_us, rec.seq, rec.key))
            heapq.heappush(db._rank[True], (rec.importance, rec.ts_us, rec.seq, rec.key))
        settled = len(leaving)
        if settled:
            db._version += 1
            fresh_rank = db._rank[False]
            if settled * 4 > len(fresh_rank):
                # The settled entries' items in the fresh rank heap are stale now, buried
                # at random depths: when they are many, filter them out at once rather than
                # keep them (memory) until compaction. O(heap), paid for by the settling.
                kept = [item for item in fresh_rank if db.of_rank(item, False) is not None]
                heapq.heapify(kept)
                db._rank[False] = kept
        return settled

    def _pop_victims(self, heap: List[Any], limit: int, current: Any, accept: Any, stop: Any) -> List[StoreRow]:
        """Pop up to ``limit`` records that ``accept`` takes, until ``stop`` says so.

        ``current(item)`` is the item's record, or ``None`` when the item is stale: stale
        items are dropped for good; every other item popped is pushed back, so the heaps
        stay complete whatever the caller then deletes.
        """
        chosen: List[Any] = []
        kept: List[Any] = []
        found: List[StoreRow] = []
        seen = set()
        while heap and len(chosen) < limit:
            item = heap[0]
            rec = current(item)
            if rec is None or rec.seq in seen:
                heapq.heappop(heap)
                continue
            if stop(item, rec):
                break
            heapq.heappop(heap)
            seen.add(rec.seq)
            if accept(rec):
                chosen.append(item)
                found.append(rec.victim())
            else:
                kept.append(item)
        for item in chosen + kept:
            heapq.heappush(heap, item)
        return found

    def age_victims(self, cutoff_us: int, pin_threshold: float, limit: int,
                    exclude: Optional[str]) -> List[StoreRow]:
        # Entries this old are settled: the age cutoff is never after the grace cutoff,
        # and _prune settles before it ages.
        db = self.db
        return self._pop_victims(
            db._settled_time, limit,
            current=db.of_time,
            accept=lambda rec: rec.importance <= pin_threshold and rec.key != exclude,
            stop=lambda item, rec: item[0] >= cutoff_us,
        )

    def expired(self, now_us: int, limit: int, exclude: Optional[str]) -> List[StoreRow]:
        db = self.db
        if not db._expiry or db._expiry[0][0] > now_us:
            return []
        return self._pop_victims(
            db._expiry, limit,
            current=db.of_expiry,
            accept=lambda rec: rec.key != exclude,
            stop=lambda item, rec: item[0] > now_us,
        )

    def rank_victims(self, settled: bool, limit: int, exclude: Optional[str],
                     max_importance: Optional[float] = None) -> List[StoreRow]:
        db = self.db
        ceiling = 2.0 if max_importance is None else max_importance
        heap = db._rank[settled]
        if limit == 1:
            # The usual case past the bound: the head of the heap (or the next one, when
            # the head is the entry being stored), dropping stale items on the way.
            held = None
            found: List[StoreRow] = []
            while heap:
                rec = db.of_rank(heap[0], settled)
                if rec is None:
                    heapq.heappop(heap)
                elif rec.key == exclude and held is None:
                    held = heapq.heappop(heap)
                else:
                    if rec.importance <= ceiling and rec.key != exclude:
                        found = [rec.victim()]
                    break
            if held is not None:
                heapq.heappush(heap, held)
            return found
        # Past the bound, the batch usually finds nothing (no settled entry, or only
        # pinned ones): say so without the general loop.
        while heap and db.of_rank(heap[0], settled) is None:
            heapq.heappop(heap)
        if not heap or heap[0][0] > ceiling:
            return []
        return self._pop_victims(
            heap, limit,
            current=lambda item: db.of_rank(item, settled),
            accept=lambda rec: rec.key != exclude,
            stop=lambda item, rec: rec.importance > ceiling,
        )

    def least_ranked(self, exclude: Optional[str]) -> Optional[StoreRow]:
        best, _heap = self._rank_head(exclude)
        return None if best is None else best.victim()

    def _rank_head(self, exclude: Optional[str]) -> Tuple[Optional[_Rec], List[Any]]:
        # The head of each group's rank heap (dropping stale items on the way; the entry
        # being stored is stepped over), then the first of the two, with its heap. This
        # runs on every store past the bound: of_rank() is inlined.
        db = self.db
        rows = db._rows
        heappop = heapq.heappop
        best: Optional[_Rec] = None
        best_heap: List[Any] = []
        for settled in (False, True):
            heap = db._rank[settled]
            held = None
            while heap:
                item = heap[0]
                rec = rows.get(item[3])
                if (rec is None or rec.seq != item[2] or rec.importance != item[0] or rec.ts_us != item[1]
                        or rec.settled != settled):
                    heappop(heap)
                elif rec.key == exclude and held is None:
                    held = heappop(heap)
                else:
                    if rec.key != exclude and (best is None or (item[0], item[1], item[2]) < (
                            best.importance, best.ts_us, best.seq)):
                        best, best_heap = rec, heap
                    break
            if held is not None:
                heapq.heappush(heap, held)
        return best, best_heap

    def remove_least_ranked(self, exclude: Optional[str]) -> Optional[StoreRow]:
        # least_ranked() and delete() in one: this runs on every store past the bound.
        # The victim's item is the head of its heap (or the next one, under the held
        # item of ``exclude``): it is popped now rather than found stale later.
        best, best_heap = self._rank_head(exclude)
        if best is None:
            return None
        db = self.db
        key = best.key
        if best_heap[0][3] == key:
            heapq.heappop(best_heap)
        del db._rows[key]
        if best.tags:
            db.drop_tags(best)
        if not best.settled:
            fresh = db._fresh  # fresh.leave(key), inlined
            fresh.stale[key] = fresh.stale.get(key, 0) + 1
            fresh.stale_count += 1
        db.undo.append(("del", best))  # type: ignore[union-attr]
        db._stale_time += 1
        db._version += 1
        return best.victim()

    def delete(self, entry_ids: Sequence[str]) -> int:
        db = self.db
        removed = 0
        for key in entry_ids:
            rec = db._rows.pop(key, None)
            if rec is None:
                continue
            if rec.tags:
                db.drop_tags(rec)
            if not rec.settled:
                db._fresh.leave(key)
            db.undo.append(("del", rec))  # type: ignore[union-attr]
            removed += 1
        db._stale_time += removed
        if removed:
            db._version += 1
        return removed

    def delete_if_unchanged(self, entry_id: str, body: str) -> bool:
        rec = self.db._rows.get(entry_id)
        return rec is not None and rec.body == body and self.delete([entry_id]) == 1

    def clear(self) -> int:
        db = self.db
        removed = len(db._rows)
        db.undo.append(("clear", db._rows, db._tags))  # type: ignore[union-attr]
        db._rows, db._tags = {}, {}
        db._fresh.reset()
        db._version += 1
        return removed

    # An in-memory store is never the source of a two-phase move (it has no file for a
    # recovering mover to consult), so it keeps no commit records.
    def record_moves(self, token: str, archive_uid: str, entry_ids: Iterable[str]) -> None:
        return None

    def moved_ids(self, token: str) -> List[str]:
        return []

    def move_tokens(self, archive_uid: str) -> List[str]:
        return []

    def forget_moves(self, token: str) -> None:
        return None

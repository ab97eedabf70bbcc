"""The in-memory engine's queue of fresh entries (those still in their grace period).

Settling takes entries from the front of this queue, oldest first. It holds ids only, in
arrival order, which is time order while the clock does not go back (``ordered`` says
when it did; the next settling then sorts the queue once).

Why not a dict of the fresh entries, or a heap of (time, seq, id) items: every store adds
one and every removal past the bound takes one away, and both kept a second
100,000-entry structure (a dict that grows to 2^19 slots as its keys churn, about 10 MB,
twice that while it resizes; or a tuple per entry). Here a store appends one pointer to a
deque. A removed entry's place is not searched for: its id is counted in ``stale`` and
the place skipped when it reaches the front. An id's places are always its stale ones
first, then (if the entry is fresh) its live one, last, since an entry only ever enters
the queue at its end; so "skip the first ``stale[id]`` places of this id" is exact. Stale
places are dropped all at once when they are a quarter of the queue.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Deque, Dict, List, Optional

# Before any time (microseconds since the epoch): no entry has arrived yet.
EARLIEST = -(1 << 63)


class FreshQueue:
    """Ids of fresh entries in arrival order; ``rows`` (id -> record with ``ts_us``,
    ``seq`` and ``settled``) is the engine's table, passed in where it is read."""

    __slots__ = ("keys", "stale", "stale_count", "last", "ordered")

    def __init__(self) -> None:
        self.keys: Deque[str] = deque()
        self.stale: Dict[str, int] = {}  # id -> how many of its places are stale
        self.stale_count = 0
        self.last = EARLIEST  # the latest time appended since the queue was last in order
        self.ordered = True

    def append(self, key: str, ts_us: int) -> None:
        """``key``'s entry is fresh from now on (it has no live place in the queue)."""
        self.keys.append(key)
        if ts_us < self.last:
            self.ordered = False
        else:
            self.last = ts_us

    def leave(self, key: str) -> None:
        """``key``'s live place is stale now (its entry was removed, replaced or settled
        other than by ``take_older``)."""
        self.stale[key] = self.stale.get(key, 0) + 1
        self.stale_count += 1

    def reset(self) -> None:
        self.keys = deque()
        self.stale = {}
        self.stale_count = 0
        self.last = EARLIEST
        self.ordered = True

    def rebuild(self, rows: Dict[str, Any], from_rows: bool = False) -> None:
        """Drop the stale places, and sort by (time, seq) if the clock went back.

        ``from_rows``: start again from the fresh records of ``rows`` (after a rolled
        back ``clear``, the queue's places no longer describe ``rows``).
        """
        if from_rows:
            live = [rec for rec in rows.values() if not rec.settled]
        else:
            live = [rows[key] for key in self._live_keys(rows)]
        if from_rows or not self.ordered:
            live.sort(key=lambda rec: (rec.ts_us, rec.seq))
        self.reset()
        self.keys = deque(rec.key for rec in live)
        if live:
            self.last = live[-1].ts_us

    def compact(self, rows: Dict[str, Any]) -> None:
        """Drop the stale places (in order: nothing is sorted or looked up per place)."""
        if not self.ordered:
            self.rebuild(rows)
            return
        self.keys = deque(self._live_keys(rows))
        self.stale = {}
        self.stale_count = 0

    def _live_keys(self, rows: Dict[str, Any]) -> List[str]:
        stale = self.stale
        # Usually no id with a stale place has a live one too (a removed entry's id is
        # rarely stored again within its grace period): then one pass of set lookups.
        if not any(key in rows and not rows[key].settled for key in stale):
            return [key for key in self.keys if key not in stale]
        pending = dict(stale)
        live = []
        for key in self.keys:
            count = pending.get(key)
            if count:
                pending[key] = count - 1
            else:
                live.append(key)
        return live

    def maybe_compact(self, rows: Dict[str, Any]) -> None:
        if self.stale_count > (len(self.keys) - self.stale_count) // 4 + 1000:
            self.compact(rows)

    def _drop_stale_front(self) -> None:
        keys, stale = self.keys, self.stale
        while keys:
            count = stale.get(keys[0])
            if not count:
                return
            key = keys.popleft()
            if count == 1:
                del stale[key]
            else:
                stale[key] = count - 1
            self.stale_count -= 1

    def head(self, rows: Dict[str, Any]) -> Optional[Any]:
        """The record of the oldest fresh entry, or ``None``."""
        if not self.ordered:
            self.rebuild(rows)
        self._drop_stale_front()
        return rows[self.keys[0]] if self.keys else None

    def take_older(self, rows: Dict[str, Any], cutoff_us: int) -> List[Any]:
        """Remove and return the records of the fresh entries stored before ``cutoff_us``."""
        if not self.ordered:
            self.rebuild(rows)
        taken = []
        keys = self.keys
        while True:
            self._drop_stale_front()
            if not keys:
                break
            rec = rows[keys[0]]
            if rec.ts_us >= cutoff_us:
                break
            keys.popleft()
            taken.append(rec)
        if not keys:
            self.reset()
        return taken

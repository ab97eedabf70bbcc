"""Where a store's time goes on an SQLite file: CPU per statement and WAL pages per commit.

Fills ``LongTermMemory(path=...)`` to ``--max-entries`` (default 20,000), then stores
``--stores`` more (10,000), each past the bound, timing every SQL statement the store
runs (this process's CPU time, so that waiting for a core on a loaded machine is not
counted). Then counts the WAL pages that 1,000 commits write, for the store and for a bare
table with one index (insert + delete + commit, as ``bench_longterm``'s sqlite floor), which
table or index each WAL page of the store belongs to (read from the WAL's frame headers and
SQLite's ``dbstat`` table), and how often a WAL checkpoint (the only fsync with
``synchronous=NORMAL``) runs. Last, the
same stores in ``batch()`` blocks of 100 (group commit), in CPU per store.

    python benchmarks/bench_sqlite_store_cost.py [--max-entries M] [--stores N]
"""

from __future__ import annotations

import argparse
import collections
import os
import sqlite3
import sys
import tempfile
import time
from typing import Any, Callable, Dict, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_longterm import SQLiteFloor, entry  # noqa: E402

from memlint.runtime import LongTermMemory  # noqa: E402


class TimedConnection:
    """Wraps a connection: CPU time and count per statement (by its first words)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.cpu: Dict[str, float] = collections.Counter()
        self.calls: Dict[str, int] = collections.Counter()

    def execute(self, sql: str, *args: Any) -> Any:
        started = time.process_time()
        try:
            return self.conn.execute(sql, *args)
        finally:
            # A pragma's value changes as the file grows: one line per pragma, not per value.
            label = " ".join(sql.split("=", 1)[0].split()[:4])[:40] if sql.startswith("PRAGMA") else \
                " ".join(sql.split()[:4])[:40]
            self.cpu[label] += time.process_time() - started
            self.calls[label] += 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


def wal_pages_per_commit(conn: sqlite3.Connection, store: Callable[[int], None], first: int,
                         by_btree: Optional[Dict[str, float]] = None) -> float:
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for number in range(first, first + 1000):
        store(number)
    if by_btree is not None:
        by_btree.update(wal_frames_by_btree(conn, 1000))
    return conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1] / 1000


def wal_frames_by_btree(conn: sqlite3.Connection, commits: int) -> Dict[str, float]:
    """WAL frames per commit by the table or index that owns the page (empty without dbstat)."""
    path = conn.execute("PRAGMA database_list").fetchone()[2]
    try:
        owner = dict((page, name) for name, page in conn.execute("SELECT name, pageno FROM dbstat"))
    except sqlite3.OperationalError:  # SQLite built without the dbstat table
        return {}
    with open(path + "-wal", "rb") as wal:
        data = wal.read()
    page_size = int.from_bytes(data[8:12], "big")
    counts: Dict[str, float] = collections.Counter()
    # A 32-byte file header, then frames: a 24-byte header (page number first) and the page.
    for offset in range(32, len(data) - 23, 24 + page_size):
        counts[owner.get(int.from_bytes(data[offset:offset + 4], "big"), "?")] += 1 / commits
    return dict(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-entries", type=int, default=20_000)
    parser.add_argument("--stores", type=int, default=10_000)
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"max_entries={args.max_entries:,}, {args.stores:,} stores past the bound; "
          f"SQLite {sqlite3.sqlite_version}; load average {load:.2f} at start")
    with tempfile.TemporaryDirectory() as directory:
        memory = LongTermMemory(max_entries=args.max_entries, retention_days=90,
                                path=os.path.join(directory, "memory.sqlite3"))
        with memory:
            for number in range(args.max_entries):
                memory.store(entry(number))
            database = memory._backend._db  # the one connection of the store
            timed = TimedConnection(database._conn)
            database._conn = timed
            started = time.process_time()
            for number in range(args.max_entries, args.max_entries + args.stores):
                memory.store(entry(number))
            total = time.process_time() - started
            database._conn = timed.conn
            print(f"\nLongTermMemory(path=...).store: {total / args.stores * 1e6:.1f} us of CPU per store; by statement:")
            for label, cpu in sorted(timed.cpu.items(), key=lambda item: -item[1]):
                print(f"  {cpu / args.stores * 1e6:7.1f} us  ({timed.calls[label] / args.stores:.2f} per store)  {label}")
            spent = sum(timed.cpu.values())
            print(f"  {spent / args.stores * 1e6:7.1f} us in SQLite statements, "
                  f"{(total - spent) / args.stores * 1e6:.1f} us in Python")
            first = args.max_entries + args.stores
            checkpoint_pages = int(timed.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
            by_btree: Dict[str, float] = {}
            pages = wal_pages_per_commit(timed.conn, lambda number: memory.store(entry(number)), first, by_btree)
            timed.conn.execute(f"PRAGMA wal_autocheckpoint = {checkpoint_pages}")
            first += 1000
            started = time.process_time()
            for start in range(first, first + args.stores, 100):
                with memory.batch():
                    for number in range(start, start + 100):
                        memory.store(entry(number))
            batched = (time.process_time() - started) / args.stores
        floor = SQLiteFloor(os.path.join(directory, "floor.sqlite3"), args.max_entries)
        try:
            for number in range(args.max_entries + 100):
                floor.store(entry(number))
            floor_pages = wal_pages_per_commit(floor.conn, lambda number: floor.store(entry(number)),
                                               args.max_entries + 100)
        finally:
            floor.conn.close()
    print(f"\nWAL pages written per commit: LongTermMemory {pages:.1f}, bare table + one index {floor_pages:.1f}")
    for name, frames in sorted(by_btree.items(), key=lambda item: -item[1]):
        print(f"  {frames:5.2f}  {name}")
    print(f"WAL checkpoint (two fsyncs with synchronous=NORMAL): every {checkpoint_pages:,} pages "
          f"(wal_autocheckpoint), so about every {checkpoint_pages / pages:,.0f} stores")
    print(f"\nthe same stores in batch() blocks of 100 (one commit each): {batched * 1e6:.1f} us of CPU per store")
    if hasattr(os, "getloadavg"):
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

"""Benchmark: storing many entries in a bounded long-term memory.

Compares ``memlint.runtime.LongTermMemory`` (in memory; on an SQLite file, one commit per
store and group commit with ``store_many``; on PostgreSQL) with the rules document's own
list-and-sort ``LongTermMemory`` (copied below) and with a bare ``heapq`` keeping the same
number of entries (the floor, and a gauge of how loaded the machine is), storing
``--stores`` entries (default 1,000,000) with ``max_entries=--max-entries`` (100,000).
PostgreSQL runs on a throwaway server on 127.0.0.1 (as the tests do), for
``--postgres-stores`` stores (default 30,000; 0 skips it), since a server round trip per
store makes the full run take hours.
Each implementation runs in its own fresh interpreter, so that peak memory (the
process's maximum resident set size, which includes SQLite's own allocations) is its
own. Prints wall time, time per store once the bound is reached, peak memory, and the
ratios, all measured in this one run.

The document's version sorts all ``max_entries`` entries on every store past the bound,
so storing 1,000,000 that way takes hours. By default it stores ``max_entries`` plus
``--reference-overflow`` (2,000) entries; its total for ``--entries`` is then
extrapolated from its measured time per store past the bound (said so in the output).
``--full-reference`` measures the whole run instead.

    python benchmarks/bench_longterm.py [--stores N] [--max-entries M] [--postgres-stores P]

Targets (issue 16), printed with the measured figures: in memory <= 15 us per store past
the bound, SQLite file <= 60 us per store past the bound (default durability: WAL,
synchronous=NORMAL, one commit per store; and with group commit, ``store_many`` of 100,
which has the durability of ``batch()``: a block commits whole or not at all).
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from typing import Any, Dict, List

FILLER = "the user mentioned a preference about the weekly report format"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_US = {"runtime-memory": 15.0, "runtime-file": 60.0, "runtime-file-group": 60.0}
GROUP = 100  # stores per commit with store_many


class DocumentLongTermMemory:
    """The rules document's MEM-005 example, unchanged apart from the class name."""

    def __init__(self, max_entries: int = 10000, retention_days: int = 90):
        self.max_entries = max_entries
        self.retention_days = retention_days
        self.storage: List[Dict[str, Any]] = []

    def store(self, entry: Dict[str, Any]) -> None:
        entry["timestamp"] = datetime.now().isoformat()
        entry["importance"] = entry.get("importance", 0.5)
        self.storage.append(entry)
        if len(self.storage) > self.max_entries:
            self._prune_old_entries()

    def _prune_old_entries(self) -> None:
        cutoff_date = datetime.now() - timedelta(days=self.retention_days)
        self.storage.sort(key=lambda x: (x["importance"], x["timestamp"]), reverse=True)
        self.storage = self.storage[: self.max_entries]
        self.storage = [
            entry for entry in self.storage
            if (datetime.fromisoformat(entry["timestamp"]) > cutoff_date or entry["importance"] > 0.8)
        ]

    def get_stats(self) -> Dict[str, Any]:
        return {"total_entries": len(self.storage), "max_entries": self.max_entries}


def entry(number: int) -> Dict[str, Any]:
    # Deterministic, well-spread importance in [0, 1).
    return {"text": f"memory {number}: {FILLER}", "importance": ((number * 7919) % 1000) / 1000}


def peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


class HeapBaseline:
    """A bare heapq keeping the ``max_entries`` most important entries: the floor."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self.heap: List[Any] = []
        self.counter = 0

    def store(self, item: Dict[str, Any]) -> None:
        self.counter += 1
        heapq.heappush(self.heap, (item["importance"], self.counter, item))
        if len(self.heap) > self.max_entries:
            heapq.heappop(self.heap)

    def get_stats(self) -> Dict[str, Any]:
        return {"total_entries": len(self.heap)}


class SQLiteFloor:
    """One row inserted, the least important deleted, one commit per store, in a bare
    SQLite table with one index (WAL, synchronous=NORMAL): what any durable store on
    this machine's disk pays at least."""

    def __init__(self, path: str, max_entries: int) -> None:
        import sqlite3

        self.max_entries = max_entries
        self.count = 0
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.conn.execute("CREATE TABLE e (seq INTEGER PRIMARY KEY, importance REAL, body TEXT)")
        self.conn.execute("CREATE INDEX e_rank ON e (importance, seq)")

    def store(self, item: Dict[str, Any]) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute("INSERT INTO e (importance, body) VALUES (?, ?)", (item["importance"], json.dumps(item)))
        self.count += 1
        if self.count > self.max_entries:
            self.conn.execute("DELETE FROM e WHERE seq = (SELECT seq FROM e ORDER BY importance, seq LIMIT 1)")
            self.count -= 1
        self.conn.execute("COMMIT")

    def get_stats(self) -> Dict[str, Any]:
        return {"total_entries": self.count}


def child(kind: str, entries: int, max_entries: int, overflow: int, url: str = "") -> Dict[str, Any]:
    start_rss = peak_rss_bytes()
    if kind == "document":
        memory: Any = DocumentLongTermMemory(max_entries=max_entries, retention_days=90)
        total = min(entries, max_entries + overflow)
        return _drive(memory, total, max_entries, start_rss)
    if kind == "heapq":
        return _drive(HeapBaseline(max_entries), entries, max_entries, start_rss)
    if kind == "sqlite-floor":
        with tempfile.TemporaryDirectory() as directory:
            floor = SQLiteFloor(os.path.join(directory, "floor.sqlite3"), max_entries)
            try:
                return _drive(floor, entries, max_entries, start_rss)
            finally:
                floor.conn.close()
    from memlint.runtime import LongTermMemory

    if kind == "runtime-memory":
        with LongTermMemory(max_entries=max_entries, retention_days=90) as memory:
            return _drive(memory, entries, max_entries, start_rss)
    if kind == "runtime-postgres":
        with LongTermMemory(max_entries=max_entries, retention_days=90, url=url) as memory:
            return _drive(memory, entries, max_entries, start_rss)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "memory.sqlite3")
        with LongTermMemory(max_entries=max_entries, retention_days=90, path=path) as memory:
            result = _drive(memory, entries, max_entries, start_rss, group=GROUP if kind == "runtime-file-group" else 1)
            result["file_bytes"] = sum(
                os.path.getsize(os.path.join(directory, name)) for name in os.listdir(directory)
            )
            return result


def _drive(memory: Any, total: int, max_entries: int, start_rss: int, group: int = 1) -> Dict[str, Any]:
    # Wall time, and this process's CPU time: on a machine shared with other work, the
    # CPU time is the figure that does not count waiting for a core.
    started = time.perf_counter()
    fill_end = started
    cpu_fill_end = cpu_started = time.process_time()
    if group == 1:
        for number in range(total):
            if number == max_entries:
                fill_end, cpu_fill_end = time.perf_counter(), time.process_time()
            memory.store(entry(number))
    else:
        for first in range(0, total, group):
            if first == max_entries:
                fill_end, cpu_fill_end = time.perf_counter(), time.process_time()
            memory.store_many([entry(number) for number in range(first, min(total, first + group))])
    finished = time.perf_counter()
    cpu_finished = time.process_time()
    if total <= max_entries:
        cpu_fill_end = cpu_finished
    if total <= max_entries:
        fill_end = finished
    return {
        "stored": total,
        "kept": memory.get_stats()["total_entries"],
        "seconds": finished - started,
        "fill_seconds": fill_end - started,
        "per_store_past_bound": (finished - fill_end) / max(1, total - max_entries),
        "cpu_per_store_past_bound": (cpu_finished - cpu_fill_end) / max(1, total - max_entries),
        "cpu_seconds": cpu_finished - cpu_started,
        "peak_rss": peak_rss_bytes(),
        "start_rss": start_rss,
    }


def run_child(kind: str, args: argparse.Namespace, entries: int = 0, max_entries: int = 0,
              url: str = "") -> Dict[str, Any]:
    overflow = args.entries if args.full_reference else args.reference_overflow
    completed = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--entries", str(entries or args.entries),
         "--max-entries", str(max_entries or args.max_entries), "--reference-overflow", str(overflow),
         "--url", url],
        capture_output=True, text=True, check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{completed.stderr}")
    return json.loads(completed.stdout)


def run_postgres(args: argparse.Namespace) -> Dict[str, Any]:
    """The PostgreSQL child, on a throwaway server (the tests' fixture class)."""
    sys.path.insert(0, os.path.join(REPO, "tests", "runtime"))
    from longterm_backends import PostgresServer, postgres_bindir

    bindir = postgres_bindir()
    if bindir is None:
        raise SystemExit("no PostgreSQL server binary: run with --postgres-stores 0")
    max_entries = max(1, args.postgres_stores // 3)
    with PostgresServer(bindir) as server:
        database = server.create_database()
        result = run_child("runtime-postgres", args, args.postgres_stores, max_entries, server.url(database))
    result["max_entries"] = max_entries
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", "--entries", dest="entries", type=int, default=1_000_000)
    parser.add_argument("--max-entries", type=int, default=100_000)
    parser.add_argument("--postgres-stores", type=int, default=30_000)
    parser.add_argument("--reference-overflow", type=int, default=2_000)
    parser.add_argument("--full-reference", action="store_true")
    parser.add_argument("--only", help="comma-separated kinds to run (default: all)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.entries, args.max_entries, args.reference_overflow, args.url)))
        return

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"storing {args.entries:,} entries, max_entries={args.max_entries:,}; python {sys.version.split()[0]}; "
          f"{os.cpu_count()} CPUs, load average {load:.2f} at start")
    kinds = ["document", "heapq", "runtime-memory", "sqlite-floor", "runtime-file", "runtime-file-group"]
    if args.only:
        kinds = [kind for kind in kinds if kind in args.only.split(",")]
    results = {kind: run_child(kind, args) for kind in kinds}
    pg = run_postgres(args) if args.postgres_stores and (not args.only or "runtime-postgres" in args.only) else None
    past_bound = args.entries - args.max_entries
    print()
    print(f"{'implementation':<22}{'stored':>11}{'kept':>9}{'total s':>10}{'us/store past bound':>21}"
          f"{'(CPU us)':>10}{'peak RSS MB':>13}")
    doc = results.get("document")
    doc_total = 0.0
    for kind, result in results.items():
        total = result["seconds"]
        note = ""
        if kind == "document":
            doc_total = doc["fill_seconds"] + doc["per_store_past_bound"] * past_bound
            if doc["stored"] != args.entries:
                total, note = doc_total, "  (total extrapolated)"
        elif kind == "runtime-file-group":
            note = f"  (store_many, {GROUP} per commit)"
        elif kind == "sqlite-floor":
            note = "  (bare sqlite3: insert, delete, commit)"
        print(f"{kind:<22}{result['stored']:>11,}{result['kept']:>9,}{total:>10.1f}"
              f"{result['per_store_past_bound'] * 1e6:>21.1f}{result['cpu_per_store_past_bound'] * 1e6:>10.1f}"
              f"{result['peak_rss'] / 2**20:>13.1f}{note}")
    if pg is not None:
        print(f"{'runtime-postgres':<22}{pg['stored']:>11,}{pg['kept']:>9,}{pg['seconds']:>10.1f}"
              f"{pg['per_store_past_bound'] * 1e6:>21.1f}{pg['cpu_per_store_past_bound'] * 1e6:>10.1f}"
              f"{pg['peak_rss'] / 2**20:>13.1f}"
              f"  (max_entries={pg['max_entries']:,}, one transaction per store, server on 127.0.0.1)")
    if doc is not None and doc["stored"] != args.entries:
        print(f"\nthe document's version stored {doc['stored']:,} entries; its total for {args.entries:,} is "
              f"its fill time plus {past_bound:,} x its measured time per store past the bound")
    print("\ntargets (per store past the bound; wall time, and this process's CPU time):")
    heap = results.get("heapq")
    for kind, target in TARGET_US.items():
        if kind not in results:
            continue
        measured = results[kind]["per_store_past_bound"] * 1e6
        cpu = results[kind]["cpu_per_store_past_bound"] * 1e6
        verdict = "met" if measured <= target else ("met in CPU time" if cpu <= target else "NOT met")
        gauge = ""
        if heap is not None:
            gauge = f"; {measured / (heap['per_store_past_bound'] * 1e6):.1f}x the bare heapq of this run"
        print(f"  {kind}: {measured:.1f} us wall, {cpu:.1f} us CPU, against <= {target:.0f} us: {verdict}{gauge}")
    if "sqlite-floor" in results and "runtime-file" in results:
        floor = results["sqlite-floor"]["per_store_past_bound"] * 1e6
        print(f"  (a bare sqlite3 insert + delete + commit costs {floor:.1f} us here: the floor of one commit per store)")
    for kind in ("runtime-memory", "runtime-file", "runtime-file-group"):
        if kind not in results or doc is None:
            continue
        result = results[kind]
        print(f"\n{kind} vs document:")
        print(f"  time per store past the bound: {doc['per_store_past_bound'] / result['per_store_past_bound']:.1f}x faster")
        print(f"  total time for {args.entries:,}: {doc_total / result['seconds']:.1f}x faster")
        print(f"  peak RSS, document / runtime: {doc['peak_rss'] / result['peak_rss']:.2f} "
              f"(growth over interpreter start: {(doc['peak_rss'] - doc['start_rss']) / 2**20:.1f} MB vs "
              f"{(result['peak_rss'] - result['start_rss']) / 2**20:.1f} MB)")
    if "runtime-file" in results:
        print(f"\nruntime-file database size at the end: {results['runtime-file']['file_bytes'] / 2**20:.1f} MB")
    if hasattr(os, "getloadavg"):
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

"""Benchmark: storing many entries in a bounded long-term memory.

Compares ``memlint.runtime.LongTermMemory`` (in memory, and on an SQLite file) with the
rules document's own list-and-sort ``LongTermMemory`` (copied below), storing
``--entries`` entries (default 1,000,000) with ``max_entries=--max-entries`` (100,000).
Each implementation runs in its own fresh interpreter, so that peak memory (the
process's maximum resident set size, which includes SQLite's own allocations) is its
own. Prints wall time, time per store once the bound is reached, peak memory, and the
ratios, all measured in this one run.

The document's version sorts all ``max_entries`` entries on every store past the bound,
so storing 1,000,000 that way takes hours. By default it stores ``max_entries`` plus
``--reference-overflow`` (2,000) entries; its total for ``--entries`` is then
extrapolated from its measured time per store past the bound (said so in the output).
``--full-reference`` measures the whole run instead.

    python benchmarks/bench_longterm.py [--entries N] [--max-entries M]
"""

from __future__ import annotations

import argparse
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


def child(kind: str, entries: int, max_entries: int, overflow: int) -> Dict[str, Any]:
    start_rss = peak_rss_bytes()
    if kind == "document":
        memory: Any = DocumentLongTermMemory(max_entries=max_entries, retention_days=90)
        total = min(entries, max_entries + overflow)
        return _drive(memory, total, max_entries, start_rss)
    from memlint.runtime import LongTermMemory

    if kind == "runtime-memory":
        with LongTermMemory(max_entries=max_entries, retention_days=90) as memory:
            return _drive(memory, entries, max_entries, start_rss)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "memory.sqlite3")
        with LongTermMemory(max_entries=max_entries, retention_days=90, path=path) as memory:
            result = _drive(memory, entries, max_entries, start_rss)
            result["file_bytes"] = sum(
                os.path.getsize(os.path.join(directory, name)) for name in os.listdir(directory)
            )
            return result


def _drive(memory: Any, total: int, max_entries: int, start_rss: int) -> Dict[str, Any]:
    started = time.perf_counter()
    fill_end = started
    for number in range(total):
        if number == max_entries:
            fill_end = time.perf_counter()
        memory.store(entry(number))
    finished = time.perf_counter()
    if total <= max_entries:
        fill_end = finished
    return {
        "stored": total,
        "kept": memory.get_stats()["total_entries"],
        "seconds": finished - started,
        "fill_seconds": fill_end - started,
        "per_store_past_bound": (finished - fill_end) / max(1, total - max_entries),
        "peak_rss": peak_rss_bytes(),
        "start_rss": start_rss,
    }


def run_child(kind: str, args: argparse.Namespace) -> Dict[str, Any]:
    overflow = args.entries if args.full_reference else args.reference_overflow
    completed = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--entries", str(args.entries),
         "--max-entries", str(args.max_entries), "--reference-overflow", str(overflow)],
        capture_output=True, text=True, check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{completed.stderr}")
    return json.loads(completed.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--max-entries", type=int, default=100_000)
    parser.add_argument("--reference-overflow", type=int, default=2_000)
    parser.add_argument("--full-reference", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.entries, args.max_entries, args.reference_overflow)))
        return

    print(f"storing {args.entries:,} entries, max_entries={args.max_entries:,}; python {sys.version.split()[0]}")
    results = {kind: run_child(kind, args) for kind in ("document", "runtime-memory", "runtime-file")}
    doc = results["document"]
    past_bound = args.entries - args.max_entries
    doc_total = doc["fill_seconds"] + doc["per_store_past_bound"] * past_bound
    doc_measured = doc["stored"] == args.entries
    print()
    print(f"{'implementation':<22}{'stored':>11}{'kept':>9}{'total s':>12}{'us/store past bound':>22}{'peak RSS MB':>13}")
    for kind, result in results.items():
        total = result["seconds"] if kind != "document" else doc_total
        note = "" if kind != "document" or doc_measured else "  (total extrapolated)"
        print(f"{kind:<22}{result['stored']:>11,}{result['kept']:>9,}{total:>12.1f}"
              f"{result['per_store_past_bound'] * 1e6:>22.1f}{result['peak_rss'] / 2**20:>13.1f}{note}")
    if not doc_measured:
        print(f"\nthe document's version stored {doc['stored']:,} entries; its total for {args.entries:,} is "
              f"its fill time plus {past_bound:,} x its measured time per store past the bound")
    for kind in ("runtime-memory", "runtime-file"):
        result = results[kind]
        print(f"\n{kind} vs document:")
        print(f"  time per store past the bound: {doc['per_store_past_bound'] / result['per_store_past_bound']:.1f}x faster")
        print(f"  total time for {args.entries:,}: {doc_total / result['seconds']:.1f}x faster")
        print(f"  peak RSS, document / runtime: {doc['peak_rss'] / result['peak_rss']:.2f} "
              f"(growth over interpreter start: {(doc['peak_rss'] - doc['start_rss']) / 2**20:.1f} MB vs "
              f"{(result['peak_rss'] - result['start_rss']) / 2**20:.1f} MB)")
    print(f"\nruntime-file database size at the end: {results['runtime-file']['file_bytes'] / 2**20:.1f} MB")


if __name__ == "__main__":
    main()

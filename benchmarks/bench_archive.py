"""Benchmark: archive throughput (MB/s of entry JSON) and compression ratio on text entries.

Measures, in one run, on ``--entries`` (default 20,000) generated text entries:

- ``archive_entry`` one at a time (one durable transaction each), and ``archive_entries``
  in batches of 1,000, for each codec;
- ``archive_from`` moving them out of a file-backed ``LongTermMemory`` (batches of 500);
- ``retrieve_from_archive`` of every entry (with checksum verification);
- the rules document's archiver (one gzip file per entry), for comparison;

and prints MB/s (uncompressed JSON bytes per second) and the compression ratio
(uncompressed / stored bytes).

    python benchmarks/bench_archive.py [--entries N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List

WORDS = (
    "agent user memory task plan result error retry file report meeting project deadline "
    "summary preference question answer context tool call search document email calendar "
    "note reminder budget invoice customer order shipment review draft feedback design "
    "test build deploy release issue bug fix feature request priority status update the "
    "a an to of and in on for with about from by after before during while because then"
).split()


def make_entries(count: int) -> List[Dict[str, Any]]:
    rng = random.Random(2026)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    entries = []
    for number in range(count):
        sentences = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 20))).capitalize() + "."
                     for _ in range(rng.randint(3, 8))]
        entries.append({
            "id": f"mem-{number:07d}",
            "text": " ".join(sentences),
            "importance": round(rng.random() * 0.69, 3),
            "tags": rng.sample(["work", "home", "travel", "health", "finance", "family"], 2),
            "timestamp": (start + timedelta(minutes=number)).isoformat(),
        })
    return entries


def raw_megabytes(entries: List[Dict[str, Any]]) -> float:
    return sum(len(json.dumps(e, separators=(",", ":")).encode()) for e in entries) / 1e6


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def document_archiver(directory: Path, entries: List[Dict[str, Any]]) -> Dict[str, float]:
    """The document's MEM-006 example: one gzip file per entry (its write and read paths)."""
    directory.mkdir()

    def archive() -> None:
        for entry in entries:
            data = json.dumps(entry).encode("utf-8")
            with gzip.open(directory / f"entry_{entry['id']}.json.gz", "wb") as handle:
                handle.write(data)

    def retrieve() -> None:
        for entry in entries:
            with gzip.open(directory / f"entry_{entry['id']}.json.gz", "rb") as handle:
                json.loads(handle.read().decode("utf-8"))

    write_s = timed(archive)
    read_s = timed(retrieve)
    stored = sum(os.path.getsize(directory / name) for name in os.listdir(directory))
    raw = sum(len(json.dumps(entry).encode("utf-8")) for entry in entries)
    return {"write_s": write_s, "read_s": read_s, "ratio": raw / stored}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000)
    args = parser.parse_args()

    from memlint.runtime import LongTermMemory, MemoryArchiver

    entries = make_entries(args.entries)
    megabytes = raw_megabytes(entries)
    print(f"{args.entries:,} text entries, {megabytes:.1f} MB of JSON "
          f"(mean {megabytes * 1e6 / args.entries:.0f} bytes each)\n")
    print(f"{'operation':<44}{'seconds':>9}{'MB/s':>9}{'ratio':>8}")

    def row(name: str, seconds: float, ratio: float = 0.0) -> None:
        shown = f"{ratio:>8.2f}" if ratio else f"{'':>8}"
        print(f"{name:<44}{seconds:>9.2f}{megabytes / seconds:>9.1f}{shown}")

    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        for codec in ("zlib", "lzma"):
            with MemoryArchiver(base / codec, codec=codec) as archiver:
                write_s = timed(lambda: [archiver.archive_entry(e) for e in entries])
                ratio = archiver.stats()["compression_ratio"]
                read_s = timed(lambda: [archiver.retrieve_from_archive(e["id"]) for e in entries])
            row(f"archive_entry, one at a time ({codec})", write_s, ratio)
            row(f"retrieve_from_archive ({codec})", read_s)
            with MemoryArchiver(base / f"{codec}-bulk", codec=codec) as archiver:
                bulk_s = timed(lambda: [archiver.archive_entries(entries[i:i + 1000])
                                        for i in range(0, len(entries), 1000)])
            row(f"archive_entries, 1,000 per call ({codec})", bulk_s)

        clock = lambda: datetime(2026, 12, 1, tzinfo=timezone.utc)  # noqa: E731 - all entries are old
        with LongTermMemory(max_entries=args.entries * 2, retention_days=None, path=base / "m.sqlite3",
                            clock=lambda: datetime(2026, 1, 1, tzinfo=timezone.utc)) as memory:
            for entry in entries:
                memory.store(entry)
            stored_mb = sum(len(json.dumps(e, separators=(",", ":")).encode()) for e in memory.storage) / 1e6
            with MemoryArchiver(base / "moved", clock=clock) as archiver:
                move_s = timed(lambda: archiver.archive_from(memory))
                moved = archiver.stats()
        assert moved["entries"] == args.entries, moved
        print(f"{'archive_from(LongTermMemory), batches of 500':<44}{move_s:>9.2f}"
              f"{stored_mb / move_s:>9.1f}{moved['compression_ratio']:>8.2f}")

        document = document_archiver(base / "document", entries)
        row("document: gzip file per entry, write", document["write_s"], document["ratio"])
        row("document: gzip file per entry, read", document["read_s"])


if __name__ == "__main__":
    main()

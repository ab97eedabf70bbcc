"""A mover killed with SIGKILL at any point leaves every entry in exactly one place.

The child process moves entries from a ``LongTermMemory`` file into a ``MemoryArchiver``
and is killed: at random moments (10,000 entries), and deterministically inside each step
of the two-phase move. Right after the kill, before any recovery, fresh objects must see
each entry in exactly one of store and archive, with its content intact; the next move
then finishes the work and leaves no staged rows or commit records behind.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, Set, Tuple

import pytest
from longterm_backends import REPO, ManualClock, PERSISTENT_BACKENDS

from memlint.runtime import LongTermMemory, MemoryArchiver

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)

MOVER = """
import json, os, signal, sys
from datetime import datetime
from memlint.runtime import LongTermMemory, MemoryArchiver
from memlint.runtime import _sqlite

store_kwargs, archive_dir, phase, nth = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
now = datetime.fromisoformat(sys.argv[5])
calls = [0]

def die_on_nth(cls, name):
    original = getattr(cls, name)
    def wrapper(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] == nth:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(self, *args, **kwargs)
    setattr(cls, name, wrapper)

# Kill inside a step: the step's transaction is open and never commits.
if phase == "commit":    # staged, store not yet committed
    die_on_nth(_sqlite._SQLiteStoreTx, "record_moves")
elif phase == "publish":  # store committed, archive not yet published
    die_on_nth(_sqlite._SQLiteArchiveTx, "publish")
elif phase == "forget":   # published, commit records not yet forgotten
    die_on_nth(_sqlite._SQLiteStoreTx, "forget_moves")

with LongTermMemory(100_000, None, clock=lambda: now, **store_kwargs) as memory:
    with MemoryArchiver(archive_dir, clock=lambda: now) as archiver:
        print("moving", flush=True)
        archiver.archive_from(memory, batch_size=int(sys.argv[6]))
print("done", flush=True)
"""


def fill(path: Path, count: int) -> Tuple[Dict[str, dict], Set[str]]:
    """A store with ``count`` old entries; most should be archived, every 10th is important."""
    clock = ManualClock(NOW - timedelta(days=40))
    with LongTermMemory(100_000, None, path=path, clock=clock) as memory:
        for number in range(count):
            memory.store({"id": f"e{number}", "text": f"entry {number} " * 8,
                          "importance": 0.9 if number % 10 == 0 else 0.3, "tags": [f"t{number % 5}"]})
        entries = {entry["id"]: entry for entry in memory}
    selected = {entry_id for entry_id, entry in entries.items() if entry["importance"] < 0.7}
    return entries, selected


def start_mover(path: Path, archive: Path, phase: str, nth: int, batch: int) -> "subprocess.Popen[str]":
    return subprocess.Popen(
        [sys.executable, "-c", MOVER, json.dumps({"path": str(path)}), str(archive), phase, str(nth),
         NOW.isoformat(), str(batch)],
        cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def assert_exactly_once(path: Path, archive: Path, entries: Dict[str, dict], selected: Set[str],
                        check_content: bool) -> Tuple[Set[str], Set[str]]:
    with LongTermMemory(100_000, None, path=path) as memory, MemoryArchiver(archive) as archiver:
        in_store = {entry["id"] for entry in memory}
        in_archive = set(archiver.ids())
        assert in_store & in_archive == set(), "duplicated"
        assert in_store | in_archive == set(entries), "lost"
        assert in_archive <= selected
        if check_content:
            for entry_id in in_archive:
                assert archiver.retrieve_from_archive(entry_id) == entries[entry_id]
        return in_store, in_archive


def assert_recovered(path: Path, archive: Path, entries: Dict[str, dict], selected: Set[str]) -> None:
    clock = ManualClock(NOW)
    with LongTermMemory(100_000, None, path=path, clock=clock) as memory:
        with MemoryArchiver(archive, clock=clock) as archiver:
            archiver.archive_from(memory)
            assert set(archiver.ids()) == selected
            assert {entry["id"] for entry in memory} == set(entries) - selected
            for entry_id in sorted(selected)[:50]:
                assert archiver.retrieve_from_archive(entry_id) == entries[entry_id]
    with closing(sqlite3.connect(archive / "archive.sqlite3")) as raw:
        assert raw.execute("SELECT count(*) FROM staged").fetchone()[0] == 0
        assert raw.execute("SELECT count(*) FROM archived").fetchone()[0] == len(selected)
    with closing(sqlite3.connect(path)) as raw:
        assert raw.execute("SELECT count(*) FROM moves").fetchone()[0] == 0


def finish(child: "subprocess.Popen[str]") -> Tuple[int, str]:
    try:
        _, stderr = child.communicate(timeout=600)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return child.returncode, stderr


@pytest.mark.parametrize("backend", PERSISTENT_BACKENDS)
@pytest.mark.parametrize("phase", ["commit", "publish", "forget"])
def test_killed_inside_each_step(tmp_path: Path, phase: str, backend: str) -> None:
    path, archive = tmp_path / "memory.sqlite3", tmp_path / "archive"
    entries, selected = fill(path, 1000)
    returncode, stderr = finish(start_mover(path, archive, phase, nth=3, batch=100))
    assert returncode == -signal.SIGKILL, stderr
    in_store, in_archive = assert_exactly_once(path, archive, entries, selected, check_content=True)
    # Two batches completed before the kill in the third: the kill was mid-way.
    assert 0 < len(in_archive) < len(selected)
    if phase == "commit":
        assert len(in_archive) == 2 * 90
    else:
        assert len(in_archive) == 3 * 90, "the third batch had committed"
    assert_recovered(path, archive, entries, selected)


@pytest.mark.slow
@pytest.mark.parametrize("backend", PERSISTENT_BACKENDS)
def test_sigkill_at_random_moments_while_archiving_10000(tmp_path: Path, backend: str) -> None:
    path = tmp_path / "memory.sqlite3"
    entries, selected = fill(path, 10_000)
    template = path.read_bytes()
    mid_way = 0
    for attempt, delay in enumerate([0.05, 0.15, 0.3, 0.6, 1.0, 1.5]):
        path.write_bytes(template)  # the same 10,000 entries, a fresh archive each time
        for stale in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if stale.exists():
                stale.unlink()
        archive = tmp_path / f"archive{attempt}"
        child = start_mover(path, archive, "none", nth=0, batch=50)
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "moving"
            time.sleep(delay)
            child.send_signal(signal.SIGKILL)
        finally:
            returncode, stderr = finish(child)
        in_store, in_archive = assert_exactly_once(path, archive, entries, selected, check_content=False)
        if returncode == -signal.SIGKILL and 0 < len(in_archive) < len(selected):
            mid_way += 1
        assert_recovered(path, archive, entries, selected)
    assert mid_way >= 2, "the kills should land while the move is under way"

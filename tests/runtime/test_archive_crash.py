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
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

import pytest
from longterm_backends import (  # noqa: F401 - fixtures are used by name
    PERSISTENT_BACKENDS,
    REPO,
    ManualClock,
    PostgresServer,
    postgres_server,
)

from memlint.runtime import LongTermMemory, MemoryArchiver

try:
    import psycopg
except ImportError:  # pragma: no cover - only the PostgreSQL half needs it
    psycopg = None

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)

MOVER = """
import json, os, signal, sys
from datetime import datetime
from memlint.runtime import LongTermMemory, MemoryArchiver
from memlint.runtime import _sqlite, _sqlite_archive

store_kwargs, archive_kwargs, phase, nth = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3], int(sys.argv[4])
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
    die_on_nth(_sqlite_archive._SQLiteArchiveTx, "publish")
elif phase == "forget":   # published, commit records not yet forgotten
    die_on_nth(_sqlite._SQLiteStoreTx, "forget_moves")
elif phase in ("inside", "after"):  # PostgreSQL: inside the one move transaction, or just after it
    from memlint.runtime import _postgres
    if phase == "inside":
        die_on_nth(_postgres._PostgresArchiveTx, "put")
    else:
        original_move = _postgres.PostgresArchiveBackend.atomic_move
        def move_then_die(self, *args, **kwargs):
            moved = original_move(self, *args, **kwargs)
            calls[0] += 1
            if calls[0] == nth:
                os.kill(os.getpid(), signal.SIGKILL)
            return moved
        _postgres.PostgresArchiveBackend.atomic_move = move_then_die

with LongTermMemory(100_000, None, clock=lambda: now, **store_kwargs) as memory:
    with MemoryArchiver(**archive_kwargs, clock=lambda: now) as archiver:
        print("moving", flush=True)
        archiver.archive_from(memory, batch_size=int(sys.argv[6]))
print("done", flush=True)
"""


class CrashSite:
    """One backend's store and archive, refilled to the same state for every attempt."""

    def __init__(self, backend: str, tmp_path: Path, request: Any) -> None:
        self.backend = backend
        self.tmp_path = tmp_path
        self.server: Optional[PostgresServer] = None
        self.databases: List[str] = []
        if backend == "postgres":
            self.server = request.getfixturevalue("postgres_server")
        self.template: Any = None
        self.attempt = 0
        self.store_kwargs: Dict[str, Any] = {}
        self.archive_kwargs: Dict[str, Any] = {}

    def fill(self, count: int) -> Tuple[Dict[str, dict], Set[str]]:
        """``count`` old entries; most should be archived, every 10th is important."""
        if self.server is not None:
            self.template = self.server.create_database()
            self.databases.append(self.template)
            kwargs: Dict[str, Any] = {"url": self.server.url(self.template)}
        else:
            kwargs = {"path": str(self.tmp_path / "template.sqlite3")}
        clock = ManualClock(NOW - timedelta(days=40))
        with LongTermMemory(100_000, None, clock=clock, **kwargs) as memory:
            for number in range(count):
                memory.store({"id": f"e{number}", "text": f"entry {number} " * 8,
                              "importance": 0.9 if number % 10 == 0 else 0.3, "tags": [f"t{number % 5}"]})
            entries = {entry["id"]: entry for entry in memory}
        if self.server is None:
            self.template = Path(kwargs["path"]).read_bytes()  # closed: the WAL is checkpointed
        selected = {entry_id for entry_id, entry in entries.items() if entry["importance"] < 0.7}
        return entries, selected

    def reset(self) -> None:
        """The filled store again, and an empty archive."""
        self.attempt += 1
        if self.server is not None:
            name = f"{self.template}_{self.attempt}"
            with psycopg.connect(self.server.url(), autocommit=True) as admin:
                admin.execute(f"CREATE DATABASE {name} TEMPLATE {self.template}")
            self.databases.append(name)
            self.store_kwargs = self.archive_kwargs = {"url": self.server.url(name)}
        else:
            path = self.tmp_path / f"memory{self.attempt}.sqlite3"
            path.write_bytes(self.template)
            self.store_kwargs = {"path": str(path)}
            self.archive_kwargs = {"archive_dir": str(self.tmp_path / f"archive{self.attempt}")}

    def leftovers(self) -> Tuple[int, int, int]:
        """(staged rows, commit records, archived rows) in the raw tables."""
        if self.server is not None:
            with psycopg.connect(self.store_kwargs["url"]) as raw:
                return tuple(raw.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[return-value]
                             for table in ("memlint_staged", "memlint_moves", "memlint_archived"))
        with closing(sqlite3.connect(Path(self.archive_kwargs["archive_dir"]) / "archive.sqlite3")) as archive:
            staged = archive.execute("SELECT count(*) FROM staged").fetchone()[0]
            archived = archive.execute("SELECT count(*) FROM archived").fetchone()[0]
        with closing(sqlite3.connect(self.store_kwargs["path"])) as store:
            moves = store.execute("SELECT count(*) FROM moves").fetchone()[0]
        return staged, moves, archived

    def start_mover(self, phase: str, nth: int, batch: int) -> "subprocess.Popen[str]":
        return subprocess.Popen(
            [sys.executable, "-c", MOVER, json.dumps(self.store_kwargs), json.dumps(self.archive_kwargs),
             phase, str(nth), NOW.isoformat(), str(batch)],
            cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def close(self) -> None:
        if self.server is not None:
            for name in reversed(self.databases):
                self.server.drop_database(name)

    def assert_exactly_once(self, entries: Dict[str, dict], selected: Set[str],
                            check_content: bool) -> Tuple[Set[str], Set[str]]:
        with LongTermMemory(100_000, None, **self.store_kwargs) as memory, \
                MemoryArchiver(**self.archive_kwargs) as archiver:
            in_store = {entry["id"] for entry in memory}
            in_archive = set(archiver.ids())
            assert in_store & in_archive == set(), "duplicated"
            assert in_store | in_archive == set(entries), "lost"
            assert in_archive <= selected
            if check_content:
                for entry_id in in_archive:
                    assert archiver.retrieve_from_archive(entry_id) == entries[entry_id]
            return in_store, in_archive

    def assert_recovered(self, entries: Dict[str, dict], selected: Set[str]) -> None:
        clock = ManualClock(NOW)
        with LongTermMemory(100_000, None, clock=clock, **self.store_kwargs) as memory, \
                MemoryArchiver(clock=clock, **self.archive_kwargs) as archiver:
            archiver.archive_from(memory)
            assert set(archiver.ids()) == selected
            assert {entry["id"] for entry in memory} == set(entries) - selected
            for entry_id in sorted(selected)[:50]:
                assert archiver.retrieve_from_archive(entry_id) == entries[entry_id]
        assert self.leftovers() == (0, 0, len(selected))


@pytest.fixture(params=PERSISTENT_BACKENDS)
def site(request: Any, tmp_path: Path) -> Iterator[CrashSite]:
    crash_site = CrashSite(request.param, tmp_path, request)
    try:
        yield crash_site
    finally:
        crash_site.close()


def finish(child: "subprocess.Popen[str]") -> Tuple[int, str]:
    try:
        _, stderr = child.communicate(timeout=600)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return child.returncode, stderr


# Where the child dies (the nth time it reaches the point), and how many batches of 90
# selected entries have then committed. Each batch stages, commits, publishes and forgets
# once (SQLite), or puts 90 rows inside its one transaction (PostgreSQL).
PHASES = {
    "sqlite": [("commit", 3, 2), ("publish", 3, 3), ("forget", 3, 3)],
    "postgres": [("inside", 2 * 90 + 1, 2), ("after", 3, 3)],
}


def test_killed_inside_each_step(site: CrashSite) -> None:
    entries, selected = site.fill(1000)
    for phase, nth, committed_batches in PHASES[site.backend]:
        site.reset()
        returncode, stderr = finish(site.start_mover(phase, nth=nth, batch=100))
        assert returncode == -signal.SIGKILL, f"{phase}: {stderr}"
        in_store, in_archive = site.assert_exactly_once(entries, selected, check_content=True)
        assert len(in_archive) == committed_batches * 90, phase
        site.assert_recovered(entries, selected)


@pytest.mark.slow
def test_sigkill_at_random_moments_while_archiving_10000(site: CrashSite) -> None:
    entries, selected = site.fill(10_000)
    mid_way = 0
    for delay in [0.05, 0.15, 0.3, 0.6, 1.0, 1.5]:
        site.reset()
        child = site.start_mover("none", nth=0, batch=50)
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "moving"
            time.sleep(delay)
            child.send_signal(signal.SIGKILL)
        finally:
            returncode, stderr = finish(child)
        in_store, in_archive = site.assert_exactly_once(entries, selected, check_content=False)
        if returncode == -signal.SIGKILL and 0 < len(in_archive) < len(selected):
            mid_way += 1
        site.assert_recovered(entries, selected)
    assert mid_way >= 2, "the kills should land while the move is under way"

"""LongTermMemory on disk: restarts, schema, JSON, locking, threads and processes."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from contextlib import closing
from pathlib import Path
from typing import List

import pytest
from longterm_backends import (  # noqa: F401 - fixtures are used by name
    REPO,
    ManualClock,
    StoreLocation,
    TickingClock,
    as_arg,
    persistent_location,
    postgres_server,
)

from memlint.runtime import LongTermMemory
from memlint.runtime._sqlite import STORE_APPLICATION_ID, STORE_SCHEMA_VERSION, SchemaError

WRITERS_CHILD = """
import json, sys
from memlint.runtime import LongTermMemory
kwargs = json.loads(sys.argv[1])
prefix, count, bound = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with LongTermMemory(max_entries=bound, retention_days=None, grace_period=0, **kwargs) as memory:
    for number in range(count):
        memory.store({"id": f"{prefix}-{number}", "text": "x" * 40, "importance": (number % 7) / 10})
"""


def sqlite_file(location: StoreLocation) -> str:
    assert location.backend == "sqlite"
    return location.kwargs["path"]


# These inspect the SQLite file and connection themselves (PostgreSQL's own checks are in
# test_longterm_postgres.py).
sqlite_only = pytest.mark.parametrize("persistent_location", ["sqlite"], indirect=True)


def test_restart_finds_everything(persistent_location: StoreLocation) -> None:
    clock = TickingClock()
    memory = persistent_location.open(max_entries=1000, clock=clock)
    ids = [memory.store({"text": f"e{n}", "importance": (n % 10) / 10, "tags": [f"t{n % 3}"]}) for n in range(300)]
    before, stats = memory.storage, memory.get_stats()
    memory.close()
    reopened = persistent_location.open(max_entries=1000, clock=clock)
    assert reopened.storage == before
    assert reopened.get_stats() == stats
    assert all(entry_id in reopened for entry_id in ids)


@sqlite_only
def test_sqlite_file_is_wal_versioned_and_json(persistent_location: StoreLocation) -> None:
    path = sqlite_file(persistent_location)
    memory = persistent_location.open(clock=ManualClock())
    entry_id = memory.store({"text": "json please", "tags": ["a"]})
    with closing(sqlite3.connect(path)) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == STORE_SCHEMA_VERSION
        assert raw.execute("PRAGMA application_id").fetchone()[0] == STORE_APPLICATION_ID
        (body,) = raw.execute("SELECT body FROM entries WHERE id = ?", (entry_id,)).fetchone()
    assert isinstance(body, str), "entries are stored as JSON text, never as pickled bytes"
    assert json.loads(body)["text"] == "json please"


@sqlite_only
def test_connection_settings(persistent_location: StoreLocation) -> None:
    sqlite_file(persistent_location)
    memory = persistent_location.open(busy_timeout=12.5)
    conn = memory._backend._db.conn  # type: ignore[attr-defined]
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 12500
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    durable = persistent_location.open(durable=True)
    assert durable._backend._db.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # type: ignore[attr-defined]


def test_foreign_and_newer_files_are_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "other.sqlite3"
    with closing(sqlite3.connect(foreign)) as raw:
        raw.execute("CREATE TABLE users (name TEXT)")
        raw.commit()
    with pytest.raises(SchemaError, match="not a memlint database"):
        LongTermMemory(path=foreign)
    newer = tmp_path / "newer.sqlite3"
    LongTermMemory(path=newer).close()
    with closing(sqlite3.connect(newer)) as raw:
        raw.execute(f"PRAGMA user_version = {STORE_SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaError, match="newer"):
        LongTermMemory(path=newer)


@sqlite_only
def test_a_writer_waits_for_the_lock_instead_of_failing(persistent_location: StoreLocation) -> None:
    path = sqlite_file(persistent_location)
    memory = persistent_location.open(busy_timeout=30)
    memory.store({"text": "create"})
    held = threading.Event()
    release = threading.Event()

    def hold_write_lock() -> None:
        with closing(sqlite3.connect(path, isolation_level=None)) as raw:
            raw.execute("BEGIN IMMEDIATE")
            held.set()
            release.wait(10)
            raw.execute("COMMIT")

    holder = threading.Thread(target=hold_write_lock)
    holder.start()
    try:
        assert held.wait(10)
        impatient = persistent_location.open(busy_timeout=0)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            impatient.store({"text": "no wait"})
        timer = threading.Timer(0.3, release.set)
        timer.start()
        try:
            memory.store({"text": "waited"})  # blocks until the holder commits
        finally:
            timer.cancel()
    finally:
        release.set()
        holder.join()
    assert {e["text"] for e in memory.storage} == {"create", "waited"}


def _run_threads(target, count: int) -> None:  # type: ignore[no-untyped-def]
    errors: List[BaseException] = []

    def guarded(number: int) -> None:
        try:
            target(number)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.mark.slow
def test_eight_threads_sharing_one_object_lose_nothing(persistent_location: StoreLocation) -> None:
    memory = persistent_location.open(max_entries=100_000, retention_days=None)

    def write(number: int) -> None:
        for item in range(5000):
            memory.store({"id": f"t{number}-{item}", "text": "x"})

    _run_threads(write, 8)
    assert len(memory) == 40_000
    assert {e["id"] for e in memory} == {f"t{n}-{i}" for n in range(8) for i in range(5000)}


@pytest.mark.slow
def test_eight_threads_with_their_own_objects_lose_nothing(persistent_location: StoreLocation) -> None:
    persistent_location.open().close()  # create the file once

    def write(number: int) -> None:
        with LongTermMemory(100_000, None, **persistent_location.kwargs) as memory:
            for item in range(5000):
                memory.store({"id": f"t{number}-{item}", "text": "x"})

    _run_threads(write, 8)
    memory = persistent_location.open(max_entries=100_000)
    assert len(memory) == 40_000
    assert {e["id"] for e in memory} == {f"t{n}-{i}" for n in range(8) for i in range(5000)}


def _run_processes(location: StoreLocation, count: int, per_process: int, bound: int) -> None:
    children = []
    try:
        for number in range(count):
            children.append(subprocess.Popen(
                [sys.executable, "-c", WRITERS_CHILD, as_arg(location), f"p{number}", str(per_process), str(bound)],
                cwd=str(REPO), stderr=subprocess.PIPE, text=True,
            ))
        for child in children:
            _, stderr = child.communicate(timeout=600)
            assert child.returncode == 0, stderr
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()


@pytest.mark.slow
def test_four_processes_lose_nothing(persistent_location: StoreLocation) -> None:
    _run_processes(persistent_location, 4, 5000, 100_000)
    memory = persistent_location.open(max_entries=100_000)
    assert len(memory) == 20_000
    assert {e["id"] for e in memory} == {f"p{n}-{i}" for n in range(4) for i in range(5000)}


@pytest.mark.slow
def test_count_bound_holds_across_processes(persistent_location: StoreLocation) -> None:
    _run_processes(persistent_location, 4, 2000, 1000)
    memory = persistent_location.open(max_entries=1000)
    entries = memory.storage
    assert 0 < len(entries) <= 1000
    assert len(memory) == len(entries), "the maintained count matches the rows"
    assert all(entry["id"].split("-")[0] in {"p0", "p1", "p2", "p3"} for entry in entries)

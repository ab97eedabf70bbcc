"""``LongTermMemory.batch()``: group commit with the same bounds, all or nothing; and what a
kill leaves of stores that returned (one commit per store) and of batches that ended."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import List

import pytest
from longterm_backends import (  # noqa: F401 - fixtures are used by name
    REPO,
    StoreLocation,
    TickingClock,
    persistent_location,
    postgres_server,
    store_location,
)

from memlint.runtime import LongTermMemory


def stored(number: int) -> dict:
    return {"id": f"e{number}", "text": f"entry {number}", "importance": ((number * 7919) % 1000) / 1000}


def test_a_batch_keeps_the_bound_and_the_order_of_single_stores(store_location: StoreLocation) -> None:
    one_by_one = store_location.open(max_entries=10, clock=TickingClock(), namespace="single")
    batched = store_location.open(max_entries=10, clock=TickingClock(), namespace="batched")
    for number in range(40):
        one_by_one.store(stored(number))
    with batched.batch() as memory:
        assert memory is batched
        for number in range(40):
            batched.store(stored(number))
            assert len(batched) == min(number + 1, 10), "the bound holds inside the batch"
        assert batched.get("e39") is not None and "e39" in batched
    assert [e["id"] for e in batched] == [e["id"] for e in one_by_one]
    assert len(batched) == 10


def test_a_batch_is_invisible_to_others_until_it_ends(persistent_location: StoreLocation) -> None:
    writer = persistent_location.open()
    reader = persistent_location.open()
    writer.store({"id": "before"})
    with writer.batch():
        writer.store({"id": "inside"})
        writer.store_many([{"id": "many-1"}, {"id": "many-2"}])
        assert len(writer) == 4
        assert "inside" not in reader and len(reader) == 1
    assert sorted(e["id"] for e in reader) == ["before", "inside", "many-1", "many-2"]


def test_a_block_that_raises_stores_nothing(store_location: StoreLocation) -> None:
    memory = store_location.open(max_entries=5)
    memory.store({"id": "kept"})
    with pytest.raises(KeyError):
        with memory.batch():
            for number in range(10):
                memory.store(stored(number))
            raise KeyError("stop")
    assert [e["id"] for e in memory] == ["kept"]
    memory.store({"id": "after"})  # the memory is usable again
    assert len(memory) == 2


def test_a_caught_failure_inside_rolls_the_batch_back(store_location: StoreLocation) -> None:
    memory = store_location.open()
    with pytest.raises(RuntimeError, match="nothing of the batch was stored"):
        with memory.batch():
            memory.store({"id": "a"})
            try:
                memory.update("absent", {"x": 1})
            except KeyError:
                pass
            memory.store({"id": "b"})
    assert len(memory) == 0


def test_a_rejected_entry_does_not_spoil_the_batch(store_location: StoreLocation) -> None:
    # Bad input is refused before the transaction is touched: the rest of the batch stands.
    memory = store_location.open()
    with memory.batch():
        memory.store({"id": "a"})
        with pytest.raises(ValueError):
            memory.store({"id": "b", "importance": 2.0})
        memory.store({"id": "c"})
    assert sorted(e["id"] for e in memory) == ["a", "c"]


def test_nested_batches_join_the_outer_one(store_location: StoreLocation) -> None:
    memory = store_location.open()
    with pytest.raises(ZeroDivisionError):
        with memory.batch():
            with memory.batch():
                memory.store({"id": "inner"})
            assert "inner" in memory
            1 / 0
    assert len(memory) == 0, "the inner block committed nothing of its own"


def test_a_dry_run_cannot_run_inside_a_batch(store_location: StoreLocation) -> None:
    memory = store_location.open()
    with memory.batch():
        memory.store({"id": "a"})
        with pytest.raises(RuntimeError, match="dry_run"):
            memory.prune(dry_run=True)
        assert memory.prune() == []
    assert len(memory) == 1


def test_a_read_only_memory_refuses_a_batch(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite3"
    LongTermMemory(path=path).close()
    with LongTermMemory(path=path, read_only=True) as memory:
        with pytest.raises(PermissionError):
            with memory.batch():
                pass


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_other_threads_wait_for_the_batch(backend: str, tmp_path: Path) -> None:
    path = str(tmp_path / "m.sqlite3") if backend == "sqlite" else None
    with LongTermMemory(path=path) as memory:
        with memory.batch():
            memory.store({"id": "mine"})
            other = threading.Thread(target=lambda: memory.store({"id": "theirs"}))
            other.start()
            other.join(0.3)
            assert other.is_alive(), "another thread's store waits for the batch's write lock"
            assert "theirs" not in memory
        other.join(30)
        assert not other.is_alive()
        assert sorted(e["id"] for e in memory) == ["mine", "theirs"]


# A child that stores and reports on stdout what has returned: single stores (one commit
# each, the default) or batches of BATCH (reported once their block has ended).
STORER = """
import sys
from memlint.runtime import LongTermMemory
path, mode, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
with LongTermMemory(max_entries=1_000_000, path=path) as memory:
    number = 0
    while True:
        if mode == "single":
            memory.store({"id": f"e{number}", "text": "x" * 200})
            print(number, flush=True)
            number += 1
        else:
            with memory.batch():
                for _ in range(batch):
                    memory.store({"id": f"e{number}", "text": "x" * 200})
                    number += 1
            print(number - 1, flush=True)
"""


def _kill_while_storing(path: Path, mode: str, batch: int, rng: random.Random) -> List[int]:
    child = subprocess.Popen([sys.executable, "-c", STORER, str(path), mode, str(batch)], cwd=str(REPO),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        first = child.stdout.readline()  # storing has begun
        time.sleep(rng.uniform(0.05, 1.0))
        child.send_signal(signal.SIGKILL)
        out = first + child.stdout.read()  # the same reader: nothing it buffered is lost
        assert child.stderr is not None
        err = child.stderr.read()
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL, err
    return [int(line) for line in out.split()]


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")
@pytest.mark.parametrize("mode", ["single", "batch"])
def test_what_returned_survives_a_kill(mode: str, tmp_path: Path) -> None:
    rng = random.Random(1616)
    for round_number in range(6):
        path = tmp_path / f"kill-{round_number}.sqlite3"
        reported = _kill_while_storing(path, mode, 25, rng)
        with LongTermMemory(max_entries=1_000_000, path=path) as memory:
            ids = {entry["id"] for entry in memory}
            assert len(memory) == len(ids)
        assert reported, "the child stored nothing before it was killed"
        returned = max(reported) + 1  # entries whose store() (or batch) had returned
        assert {f"e{number}" for number in range(returned)} <= ids, "an entry whose store returned was lost"
        if mode == "batch":
            assert len(ids) % 25 == 0, "a killed batch left part of itself"
        # At most the store (or batch) under way when the kill came committed unreported.
        assert len(ids) <= returned + (25 if mode == "batch" else 1)
    assert os.path.exists(tmp_path / "kill-0.sqlite3")


def test_archive_from_refuses_to_run_inside_the_memorys_batch(store_location: StoreLocation) -> None:
    memory = store_location.open()
    archiver = store_location.open_archive(min_age_days=0)
    with pytest.raises(RuntimeError, match="cannot run inside memory.batch"):
        with memory.batch():
            memory.store({"id": "a"})
            archiver.archive_from(memory)
    assert len(memory) == 0, "the batch ended by the error stored nothing"

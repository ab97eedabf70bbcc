"""Several writers and a pruner on one store: the bound holds, nothing that should stay goes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from longterm_backends import (  # noqa: F401 - fixtures are used by name
    REPO,
    StoreLocation,
    as_arg,
    persistent_location,
    postgres_server,
)

WRITER = """
import json, sys
from memlint.runtime import LongTermMemory
kwargs, prefix = json.loads(sys.argv[1]), sys.argv[2]
with LongTermMemory(max_entries=2000, retention_days=None, grace_period=0, **kwargs) as memory:
    for number in range(5000):
        # every 50th entry is pinned: 100 per writer, 400 in all, far below the bound
        importance = 0.9 if number % 50 == 0 else (number % 5) / 10
        memory.store({"id": f"{prefix}-{number}", "text": "fleet", "importance": importance})
"""

PRUNER = """
import json, os, sys
from memlint.runtime import LongTermMemory
kwargs, stop = json.loads(sys.argv[1]), sys.argv[2]
rounds = 0
with LongTermMemory(max_entries=2000, retention_days=None, grace_period=0, **kwargs) as memory:
    while not os.path.exists(stop):
        memory.prune()
        rounds += 1
    memory.prune()
print(rounds)
"""


@pytest.mark.slow
def test_four_writers_and_a_pruner(persistent_location: StoreLocation, tmp_path: Path) -> None:
    persistent_location.open(max_entries=2000).close()  # create the schema once
    stop = tmp_path / "stop"
    arg = as_arg(persistent_location)
    processes = []
    try:
        pruner = subprocess.Popen([sys.executable, "-c", PRUNER, arg, str(stop)], cwd=str(REPO),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        processes.append(pruner)
        writers = [subprocess.Popen([sys.executable, "-c", WRITER, arg, f"w{n}"], cwd=str(REPO),
                                    stderr=subprocess.PIPE, text=True) for n in range(4)]
        processes.extend(writers)
        for writer in writers:
            _, stderr = writer.communicate(timeout=900)
            assert writer.returncode == 0, stderr
        stop.touch()
        out, stderr = pruner.communicate(timeout=300)
        assert pruner.returncode == 0, stderr
        assert int(out) >= 1
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    memory = persistent_location.open(max_entries=2000)
    ids = {entry["id"] for entry in memory}
    assert len(ids) <= 2000, "the bound holds for the whole fleet"
    assert len(memory) == len(ids), "the maintained count matches the rows"
    pinned = {f"w{w}-{n}" for w in range(4) for n in range(0, 5000, 50)}
    assert pinned <= ids, "pinned entries never go while unpinned ones are left"

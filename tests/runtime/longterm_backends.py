"""Fixtures shared by the runtime store tests: one parametrized backend fixture.

Every store test takes ``store_location`` (or ``make_memory``) and so runs once per
backend. A new backend adds its name to ``ALL_BACKENDS`` (and ``PERSISTENT_BACKENDS`` if
it survives a restart) and a branch in ``_location`` that returns the keyword arguments
which point ``LongTermMemory`` at it; every test then runs against it unchanged.

Test modules import these names: ``from longterm_backends import ...``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

from memlint.runtime import LongTermMemory

#: Backends that every store test runs against.
ALL_BACKENDS = ["memory", "sqlite"]
#: Backends whose data outlives the object (restart, threads, processes, archive moves).
PERSISTENT_BACKENDS = ["sqlite"]

REPO = Path(__file__).resolve().parents[2]


class ManualClock:
    """A clock that only moves when told to (aware UTC datetimes)."""

    def __init__(self, start: Optional[datetime] = None) -> None:
        self.now = start or datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class TickingClock(ManualClock):
    """Moves forward by ``step`` on every reading, so that every store has its own time."""

    def __init__(self, start: Optional[datetime] = None, step: timedelta = timedelta(seconds=1)) -> None:
        super().__init__(start)
        self.step = step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


@dataclass
class StoreLocation:
    """Where a test's store lives. ``kwargs`` are JSON, so subprocesses can use them too."""

    backend: str
    kwargs: Dict[str, Any]
    persistent: bool
    opened: List[LongTermMemory] = field(default_factory=list)

    def open(self, max_entries: int = 10000, retention_days: Optional[float] = 90, **options: Any) -> LongTermMemory:
        memory = LongTermMemory(max_entries, retention_days, **self.kwargs, **options)
        self.opened.append(memory)
        return memory


def _location(backend: str, tmp_path: Path) -> StoreLocation:
    if backend == "memory":
        return StoreLocation(backend, {}, persistent=False)
    if backend == "sqlite":
        return StoreLocation(backend, {"path": str(tmp_path / "memory.sqlite3")}, persistent=True)
    raise AssertionError(f"unknown backend {backend}")


def _opened(backend: str, tmp_path: Path) -> Iterator[StoreLocation]:
    location = _location(backend, tmp_path)
    try:
        yield location
    finally:
        for memory in location.opened:
            memory.close()


@pytest.fixture(params=ALL_BACKENDS)
def store_location(request: Any, tmp_path: Path) -> Iterator[StoreLocation]:
    """Any backend; ``store_location.open(...)`` makes a ``LongTermMemory`` closed after the test."""
    yield from _opened(request.param, tmp_path)


@pytest.fixture(params=PERSISTENT_BACKENDS)
def persistent_location(request: Any, tmp_path: Path) -> Iterator[StoreLocation]:
    """A backend that outlives the object: reopening ``open()`` finds the same entries."""
    yield from _opened(request.param, tmp_path)


def run_python(code: str, *args: str, env: Optional[Dict[str, str]] = None, timeout: float = 600) -> str:
    """Run ``code`` in a fresh interpreter with ``args``; return its stdout, fail on error."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    completed = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=str(REPO), env=full_env,
        capture_output=True, text=True, timeout=timeout, check=False,
    )
    assert completed.returncode == 0, f"child failed ({completed.returncode}):\n{completed.stderr}"
    return completed.stdout


def as_arg(location: StoreLocation) -> str:
    return json.dumps(location.kwargs)


Factory = Callable[..., LongTermMemory]

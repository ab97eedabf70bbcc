"""Fixtures shared by the runtime store tests: one parametrized backend fixture.

Every store test takes ``store_location`` (or ``persistent_location``) and so runs once
per backend: ``memory`` (no path), ``sqlite`` (a file) and ``postgres`` (a database on a
throwaway server). A backend is a name in ``ALL_BACKENDS`` (and ``PERSISTENT_BACKENDS``
if it survives a restart) and a branch in ``_location`` that returns the keyword
arguments pointing ``LongTermMemory`` and ``MemoryArchiver`` at it.

PostgreSQL: a session fixture starts a private server from the binaries of the ``pgserver``
wheel (PostgreSQL with pgvector; the test extra installs it) or else the distribution's
(``initdb``/``postgres``), listening on 127.0.0.1 only, in a temporary directory, and
each test gets its own fresh database. PostgreSQL refuses to run as root, so as root the
server runs as ``nobody``. The PostgreSQL tests skip (with the reason) only when no server
binary exists.

Test modules import these names: ``from longterm_backends import ...``.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

from memlint.runtime import LongTermMemory, MemoryArchiver

#: Backends that every store test runs against.
ALL_BACKENDS = ["memory", "sqlite", "postgres"]
#: Backends whose data outlives the object (restart, threads, processes, archive moves).
PERSISTENT_BACKENDS = ["sqlite", "postgres"]

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
    """Where a test's store lives. ``kwargs`` are JSON, so subprocesses can use them too.

    ``archive_kwargs`` point a ``MemoryArchiver`` at the matching archive: a directory
    for SQLite, the same database for PostgreSQL.
    """

    backend: str
    kwargs: Dict[str, Any]
    persistent: bool
    archive_kwargs: Dict[str, Any] = field(default_factory=dict)
    opened: List[Any] = field(default_factory=list)

    def open(self, max_entries: int = 10000, retention_days: Optional[float] = 90, **options: Any) -> LongTermMemory:
        memory = LongTermMemory(max_entries, retention_days, **self.kwargs, **options)
        self.opened.append(memory)
        return memory

    def open_archive(self, **options: Any) -> MemoryArchiver:
        archiver = MemoryArchiver(**self.archive_kwargs, **options)
        self.opened.append(archiver)
        return archiver


def _readable_by_nobody(bindir: str, root: str) -> str:
    """``bindir`` itself when ``nobody`` can run it, else a copy of its installation under ``root``.

    A wheel installed by root lives under root's home, which other users cannot enter. The
    installation (bin, lib, share) is relocatable and finds the wheel's shared libraries in
    the package's sibling ``<package>.libs`` folder (an rpath relative to the binary), so the
    copy keeps that layout: ``<root>/bundle/<package>/<installation>`` and ``<root>/bundle/<package>.libs``.
    """
    probe = subprocess.run(["test", "-x", os.path.join(bindir, "postgres")], user=65534, group=65534,
                           extra_groups=[], check=False)
    if probe.returncode == 0:
        return bindir
    installation = os.path.dirname(os.path.realpath(bindir))
    package = os.path.dirname(installation)
    bundle = os.path.join(root, "bundle")
    copy = os.path.join(bundle, os.path.basename(package), os.path.basename(installation))
    shutil.copytree(installation, copy, symlinks=True)
    libraries = package + ".libs"
    if os.path.isdir(libraries):
        shutil.copytree(libraries, os.path.join(bundle, os.path.basename(libraries)), symlinks=True)
    for folder, _, _ in os.walk(bundle):
        os.chmod(folder, 0o755)
    return os.path.join(copy, "bin")


class PostgresServer:
    """A throwaway PostgreSQL server on 127.0.0.1 (see the module docstring)."""

    def __init__(self, bindir: str) -> None:
        self.bindir = bindir
        self.root = tempfile.mkdtemp(prefix="memlint-pg-")
        self.process: Optional["subprocess.Popen[bytes]"] = None
        self.port = 0
        run_as: Dict[str, Any] = {}
        try:
            if hasattr(os, "geteuid") and os.geteuid() == 0:
                os.chown(self.root, 65534, 65534)  # nobody: postgres refuses to run as root
                run_as = {"user": 65534, "group": 65534, "extra_groups": []}
                bindir = self.bindir = _readable_by_nobody(bindir, self.root)
            subprocess.run(
                [os.path.join(bindir, "initdb"), "-D", os.path.join(self.root, "data"), "-U", "memlint",
                 "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"],
                check=True, capture_output=True, **run_as,
            )
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                self.port = probe.getsockname()[1]
            self.process = subprocess.Popen(
                [os.path.join(bindir, "postgres"), "-D", os.path.join(self.root, "data"), "-p", str(self.port),
                 "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.root}",
                 "-c", "fsync=off", "-c", "max_connections=300"],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **run_as,
            )
            self._wait_ready()
        except BaseException:
            self.close()
            raise

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://memlint@127.0.0.1:{self.port}/{database}"

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + 60
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited: {self.process.stderr.read().decode() if self.process.stderr else ''}")
            try:
                with psycopg.connect(self.url(), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def create_database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        return name

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def close(self) -> None:
        process, self.process = self.process, None
        try:
            if process is not None:
                process.send_signal(signal.SIGINT)  # fast shutdown
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                if process.stderr is not None:
                    process.stderr.close()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "PostgresServer":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _bundled_bindir() -> Optional[str]:
    """The binaries of the ``pgserver`` wheel (PostgreSQL with pgvector), found without importing it.

    The test extra installs it so that the pgvector backend is tested wherever the wheel
    exists, not only on machines whose distribution packages pgvector; importing the
    package would start its own machinery, so only its location is looked up.
    """
    import importlib.util

    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.join(list(spec.submodule_search_locations)[0], "pginstall", "bin")


def postgres_bindir() -> Optional[str]:
    """The directory of a ``postgres`` and ``initdb``: the bundled one first, else the distribution's."""
    candidates = [directory for directory in [_bundled_bindir()] if directory]
    found = shutil.which("postgres")
    if found:
        candidates.append(os.path.dirname(os.path.realpath(found)))
    candidates.extend(sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True))
    for directory in candidates:
        if all(os.access(os.path.join(directory, tool), os.X_OK) for tool in ("postgres", "initdb")):
            return directory
    return None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server binary (postgres, initdb) on this machine: "
                    "install the distribution's postgresql package to run the PostgreSQL tests")
    with PostgresServer(bindir) as server:
        yield server


def _opened(backend: str, request: Any, tmp_path: Path) -> Iterator[StoreLocation]:
    database = None
    server: Optional[PostgresServer] = None
    if backend == "memory":
        location = StoreLocation(backend, {}, persistent=False,
                                 archive_kwargs={"archive_dir": str(tmp_path / "archive")})
    elif backend == "sqlite":
        location = StoreLocation(backend, {"path": str(tmp_path / "memory.sqlite3")}, persistent=True,
                                 archive_kwargs={"archive_dir": str(tmp_path / "archive")})
    elif backend == "postgres":
        server = request.getfixturevalue("postgres_server")
        database = server.create_database()
        url = server.url(database)
        location = StoreLocation(backend, {"url": url}, persistent=True, archive_kwargs={"url": url})
    else:
        raise AssertionError(f"unknown backend {backend}")
    try:
        yield location
    finally:
        try:
            for obj in location.opened:
                obj.close()
        finally:
            if server is not None and database is not None:
                server.drop_database(database)


@pytest.fixture(params=ALL_BACKENDS)
def store_location(request: Any, tmp_path: Path) -> Iterator[StoreLocation]:
    """Any backend; ``store_location.open(...)`` makes a ``LongTermMemory`` closed after the test."""
    yield from _opened(request.param, request, tmp_path)


@pytest.fixture(params=PERSISTENT_BACKENDS)
def persistent_location(request: Any, tmp_path: Path) -> Iterator[StoreLocation]:
    """A backend that outlives the object: reopening ``open()`` finds the same entries."""
    yield from _opened(request.param, request, tmp_path)


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


# What a version-3 file had where version 4 differs: a time index of every entry, count
# triggers, and tag triggers that parse every body and probe the tag index on every delete.
V3_LAYOUT = """
DROP INDEX entries_settled_by_ts;
CREATE INDEX entries_by_ts ON entries (ns, ts_us);
CREATE TRIGGER entries_count_up AFTER INSERT ON entries
BEGIN INSERT INTO counters (name, value) VALUES (NEW.ns, 1)
      ON CONFLICT (name) DO UPDATE SET value = value + 1; END;
CREATE TRIGGER entries_count_down AFTER DELETE ON entries
BEGIN UPDATE counters SET value = value - 1 WHERE name = OLD.ns; END;
DROP TRIGGER entries_tags_insert;
DROP TRIGGER entries_tags_update;
DROP TRIGGER entries_tags_delete;
CREATE TRIGGER entries_tags_insert AFTER INSERT ON entries
BEGIN INSERT OR IGNORE INTO entry_tags (tag, seq)
      SELECT value, NEW.seq FROM json_each(NEW.body, '$.tags') WHERE type = 'text'; END;
CREATE TRIGGER entries_tags_update AFTER UPDATE OF body ON entries
BEGIN DELETE FROM entry_tags WHERE seq = OLD.seq;
      INSERT OR IGNORE INTO entry_tags (tag, seq)
      SELECT value, NEW.seq FROM json_each(NEW.body, '$.tags') WHERE type = 'text'; END;
CREATE TRIGGER entries_tags_delete AFTER DELETE ON entries
BEGIN DELETE FROM entry_tags WHERE seq = OLD.seq; END;
PRAGMA user_version = 3;
"""


def downgrade_to_v3(path: Path) -> None:
    """Give a current file the version-3 layout (its entries unchanged)."""
    raw = sqlite3.connect(path)
    try:
        raw.executescript(V3_LAYOUT)
    finally:
        raw.close()

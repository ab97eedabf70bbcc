"""What only the PostgreSQL backend has: schema, JSONB, pooling, the driver extra.

Everything else (behaviour, concurrency, crashes) runs against PostgreSQL through the
shared ``store_location``/``persistent_location`` fixtures in the other test modules.
"""

from __future__ import annotations

import builtins
import time
from pathlib import Path
from typing import Any, Iterator

import psycopg
import pytest
from longterm_backends import PostgresServer, postgres_server  # noqa: F401 - fixture used by name

from memlint.runtime import LongTermMemory, MemoryArchiver
from memlint.runtime._backend import SchemaError
from memlint.runtime._postgres import redact


@pytest.fixture
def url(postgres_server: PostgresServer) -> Iterator[str]:  # noqa: F811 - the fixture above
    database = postgres_server.create_database()
    try:
        yield postgres_server.url(database)
    finally:
        postgres_server.drop_database(database)


def other_sessions(url: str) -> int:
    """Connections to the test database other than this check's own."""
    with psycopg.connect(url) as check:
        return int(check.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0])


def sessions_left(url: str) -> int:
    """``other_sessions`` once closed ones are gone: a server process leaves
    ``pg_stat_activity`` a moment after its client disconnects, an open pool never does."""
    deadline = time.monotonic() + 10
    while True:
        count = other_sessions(url)
        if count == 0 or time.monotonic() > deadline:
            return count
        time.sleep(0.05)


def test_schema_is_created_versioned_and_jsonb(url: str) -> None:
    with LongTermMemory(url=url) as memory, MemoryArchiver(url=url) as archiver:
        memory.store({"id": "x", "text": "hello", "tags": ["t"]})
        archiver.archive_entry({"id": "y", "text": "old"})
    with psycopg.connect(url) as raw:
        versions = dict(raw.execute("SELECT component, version FROM memlint_schema").fetchall())
        assert versions == {"store": 2, "archive": 1}
        assert raw.execute("SELECT pg_typeof(body)::text FROM memlint_entries").fetchone()[0] == "jsonb"
        assert raw.execute("SELECT body ->> 'text' FROM memlint_entries WHERE id = 'x'").fetchone()[0] == "hello"
        indexes = {row[0] for row in raw.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'memlint_entries'").fetchall()}
        assert {"memlint_entries_by_ts", "memlint_entries_rank_settled", "memlint_entries_rank_fresh",
                "memlint_entries_tags"} <= indexes


def test_newer_schema_is_refused_and_nothing_leaks(url: str) -> None:
    LongTermMemory(url=url).close()
    with psycopg.connect(url) as raw:
        raw.execute("UPDATE memlint_schema SET version = 99 WHERE component = 'store'")
    with pytest.raises(SchemaError, match="newer"):
        LongTermMemory(url=url)
    assert sessions_left(url) == 0, "a failed constructor closes its pool"


def test_connections_are_pooled_and_closed(url: str) -> None:
    with LongTermMemory(url=url) as memory, MemoryArchiver(url=url) as archiver:
        for number in range(50):
            memory.store({"text": f"e{number}"})
        archiver.archive_entry({"id": "a"})
        assert 1 <= other_sessions(url) <= 8, "each object holds a small pool, not a connection per call"
        with pytest.raises(ValueError):
            memory.store({"importance": 7})
    assert sessions_left(url) == 0
    with pytest.raises(ValueError, match="closed"):
        memory.store({"text": "after close"})


def test_bad_urls_and_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="PostgreSQL URL"):
        LongTermMemory(url="mysql://localhost/db")
    with pytest.raises(ValueError, match="not both"):
        LongTermMemory(path=tmp_path / "x.sqlite3", url="postgresql://localhost/db")
    with pytest.raises(TypeError):
        LongTermMemory(url=42)  # type: ignore[arg-type]
    assert "secret" not in redact("postgresql://agent:secret@db.example:5432/memory")
    assert redact("postgresql://agent:secret@db.example:5432/memory") == "postgresql://agent:***@db.example:5432/memory"


def test_missing_driver_names_the_extra(monkeypatch: Any) -> None:
    real_import = builtins.__import__

    def no_psycopg(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.split(".")[0] in ("psycopg", "psycopg_pool"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_psycopg)
    with pytest.raises(ImportError, match=r"memlint\[postgres\]"):
        LongTermMemory(url="postgresql://localhost/db")


def test_a_postgres_store_archives_only_into_the_same_database(url: str, tmp_path: Path) -> None:
    with LongTermMemory(url=url) as memory, MemoryArchiver(tmp_path / "a") as archiver:
        memory.store({"text": "x"})
        with pytest.raises(ValueError, match="same database"):
            archiver.archive_from(memory)
        assert len(memory) == 1


def test_a_missing_database_fails_fast_with_the_servers_message(postgres_server: PostgresServer) -> None:  # noqa: F811
    missing = postgres_server.url("no_such_database")
    started = time.monotonic()
    with pytest.raises(ConnectionError, match="no_such_database.*does not exist"):
        LongTermMemory(url=missing, busy_timeout=30)
    # The old code waited for the pool's 30 s timeout and raised PoolTimeout.
    assert time.monotonic() - started < 10

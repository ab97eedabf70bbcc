"""MemoryArchiver: the document's API, ids, checksums, the index, and moves from a store."""

from __future__ import annotations

import json
import os
import sqlite3
import zlib
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict

import pytest
from longterm_backends import (  # noqa: F401 - fixtures are used by name
    ManualClock,
    StoreLocation,
    postgres_server,
    run_python,
    store_location,
)

from memlint.runtime import LongTermMemory, MemoryArchiver
from memlint.runtime._sqlite import SchemaError  # re-exported from _backend
from memlint.runtime.archive import ArchiveCorruptedError, ArchiveRecord

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


@pytest.fixture
def archiver(tmp_path: Path) -> Any:
    with MemoryArchiver(tmp_path / "archive", clock=ManualClock(NOW)) as archive:
        yield archive


def old_entry(days: float, importance: float = 0.3, **extra: Any) -> Dict[str, Any]:
    return {"timestamp": (NOW - timedelta(days=days)).isoformat(), "importance": importance, **extra}


# -- the document's API ------------------------------------------------------------------


def test_should_archive_as_the_document(archiver: MemoryArchiver) -> None:
    assert archiver.should_archive(old_entry(31, 0.69)) is True
    assert archiver.should_archive(old_entry(31, 0.7)) is False  # "< 0.7"
    assert archiver.should_archive(old_entry(29, 0.1)) is False
    naive = (NOW - timedelta(days=40)).replace(tzinfo=None).isoformat()  # datetime.now().isoformat()
    assert archiver.should_archive({"timestamp": naive, "importance": 0.2}) is True
    assert archiver.should_archive({"timestamp": naive}) is True  # importance defaults to 0.5
    with pytest.raises(ValueError, match="timestamp"):
        archiver.should_archive({"importance": 0.1})
    with pytest.raises(ValueError):
        archiver.should_archive({"timestamp": "last tuesday"})
    with pytest.raises(TypeError):
        archiver.should_archive("entry")  # type: ignore[arg-type]


def test_archive_and_retrieve_round_trip(archiver: MemoryArchiver) -> None:
    entry = old_entry(40, id="note-1", text="remember the milk", tags=["shopping"])
    assert archiver.archive_entry(entry) == "note-1"
    assert archiver.retrieve_from_archive("note-1") == entry
    with pytest.raises(FileNotFoundError, match="not-there"):
        archiver.retrieve_from_archive("not-there")
    assert "note-1" in archiver and "not-there" not in archiver


def test_ids_without_an_id_are_content_derived_and_stable(archiver: MemoryArchiver, tmp_path: Path) -> None:
    entry = old_entry(40, text="no id here")
    entry_id = archiver.archive_entry(entry)
    assert archiver.retrieve_from_archive(entry_id)["text"] == "no id here"
    # Another process, another hash seed, another key order: the same id, and it finds it.
    code = (
        "import json, sys\nfrom memlint.runtime import MemoryArchiver\n"
        "entry = dict(reversed(list(json.loads(sys.argv[2]).items())))\n"
        "with MemoryArchiver(sys.argv[1]) as a:\n"
        "    print(a.archive_entry(entry))\n"
        "    print(a.retrieve_from_archive(sys.argv[3])['text'])\n"
    )
    out = run_python(code, str(tmp_path / "archive"), json.dumps(entry), entry_id,
                     env={"PYTHONHASHSEED": "99"}).split()
    assert out == [entry_id, "no", "id", "here"]


def test_cleanup_old_archives_keeps_the_index_consistent(tmp_path: Path) -> None:
    clock = ManualClock(NOW)
    with MemoryArchiver(tmp_path / "a", clock=clock) as archiver:
        archiver.archive_entry(old_entry(40, id="early"))
        clock.advance(days=100)
        archiver.archive_entry(old_entry(40, id="late"))
        clock.advance(days=100)
        assert archiver.cleanup_old_archives(max_age_days=180) == 1
        assert archiver.ids() == ["late"]
        assert [record.id for record in archiver.index()] == ["late"]
        assert archiver.stats()["entries"] == 1
        with pytest.raises(FileNotFoundError):
            archiver.retrieve_from_archive("early")
        assert archiver.cleanup_old_archives() == 0  # default 180 days
        with pytest.raises(ValueError):
            archiver.cleanup_old_archives(-1)


def test_index_records(archiver: MemoryArchiver) -> None:
    entry = old_entry(50, 0.25, id="n1", text="hello " * 50, tags=["a", "b"])
    archiver.archive_entry(entry)
    (record,) = archiver.index()
    assert isinstance(record, ArchiveRecord)
    raw = json.dumps(entry, separators=(",", ":"), ensure_ascii=False).encode()
    assert record.id == "n1"
    assert record.archived_at == "2026-06-01T00:00:00.000000+00:00"
    assert record.timestamp == entry["timestamp"]
    assert record.importance == 0.25
    assert record.tags == ["a", "b"]
    assert record.codec == "zlib"
    assert len(record.checksum) == 64
    assert record.size == len(raw)


def test_payloads_are_compressed(tmp_path: Path) -> None:
    for codec in ("zlib", "lzma"):
        with MemoryArchiver(tmp_path / codec, codec=codec) as archiver:
            for number in range(50):
                archiver.archive_entry({"id": f"e{number}", "text": "the quick brown fox " * 20})
            stats = archiver.stats()
            assert stats["entries"] == 50
            assert stats["stored_bytes"] * 3 < stats["raw_bytes"]
            assert stats["compression_ratio"] == stats["raw_bytes"] / stats["stored_bytes"]
            assert archiver.retrieve_from_archive("e7")["text"].startswith("the quick")
    with pytest.raises(ValueError, match="codec"):
        MemoryArchiver(tmp_path / "x", codec="pickle")


# -- ids never become paths ----------------------------------------------------------------


@pytest.mark.parametrize("bad_id", ["../x", "../../etc/passwd", "/etc/passwd", "a/b", "a\\b", "..", ".",
                                    "C:\\windows", "C:/windows", "x\x00y", "~root", " padded", "line\nbreak", "x" * 201])
def test_path_like_ids_are_rejected(archiver: MemoryArchiver, tmp_path: Path, bad_id: str) -> None:
    outside = tmp_path / "x"
    outside.write_text(json.dumps({"secret": True}))
    with pytest.raises(ValueError):
        archiver.retrieve_from_archive(bad_id)
    with pytest.raises(ValueError):
        archiver.archive_entry({"id": bad_id, "text": "x"})
    assert archiver.ids() == []
    assert outside.read_text() == json.dumps({"secret": True})


def test_no_file_is_named_after_an_id(archiver: MemoryArchiver) -> None:
    archiver.archive_entry({"id": "entry_visible", "text": "x"})
    names = [name for _, _, files in os.walk(archiver.archive_dir) for name in files]
    assert not any("entry_visible" in name for name in names)
    assert "archive.sqlite3" in names


# -- integrity -----------------------------------------------------------------------------


def _set_payload(archiver: MemoryArchiver, entry_id: str, payload: bytes) -> None:
    with closing(sqlite3.connect(archiver.archive_dir / "archive.sqlite3")) as raw:
        raw.execute("UPDATE archived SET payload = ? WHERE id = ?", (payload, entry_id))
        raw.commit()


def test_corrupted_payload_fails_its_checksum_and_the_rest_stays_readable(archiver: MemoryArchiver) -> None:
    for number in range(3):
        archiver.archive_entry({"id": f"e{number}", "text": f"entry {number}"})
    # Well-formed compressed data with the wrong content: only the checksum can tell.
    _set_payload(archiver, "e1", zlib.compress(b'{"id":"e1","text":"forged"}'))
    with pytest.raises(ArchiveCorruptedError, match="checksum"):
        archiver.retrieve_from_archive("e1")
    # Flipped bytes: the compressed stream itself is broken.
    _set_payload(archiver, "e2", b"\x78\x9c garbage")
    with pytest.raises(ArchiveCorruptedError, match="e2"):
        archiver.retrieve_from_archive("e2")
    assert archiver.retrieve_from_archive("e0")["text"] == "entry 0"


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "entry, error",
    [
        ("text", TypeError),
        ({"importance": 2}, ValueError),
        ({"timestamp": "not a time"}, ValueError),
        ({"text": {1, 2}}, TypeError),
        ({"value": float("nan")}, ValueError),
        ({"tags": "a"}, TypeError),
        ({"id": None}, TypeError),
    ],
)
def test_bad_entries_write_nothing(archiver: MemoryArchiver, entry: Any, error: type) -> None:
    archiver.archive_entry({"id": "kept", "text": "x"})
    with pytest.raises(error):
        archiver.archive_entry(entry)
    assert archiver.ids() == ["kept"]


def test_archive_file_is_not_a_store(tmp_path: Path) -> None:
    MemoryArchiver(tmp_path / "a").close()
    with pytest.raises(SchemaError):
        LongTermMemory(path=tmp_path / "a" / "archive.sqlite3")


def test_close_and_context_manager(tmp_path: Path) -> None:
    with MemoryArchiver(tmp_path / "a") as archiver:
        archiver.archive_entry({"id": "x"})
    with pytest.raises(ValueError, match="closed"):
        archiver.retrieve_from_archive("x")
    archiver.close()


# -- moving from a LongTermMemory -------------------------------------------------------------


def test_archive_from_moves_exactly_what_should_archive_selects(store_location: StoreLocation, tmp_path: Path) -> None:
    clock = ManualClock(NOW)
    memory = store_location.open(max_entries=1000, retention_days=None, clock=clock)
    old_low = [memory.store({"text": f"old{n}", "importance": 0.2}) for n in range(25)]
    old_high = memory.store({"text": "old-important", "importance": 0.75})
    clock.advance(days=31)
    recent = memory.store({"text": "recent", "importance": 0.1})
    snapshot = {entry["id"]: entry for entry in memory.storage}
    with store_location.open_archive(clock=clock) as archiver:
        moved = archiver.archive_from(memory, batch_size=7)
        assert sorted(moved) == sorted(old_low)
        assert {entry["id"] for entry in memory.storage} == {old_high, recent}
        assert archiver.ids() == sorted(old_low)
        for entry_id in old_low:
            assert archiver.retrieve_from_archive(entry_id) == snapshot[entry_id]
        assert archiver.archive_from(memory) == []  # nothing left to move


def test_an_entry_replaced_during_the_move_stays(store_location: StoreLocation, tmp_path: Path) -> None:
    clock = ManualClock(NOW)
    memory = store_location.open(max_entries=1000, retention_days=None, clock=clock)
    memory.store({"id": "busy", "text": "v1", "importance": 0.1})
    memory.store({"id": "quiet", "text": "v1", "importance": 0.1})
    clock.advance(days=40)

    class Racing(MemoryArchiver):
        def should_archive(self, entry: Dict[str, Any]) -> bool:
            if entry["id"] == "busy" and entry["text"] == "v1":
                memory.store({"id": "busy", "text": "v2", "importance": 0.1})  # another writer
            return super().should_archive(entry)

    with Racing(**store_location.archive_kwargs, clock=clock) as archiver:
        assert archiver.archive_from(memory) == ["quiet"]
        assert archiver.ids() == ["quiet"]
    assert memory.get("busy")["text"] == "v2"


def test_archive_from_refuses_other_objects(archiver: MemoryArchiver) -> None:
    with pytest.raises(TypeError):
        archiver.archive_from([{"text": "x"}])  # type: ignore[arg-type]
    with LongTermMemory() as memory:
        with pytest.raises(ValueError):
            archiver.archive_from(memory, batch_size=0)


def test_archive_entries_is_all_or_nothing(archiver: MemoryArchiver) -> None:
    ids = archiver.archive_entries([{"id": f"b{n}", "text": "bulk"} for n in range(20)])
    assert ids == [f"b{n}" for n in range(20)]
    assert archiver.retrieve_from_archive("b19")["text"] == "bulk"
    with pytest.raises(ValueError):
        archiver.archive_entries([{"id": "c1"}, {"id": "c2", "importance": 3}])
    assert "c1" not in archiver
    assert len(archiver.ids()) == 20

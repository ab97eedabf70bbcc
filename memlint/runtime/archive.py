"""``MemoryArchiver``: a compressed, indexed, crash-safe archive of memories (rule MEM-006).

The rules document's API (``MemoryArchiver(archive_dir)``, ``should_archive``,
``archive_entry``, ``retrieve_from_archive``, ``cleanup_old_archives``), with what its
example gets wrong fixed:

- ``archive_entry`` returns the id that ``retrieve_from_archive`` finds in any process and
  after a restart: the entry's own ``id`` or a SHA-256 content id, never ``hash()``.
- Ids are keys in an SQLite index, never file names; an id such as ``../x`` is refused.
- Payloads are compressed and carry a SHA-256 checksum; a damaged payload raises
  ``ArchiveCorruptedError`` and every other entry stays readable.
- Each write is one SQLite transaction (atomic and durable); ``cleanup_old_archives``
  deletes payload and index record together.
- ``archive_from(memory)`` moves what ``should_archive`` selects out of a
  ``LongTermMemory`` so that, whenever the process dies, every entry is in exactly one
  of the two.

How the move survives a crash (two-phase, the store's commit is the single commit point):

1. stage: the archive stores the batch's payloads as *staged* under a fresh token;
   staged rows are invisible to readers;
2. commit: in ONE store transaction, the entries are deleted from the store and a commit
   record (token, id) is written for each; from this instant the entries are archived;
3. publish: the archive turns the committed staged rows into archived rows;
4. forget: the store drops the commit records.

A reader that meets a staged row asks the store whether its token committed, so the
answer is right between any two steps. The next move (under a lock file that dies with
its holder) finishes or discards whatever a killed mover left behind.
"""

from __future__ import annotations

import json
import lzma
import os
import uuid
import zlib
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence, Set, Tuple, Union

from memlint.runtime._backend import ArchiveBackend, ArchiveRow, StoreBackend, StoreRow
from memlint.runtime._common import (
    Clock,
    check_entry,
    check_importance,
    check_number,
    content_id,
    from_micros,
    id_value,
    iso_utc,
    normalize_id,
    parse_timestamp,
    read_clock,
    sha256_hex,
    to_json,
    to_micros,
    utc_now,
)
from memlint.runtime._sqlite import open_store_backend
from memlint.runtime._sqlite_archive import open_archive_backend
from memlint.runtime.longterm import LongTermMemory

__all__ = ["ArchiveCorruptedError", "ArchiveRecord", "MemoryArchiver"]

_DAY_US = 86_400 * 1_000_000

_CODECS: Dict[str, Tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]] = {
    "zlib": (lambda data: zlib.compress(data, 6), zlib.decompress),
    "lzma": (lambda data: lzma.compress(data, preset=6), lzma.decompress),
}


class ArchiveCorruptedError(Exception):
    """An archived payload does not decompress or does not match its checksum."""


class ArchiveRecord(NamedTuple):
    """One record of the archive index."""

    id: str
    archived_at: str  # ISO 8601, UTC
    timestamp: Optional[str]  # the entry's own timestamp, if it had one
    importance: Optional[float]
    tags: List[str]
    checksum: str  # SHA-256 of the uncompressed JSON
    codec: str
    size: int  # uncompressed bytes


class MemoryArchiver:
    """A compressed archive of memory entries with an index, in ``archive_dir``.

    ``should_archive`` selects entries older than ``min_age_days`` (30) whose importance
    is below ``max_importance`` (0.7), as the rules document. ``codec`` is ``"zlib"``
    (fast) or ``"lzma"`` (smaller). ``clock`` returns an aware ``datetime`` (for tests).
    """

    def __init__(
        self,
        archive_dir: Union[str, "os.PathLike[str]"] = "./memory_archive",
        *,
        url: Optional[str] = None,
        min_age_days: float = 30,
        max_importance: float = 0.7,
        max_accesses: Optional[int] = None,
        codec: str = "zlib",
        clock: Optional[Clock] = None,
        busy_timeout: float = 30.0,
    ) -> None:
        self.min_age_days = check_number("min_age_days", min_age_days, low=0)
        self.max_importance = float(check_number("max_importance", max_importance, low=0.0, high=1.0))
        #: MEM-006's access-frequency criterion: an entry read more often than this stays.
        self.max_accesses = check_number("max_accesses", max_accesses, low=0, integer=True, allow_none=True)
        if codec not in _CODECS:
            raise ValueError(f"codec must be one of {sorted(_CODECS)}, not {codec!r}")
        self.codec = codec
        if clock is not None and not callable(clock):
            raise TypeError("clock must be a callable returning an aware datetime")
        self._clock: Clock = clock if clock is not None else utc_now
        check_number("busy_timeout", busy_timeout, low=0)
        self._busy_timeout = float(busy_timeout)
        self.archive_dir = Path(archive_dir)
        self.url = url
        if url is not None:
            if not isinstance(url, str):
                raise TypeError(f"url must be a str, not {type(url).__name__}")
        else:
            self.archive_dir.mkdir(parents=True, exist_ok=True)
        self._backend: ArchiveBackend = open_archive_backend(
            None if url is not None else str(self.archive_dir), busy_timeout=busy_timeout, url=url
        )

    # -- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        """Release the index database. Idempotent."""
        self._backend.close()

    def __enter__(self) -> "MemoryArchiver":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MemoryArchiver({str(self.archive_dir)!r}, codec={self.codec!r})"

    # -- the document's API ----------------------------------------------------------

    def should_archive(self, entry: Dict[str, Any], accesses: Optional[int] = None) -> bool:
        """True if ``entry`` is older than ``min_age_days`` and below ``max_importance``
        and, with ``max_accesses`` set, was read at most that many times.

        ``entry['timestamp']`` is required (ISO 8601; a naive time is read as UTC);
        ``importance`` defaults to 0.5 like ``LongTermMemory.store``. ``accesses``: how
        often the entry was read (``archive_from`` passes ``LongTermMemory.accesses``);
        ``None`` takes ``entry.get("access_count", 0)``.
        """
        data = check_entry(entry)
        if self._often_read(data.get("access_count", 0) if accesses is None else accesses):
            return False
        if "timestamp" not in data:
            raise ValueError("cannot decide on an entry without a 'timestamp'")
        stamp = parse_timestamp(data["timestamp"])
        importance = check_importance(data.get("importance", 0.5))
        age = read_clock(self._clock) - stamp
        return age > timedelta(days=self.min_age_days) and importance < self.max_importance

    def _often_read(self, accesses: Any) -> bool:
        """MEM-006's access frequency: read more than ``max_accesses`` times (if set)."""
        if self.max_accesses is None:
            return False
        return check_number("accesses", accesses, low=0, integer=True) > self.max_accesses

    def archive_entry(self, entry: Dict[str, Any]) -> Union[str, int]:
        """Archive one entry (replacing an archived one with the same id); return its id
        (the entry's own, as given, or the same content id ``LongTermMemory.store`` gives)."""
        row, given = self._row(entry, to_micros(read_clock(self._clock)))
        with self._backend.write() as tx:
            tx.put(row)
        return given

    def archive_entries(self, entries: Iterable[Dict[str, Any]]) -> List[str]:
        """Archive many entries in one transaction (all or none); return their ids.

        Every entry is checked before anything is written. One durable commit for the
        whole batch instead of one per entry: use this for bulk archiving.
        """
        now_us = to_micros(read_clock(self._clock))
        prepared = [self._row(entry, now_us) for entry in entries]
        with self._backend.write() as tx:
            for row, _ in prepared:
                tx.put(row)
        return [given for _, given in prepared]

    def retrieve_from_archive(self, entry_id: Union[str, int]) -> Dict[str, Any]:
        """The archived entry; ``FileNotFoundError`` if there is none, ``ValueError`` for a bad id."""
        key = normalize_id(entry_id)
        row = self._find(key)
        if row is None:
            raise FileNotFoundError(f"Archived entry not found: {key}")
        return _unpack(row)

    def cleanup_old_archives(self, max_age_days: float = 180) -> int:
        """Delete entries archived more than ``max_age_days`` ago (payload and index record
        in one transaction); return how many went."""
        check_number("max_age_days", max_age_days, low=0)
        cutoff = to_micros(read_clock(self._clock)) - int(max_age_days * _DAY_US)
        with self._backend.write() as tx:
            return tx.delete_older(cutoff)

    # -- beyond the document ---------------------------------------------------------

    def __contains__(self, entry_id: object) -> bool:
        try:
            key = normalize_id(entry_id)
        except (TypeError, ValueError):
            return False
        return self._find(key) is not None

    def ids(self) -> List[str]:
        """Every archived id, sorted."""
        with self._backend.read() as tx:
            found: Set[str] = set(tx.ids())
            for token, source in tx.staged_tokens():
                found.update(self._committed_ids(token, source))
        return sorted(found)

    def index(self) -> List[ArchiveRecord]:
        """The archive index, oldest archived first."""
        records = []
        with self._backend.read() as tx:
            rows = tx.index()
            seen = {row.id for row in rows}
            for token, source in tx.staged_tokens():
                for entry_id in sorted(self._committed_ids(token, source) - seen):
                    rows.extend(row for tok, _, row in tx.staged(entry_id) if tok == token)
        for row in rows:
            records.append(ArchiveRecord(
                row.id, iso_utc(from_micros(row.archived_us)), row.original_ts, row.importance,
                json.loads(row.tags), row.checksum, row.codec, row.size,
            ))
        return records

    def stats(self) -> Dict[str, Any]:
        """``entries``, ``raw_bytes`` (uncompressed JSON), ``stored_bytes`` and ``compression_ratio``."""
        with self._backend.read() as tx:
            count, raw, stored = tx.totals()
        return {
            "entries": count,
            "raw_bytes": raw,
            "stored_bytes": stored,
            "compression_ratio": (raw / stored) if stored else None,
        }

    def archive_from(self, memory: LongTermMemory, *, batch_size: int = 500) -> List[str]:
        """Move every entry of ``memory`` that ``should_archive`` selects into this archive.

        Returns the ids moved. Each batch moves atomically (see the module docstring): if
        the process dies at any point, every entry is in exactly one of ``memory`` and the
        archive, and the next call finishes the interrupted batch. An entry replaced in
        ``memory`` while it is being moved stays in ``memory``.
        """
        if not isinstance(memory, LongTermMemory):
            raise TypeError(f"archive_from needs a LongTermMemory, not {type(memory).__name__}")
        check_number("batch_size", batch_size, low=1, integer=True)
        if memory._in_own_batch():
            # Its moves commit on their own: they cannot run inside the memory's open
            # transaction (and on a server database would wait for it forever).
            raise RuntimeError("archive_from(memory) cannot run inside memory.batch()")
        store = memory._backend
        if store.location is None and getattr(store, "concurrent_writers", False) and self.url is None:
            raise ValueError("move a PostgreSQL store into a MemoryArchiver(url=...) on the same database")
        moved: List[str] = []
        # One mover per archive at a time: whoever holds the lock knows that any staged
        # batch it finds was left by a mover that died.
        with self._backend.mover_lock():
            self._recover(store)
            after = 0
            while True:
                with store.read() as tx:
                    rows = tx.scan(after, batch_size)
                if not rows:
                    break
                after = rows[-1].seq
                # The access criterion first, apart: subclasses override should_archive(entry)
                # with the document's one-argument signature.
                chosen = [row for row in rows
                          if not self._often_read(row.hits) and self.should_archive(json.loads(row.body))]
                if chosen:
                    moved.extend(self._move_batch(store, chosen))
        return moved

    # -- internals -------------------------------------------------------------------

    def _row(self, entry: Any, archived_us: int) -> Tuple[ArchiveRow, Union[str, int]]:
        data = check_entry(entry)
        original: Optional[str] = None
        if "timestamp" in data:
            parse_timestamp(data["timestamp"])  # validate only; the entry keeps its own spelling
            original = data["timestamp"] if isinstance(data["timestamp"], str) else None
        importance = check_importance(data["importance"]) if "importance" in data else None
        if "id" in data:
            given = data.pop("id")
            entry_id = normalize_id(given)
            given = id_value(given)
        else:
            entry_id = given = content_id(data)
        body = to_json({"id": given, **data})
        return self._pack(entry_id, body, archived_us, original, importance, data.get("tags", [])), given

    def _pack(self, entry_id: str, body: str, archived_us: int, original: Optional[str],
              importance: Optional[float], tags: Sequence[str]) -> ArchiveRow:
        raw = body.encode("utf-8")
        compress, _ = _CODECS[self.codec]
        return ArchiveRow(entry_id, archived_us, original, importance, to_json(list(tags)),
                          sha256_hex(raw), self.codec, len(raw), compress(raw))

    def _find(self, key: str) -> Optional[ArchiveRow]:
        with self._backend.read() as tx:
            row = tx.get(key)
            staged = [] if row is not None else tx.staged(key)
        if row is not None:
            return row
        for token, source, candidate in staged:
            if key in self._committed_ids(token, source):
                return candidate
        if staged:
            # The mover may have published (and forgotten the commit record) since we read.
            with self._backend.read() as tx:
                return tx.get(key)
        return None

    def _committed_ids(self, token: str, source: str) -> Set[str]:
        """The ids that a staged move ``token`` committed in its source store."""
        if not source or not os.path.exists(source):
            return set()
        with open_store_backend(source, busy_timeout=self._busy_timeout, durable=False) as store:
            with store.read() as tx:
                return set(tx.moved_ids(token))

    def _move_batch(self, store: StoreBackend, rows: Sequence[StoreRow]) -> List[str]:
        token = uuid.uuid4().hex
        now_us = to_micros(read_clock(self._clock))
        source = store.location or ""
        packed = []
        for row in rows:
            data = json.loads(row.body)
            stamp = data.get("timestamp")
            packed.append(self._pack(row.id, row.body, now_us, stamp if isinstance(stamp, str) else None,
                                     row.importance, data.get("tags", [])))
        # Store and archive in one database: one transaction, nothing to stage.
        atomic = self._backend.atomic_move(store, rows, packed, now_us)
        if atomic is not None:
            return atomic
        if getattr(store, "concurrent_writers", False):
            raise ValueError("move a PostgreSQL store into a MemoryArchiver(url=...) on the same database")
        if store.location is None:
            return self._move_from_memory(store, rows, packed, now_us)
        # 1. stage (invisible)
        with self._backend.write() as atx:
            atx.stage(token, source, now_us, packed)
        # 2. commit: the single point at which the entries change hands
        with store.write() as stx:
            ids = [row.id for row in rows if stx.delete_if_unchanged(row.id, row.body)]
            if store.location is not None:
                stx.record_moves(token, self._backend.uid, ids)
        # 3. publish, 4. forget
        with self._backend.write() as atx:
            atx.publish(token, ids, now_us)
        if store.location is not None:
            with store.write() as stx:
                stx.forget_moves(token)
        return ids

    def _move_from_memory(self, store: StoreBackend, rows: Sequence[StoreRow], packed: Sequence[ArchiveRow],
                          now_us: int) -> List[str]:
        """Move out of an in-memory store: archive first, then delete, inside the store's
        transaction. If the archive write fails (disk full), the store's transaction rolls
        back and every entry stays where it was; a crash in between leaves an entry in
        the archive and in a store that died with its process: nothing is lost."""
        by_id = {row.id: row for row in packed}
        with store.write() as stx:
            unchanged = []
            for row in rows:
                current = stx.get(row.id)
                if current is not None and current.body == row.body:
                    unchanged.append(row.id)
            with self._backend.write() as atx:
                for entry_id in unchanged:
                    atx.put(by_id[entry_id]._replace(archived_us=now_us))
            stx.delete(unchanged)
        return unchanged

    def _recover(self, store: StoreBackend) -> None:
        """Finish or discard staged moves left by dead movers (call with the lock held)."""
        with self._backend.read() as atx:
            pending = atx.staged_tokens()
        for token, source in pending:
            if store.location is not None and source == store.location:
                self._settle_token(token, store)
            elif not source:
                # Left by an older memlint, which staged moves out of in-memory stores;
                # moves from memory no longer stage. Whether that store is still alive
                # cannot be known, so the rows stay (invisible) rather than be discarded.
                continue
            elif os.path.exists(source):
                with open_store_backend(source, busy_timeout=self._busy_timeout, durable=False) as other:
                    self._settle_token(token, other)
            # else: the source file is gone; keep the staged rows (invisible) rather than guess.
        if store.location is not None:
            with self._backend.read() as atx:
                still_staged = {token for token, _ in atx.staged_tokens()}
            with store.write() as stx:
                for token in stx.move_tokens(self._backend.uid):
                    if token not in still_staged:
                        stx.forget_moves(token)  # published before its mover died

    def _settle_token(self, token: str, store: StoreBackend) -> None:
        with store.read() as stx:
            committed = stx.moved_ids(token)
        self._publish(token, committed)
        with store.write() as stx:
            stx.forget_moves(token)

    def _publish(self, token: str, ids: Sequence[str]) -> None:
        now_us = to_micros(read_clock(self._clock))
        with self._backend.write() as atx:
            atx.publish(token, ids, now_us)


def _unpack(row: ArchiveRow) -> Dict[str, Any]:
    codec = _CODECS.get(row.codec)
    if codec is None:
        raise ArchiveCorruptedError(f"archived entry {row.id!r} uses an unknown codec {row.codec!r}")
    try:
        raw = codec[1](bytes(row.payload))
    except (zlib.error, lzma.LZMAError) as error:
        raise ArchiveCorruptedError(f"archived entry {row.id!r} cannot be decompressed: {error}") from None
    if sha256_hex(raw) != row.checksum:
        raise ArchiveCorruptedError(
            f"archived entry {row.id!r} failed its checksum (expected sha256 {row.checksum}, "
            f"got {sha256_hex(raw)}); the payload is damaged"
        )
    value = json.loads(raw.decode("utf-8"))
    if not isinstance(value, dict):
        raise ArchiveCorruptedError(f"archived entry {row.id!r} is not a JSON object")
    return value

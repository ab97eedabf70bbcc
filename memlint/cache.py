"""The result cache: what each file gave last time, keyed by everything that decides it.

An entry's key hashes the file's bytes, its display path, the codes enabled for it, the
rule options and a fingerprint of memlint itself (its version, and the size and mtime of
its own source files, so an edited checkout never reads stale results). A hit needs
nothing but reading and hashing the file: no parse, no libcst import.

All entries for one memlint fingerprint live in one JSON file, indexed by path, so a
file keeps one entry however often it changes, a warm run reads one file, and a run
writes one file (creating a file per checked file cost more than checking it for the many
files that need no parse). The file is replaced atomically, so a reader sees a whole
version or the previous one; two runs at once at worst drop each other's new entries,
never corrupt them. An unreadable or invalid file or entry is treated as missing and
rewritten. Only the few most recently written fingerprint files are kept. The folder
carries its own ``.gitignore`` (and a ``CACHEDIR.TAG`` for backup tools).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple

from memlint.__about__ import __version__
from memlint._atomic import write_text_atomically
from memlint.diagnostics import CONFIDENCE_LEVELS, Edit, Finding, Fix

DEFAULT_DIRNAME = ".memlint_cache"
# Bump when the file format changes: a new folder, v<FORMAT>, then starts empty.
FORMAT = 3
_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by memlint.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)


def content_digest(data: bytes) -> str:
    """The hash of one file's bytes (what a worker re-checks before trusting its read)."""
    return hashlib.blake2b(data, digest_size=20).hexdigest()


def memlint_fingerprint(package: Optional[Path] = None) -> str:
    """What identifies this memlint: version, entry format, rule registry, own sources and
    resource knowledge (``knowledge/*.toml``): editing either starts a new cache."""
    from memlint.rules import RULE_CLASSES

    package = package if package is not None else Path(__file__).resolve().parent
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"{__version__}\0{FORMAT}\0{sorted(RULE_CLASSES.items())}".encode())
    # Every *.py and *.toml file below the package, in the order of their paths' parts (as
    # sorted ``Path`` objects are): ``os.walk`` rather than ``Path.rglob``, which took twice
    # as long, a few per cent of a pre-commit run.
    files: List[Tuple[Tuple[str, ...], str]] = []
    for directory, _subdirectories, filenames in os.walk(package):
        parts = Path(directory).relative_to(package).parts
        for filename in filenames:
            if filename.endswith((".py", ".toml")):
                files.append(((*parts, filename), os.path.join(directory, filename)))
    for parts, path in sorted(files):
        try:
            info = os.stat(path)
        except OSError:
            continue
        digest.update(f"{os.sep.join(parts)}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def _finding_to_row(finding: Finding) -> List[Any]:
    fix = None
    if finding.fix is not None:
        fix = [finding.fix.message, finding.fix.safe,
               [[e.line, e.column, e.end_line, e.end_column, e.content] for e in finding.fix.edits]]
    return [finding.line, finding.column, finding.end_line, finding.end_column, finding.code, finding.message, fix,
            finding.confidence]


def _row_to_finding(path: str, row: Any) -> Finding:
    line, column, end_line, end_column, code, message, fix_row, confidence = row
    for number in (line, column, end_line, end_column):
        if not isinstance(number, int) or isinstance(number, bool):
            raise ValueError("position is not an integer")
    if not isinstance(code, str) or not isinstance(message, str) or confidence not in CONFIDENCE_LEVELS:
        raise ValueError("code or message is not a string, or the confidence is unknown")
    fix = None
    if fix_row is not None:
        fix_message, safe, edits = fix_row
        fix = Fix(str(fix_message), bool(safe), tuple(Edit(*(e[:4]), str(e[4])) for e in edits))
    return Finding(path, line, column, end_line, end_column, code, message, fix, confidence)


class Cache:
    """A cache folder, loaded on first use; ``save()`` writes what changed.

    Holds no open files: every read and write is self-contained.
    """

    # Fingerprint files kept besides the current one (older memlint versions or checkouts).
    KEEP = 8

    def __init__(self, directory: "os.PathLike[str] | str", fingerprint: Optional[str] = None) -> None:
        self.directory = Path(directory)
        self.fingerprint = fingerprint if fingerprint is not None else memlint_fingerprint()
        self._folder = self.directory / f"v{FORMAT}"
        self._file = self._folder / f"{self.fingerprint}.json"
        self._entries: Optional[Dict[str, Any]] = None
        self._dirty = False

    @classmethod
    def open(cls, directory: "os.PathLike[str] | str") -> "Cache":
        """The cache in ``directory``; raises ``OSError`` when it could not be written.

        Nothing is created here: the folder appears with the first ``save()`` that has
        something to write, so a run that checked nothing leaves no trace.
        """
        cache = cls(directory)
        existing = cache.directory
        while not existing.exists() and existing.parent != existing:
            existing = existing.parent
        if not existing.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(existing))
        if not os.access(existing, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, "Permission denied", str(existing))
        return cache

    def _create(self) -> None:
        self._folder.mkdir(parents=True, exist_ok=True)
        for name, text in ((".gitignore", "# Created by memlint: nothing here belongs in git.\n*\n"),
                           ("CACHEDIR.TAG", _CACHEDIR_TAG)):
            marker = self.directory / name
            if not marker.exists():
                write_text_atomically(marker, text)

    def key(
        self,
        digest: str,
        path: str,
        codes: FrozenSet[str],
        resources: Mapping[str, str],
        target: Optional[str] = None,
        summaries: Sequence[Tuple[str, str]] = (),
        confidence: str = "high",
    ) -> str:
        """The entry key for one file's content ``digest`` checked as ``path`` (parsed as
        Python ``target``), with the project index's ``summaries`` of the other modules it
        uses: a change there changes the key."""
        parts: List[Any] = [self.fingerprint, digest, path, sorted(codes), sorted(resources.items()), target, confidence]
        if summaries:
            parts.append([list(entry) for entry in summaries])
        material = json.dumps(parts)
        return hashlib.blake2b(material.encode(), digest_size=20).hexdigest()

    def _load(self) -> Dict[str, Any]:
        if self._entries is None:
            try:
                with open(self._file, encoding="utf-8") as handle:
                    document = json.load(handle)
                entries = document["entries"] if isinstance(document, dict) else None
                self._entries = entries if isinstance(entries, dict) else {}
            except (OSError, ValueError, KeyError):
                self._entries = {}  # absent or corrupt: start afresh, the next save rewrites it
        return self._entries

    def get(self, key: str, path: str) -> Optional[List[Finding]]:
        """The cached findings for ``path`` under ``key``, or ``None`` when absent or invalid."""
        entry = self._load().get(path)
        try:
            if not isinstance(entry, list) or entry[0] != key:
                return None
            return [_row_to_finding(path, row) for row in entry[1]]
        except (ValueError, TypeError, IndexError):
            return None  # an entry this version cannot read: recompute and overwrite it

    def has(self, key: str, path: str) -> bool:
        """Whether ``get(key, path)`` would find an entry (without reading its findings)."""
        entry = self._load().get(path)
        return isinstance(entry, list) and bool(entry) and entry[0] == key

    def put(self, key: str, path: str, findings: List[Finding], index_key: Optional[str] = None,
            summaries: Sequence[Tuple[str, str]] = ()) -> None:
        """Remember ``findings`` for ``path`` under ``key`` (written by ``save()``), and the
        project index's ``summaries`` for the file under ``index_key`` when given."""
        entry: List[Any] = [key, [_finding_to_row(finding) for finding in findings]]
        if index_key is not None:
            entry += [index_key, [list(summary) for summary in summaries]]
        self._load()[path] = entry
        self._dirty = True

    def index_get(self, path: str, index_key: str) -> Optional[Tuple[Tuple[str, str], ...]]:
        """The project index's summaries stored for ``path`` under ``index_key``, or ``None``."""
        entry = self._load().get(path)
        try:
            if not isinstance(entry, list) or len(entry) < 4 or entry[2] != index_key:
                return None
            return tuple((str(name), str(summary)) for name, summary in entry[3])
        except (ValueError, TypeError):
            return None

    def save(self) -> None:
        """Write the entries if anything changed; failures are ignored (the cache is optional)."""
        if not self._dirty:
            return
        document = {"fingerprint": self.fingerprint, "entries": self._load()}
        try:
            self._create()
            write_text_atomically(self._file, json.dumps(document, separators=(",", ":")))
            self._dirty = False
            self._prune()
        except OSError:
            pass

    def _prune(self) -> None:
        others = [path for path in self._folder.glob("*.json") if path != self._file]
        others.sort(key=lambda path: path.stat().st_mtime, reverse=True)
        for stale in others[self.KEEP:]:
            stale.unlink()

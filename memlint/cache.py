"""The result cache: one small JSON file per (file content, path, configuration, memlint).

An entry's key hashes the file's bytes, its display path, the codes enabled for it, the
rule options and a fingerprint of memlint itself (its version and the size and mtime of
its own source files, so an edited checkout never reads stale results). A hit therefore
needs nothing but reading and hashing the file: no parse, no libcst import.

Entries are written to a temporary file and renamed into place, so a reader sees a whole
entry or none, and two runs at once at worst write the same entry twice. An entry that
cannot be read or does not validate is treated as missing and rewritten. The folder
carries its own ``.gitignore`` (and a ``CACHEDIR.TAG`` for backup tools).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, FrozenSet, List, Mapping, Optional

from memlint.__about__ import __version__
from memlint._atomic import write_text_atomically
from memlint.diagnostics import Edit, Finding, Fix

DEFAULT_DIRNAME = ".memlint_cache"
# Bump when the entry format changes; old entries then simply stop matching.
FORMAT = 1
_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by memlint.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)


def content_digest(data: bytes) -> str:
    """The hash of one file's bytes (what a worker re-checks before trusting its read)."""
    return hashlib.blake2b(data, digest_size=20).hexdigest()


def memlint_fingerprint() -> str:
    """What identifies this memlint: version, entry format, rule registry and own sources."""
    from memlint.rules import RULE_CLASSES

    package = Path(__file__).resolve().parent
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"{__version__}\0{FORMAT}\0{sorted(RULE_CLASSES.items())}".encode())
    for path in sorted(package.rglob("*.py")):
        try:
            info = path.stat()
        except OSError:
            continue
        digest.update(f"{path.relative_to(package)}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def _finding_to_row(finding: Finding) -> List[Any]:
    fix = None
    if finding.fix is not None:
        fix = [finding.fix.message, finding.fix.safe,
               [[e.line, e.column, e.end_line, e.end_column, e.content] for e in finding.fix.edits]]
    return [finding.line, finding.column, finding.end_line, finding.end_column, finding.code, finding.message, fix]


def _row_to_finding(path: str, row: Any) -> Finding:
    line, column, end_line, end_column, code, message, fix_row = row
    for number in (line, column, end_line, end_column):
        if not isinstance(number, int) or isinstance(number, bool):
            raise ValueError("position is not an integer")
    if not isinstance(code, str) or not isinstance(message, str):
        raise ValueError("code or message is not a string")
    fix = None
    if fix_row is not None:
        fix_message, safe, edits = fix_row
        fix = Fix(str(fix_message), bool(safe), tuple(Edit(*(e[:4]), str(e[4])) for e in edits))
    return Finding(path, line, column, end_line, end_column, code, message, fix)


class Cache:
    """A cache folder. Holds no open resources; every read and write is self-contained."""

    def __init__(self, directory: "os.PathLike[str] | str", fingerprint: Optional[str] = None) -> None:
        self.directory = Path(directory)
        self.fingerprint = fingerprint if fingerprint is not None else memlint_fingerprint()
        self._entries = self.directory / f"v{FORMAT}"

    @classmethod
    def open(cls, directory: "os.PathLike[str] | str") -> "Cache":
        """Create (if needed) and return the cache in ``directory``; raises ``OSError``."""
        cache = cls(directory)
        cache._entries.mkdir(parents=True, exist_ok=True)
        for name, text in ((".gitignore", "# Created by memlint: nothing here belongs in git.\n*\n"),
                           ("CACHEDIR.TAG", _CACHEDIR_TAG)):
            marker = cache.directory / name
            if not marker.exists():
                write_text_atomically(marker, text)
        return cache

    def key(self, digest: str, path: str, codes: FrozenSet[str], resources: Mapping[str, str]) -> str:
        """The entry key for one file's content ``digest`` checked as ``path``."""
        material = json.dumps([self.fingerprint, digest, path, sorted(codes), sorted(resources.items())])
        return hashlib.blake2b(material.encode(), digest_size=20).hexdigest()

    def _entry(self, key: str) -> Path:
        return self._entries / key[:2] / f"{key}.json"

    def get(self, key: str, path: str) -> Optional[List[Finding]]:
        """The cached findings (with ``path`` filled in), or ``None`` when absent or invalid."""
        try:
            with open(self._entry(key), encoding="utf-8") as handle:
                document = json.load(handle)
            if not isinstance(document, dict) or document.get("key") != key:
                return None
            return [_row_to_finding(path, row) for row in document["findings"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing, half-written by an older version, or corrupt: recompute

    def put(self, key: str, findings: List[Finding]) -> None:
        """Store findings for ``key``; failures to write are ignored (the cache is optional)."""
        entry = self._entry(key)
        document = {"key": key, "findings": [_finding_to_row(finding) for finding in findings]}
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomically(entry, json.dumps(document, separators=(",", ":")))
        except OSError:
            pass


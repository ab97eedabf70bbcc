"""Fixing files on disk: read, fix, and write back atomically in the file's own encoding.

A file is rewritten by writing a temporary file in the same folder and renaming it over
the original (``os.replace``), so a reader, or a crash, never sees half a file; the
original's permission bits are kept, and so are its encoding (PEP 263 cookie or BOM) and
its line endings (the text is never newline-translated).
"""

from __future__ import annotations

import codecs
import difflib
import io
import os
import stat
import tempfile
import tokenize
from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple

from memlint.diagnostics import Finding
from memlint.fixes import FixOutcome, fix_text
from memlint.fixes.text import source_lines


@dataclass
class FileFix:
    """What fixing one file did (or would do, for ``--diff``)."""

    path: str
    display: str
    original: str
    outcome: FixOutcome

    @property
    def changed(self) -> bool:
        return self.outcome.text != self.original

    def diff(self) -> str:
        """A unified diff from the original to the fixed text (empty when unchanged)."""
        lines = difflib.unified_diff(
            source_lines(self.original),
            source_lines(self.outcome.text),
            fromfile=f"a/{self.display}",
            tofile=f"b/{self.display}",
        )
        out = []
        for line in lines:
            out.append(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n")
        return "".join(out)


def fix_file(
    path: str,
    display: str,
    check: Callable[[str], List[Finding]],
    unsafe: bool = False,
    write: bool = True,
    checked: Optional[Tuple[str, List[Finding]]] = None,
) -> Optional[FileFix]:
    """Fix one file; with ``write`` save the result. None when its bytes cannot be decoded
    (the check reports that file as ``MEM000``, and it is left untouched). ``checked`` is a
    text of this file and its findings from an earlier check: used for the first round when
    the file still holds exactly that text.

    Raises ``OSError`` when the file cannot be read or written.
    """
    from memlint.engine import accepted_by_python, decode_source

    with open(path, "rb") as handle:
        data = handle.read()
    try:
        text = decode_source(data)
    except SyntaxError:
        return None
    known = checked[1] if checked is not None and checked[0] == text else None
    outcome = fix_text(text, check, unsafe=unsafe, findings=known, parsed_by_check=accepted_by_python)
    result = FileFix(path, display, text, outcome)
    if write and result.changed:
        write_source_atomically(path, outcome.text, data)
    return result


def encode_like(text: str, original: bytes) -> bytes:
    """``text`` encoded as the source ``original`` was: its PEP 263 codec, and its BOM."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(original).readline)
    data = text.encode("utf-8" if encoding == "utf-8-sig" else encoding)
    if original.startswith(codecs.BOM_UTF8):
        data = codecs.BOM_UTF8 + data
    return data


def write_source_atomically(path: str, text: str, original: bytes) -> None:
    """Replace ``path`` with ``text`` encoded like ``original`` (same codec, same BOM),
    through a temporary file in the same folder, keeping the file's permission bits."""
    data = encode_like(text, original)
    # A symlink stays a link: the file it points to is the one rewritten.
    path = os.path.realpath(path)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    folder = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(prefix=".memlint-fix-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        # Every step above leaves the temporary file in place when it fails.
        os.unlink(temporary)
        raise

"""Write a file so that readers see either the old content or the whole new content."""

from __future__ import annotations

import os
import tempfile
from typing import List, Union

_UMASK: List[int] = []


def _default_permissions() -> int:
    """What a plain ``open(path, "w")`` would give a new file under the current umask."""
    if not _UMASK:
        # The umask can only be read by setting it; done once, from the main thread.
        current = os.umask(0)
        os.umask(current)
        _UMASK.append(current)
    return 0o666 & ~_UMASK[0]


def write_text_atomically(path: "Union[str, os.PathLike[str]]", text: str) -> None:
    """Write ``text`` (UTF-8) to a temporary file beside ``path``, then rename it over ``path``.

    The parent folder must exist. On any failure the temporary file is removed and the
    error propagates; ``path`` is then untouched.
    """
    folder = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(prefix=".memlint-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        # mkstemp creates the file private; give it the permissions open() would.
        os.chmod(temporary, _default_permissions())
        os.replace(temporary, path)
    except BaseException:
        # Every step above leaves the temporary file in place when it fails.
        os.unlink(temporary)
        raise

"""What a checked file's text says about the names it imports, for the project index
(``memlint.analysis.project_index``): which it calls or inherits from, and which names it
reads off an imported module. Cheap scans of the text, no parse."""

from __future__ import annotations

import functools
import hashlib
import os
import re
from typing import Dict, FrozenSet, List, Set


def called_or_inherited(text: str, names: List[str]) -> Set[str]:
    """The imported ``names`` that ``text`` calls (``dial(``), names among a class's bases
    or gives as a default (``formatter=ColorFormatter``, called through the parameter):
    the only uses a summary can matter to."""
    return set(names) & _called_and_base_names(text)


def attributes_read(text: str, prefix: str) -> Set[str]:
    """The names ``text`` reads off ``prefix`` (``sessions.session(`` gives ``session``)."""
    if not prefix or prefix.startswith("."):
        return set()
    if "." not in prefix:
        return set(_attributes_by_name(text).get(prefix, ()))
    return set(re.findall(r"(?<![\w.])" + re.escape(prefix) + r"\.(\w+)", text))


# One scan of a file answers every name it imports (a search per name cost the index most
# of its time on warm runs, where the index is all that runs before the cache answers).
_CALLED_NAME = re.compile(r"(?<![\w.])(\w+)\s*\(")
_CLASS_BASES = re.compile(r"^[ \t]*class[ \t]+\w+\(([^)]*)", re.M)
_DEFAULT_NAME = re.compile(r"=[ \t]*([A-Za-z_]\w*)[ \t]*[,)]")
_WORD = re.compile(r"\w+")
_NAME_DOT_NAME = re.compile(r"(?<![\w.])(\w+)\.(\w+)")


@functools.lru_cache(maxsize=4)
def _called_and_base_names(text: str) -> FrozenSet[str]:
    names = set(_CALLED_NAME.findall(text)) | set(_DEFAULT_NAME.findall(text))
    for bases in _CLASS_BASES.findall(text):
        names.update(_WORD.findall(bases))
    return frozenset(names)


@functools.lru_cache(maxsize=4)
def _attributes_by_name(text: str) -> Dict[str, Set[str]]:
    found: Dict[str, Set[str]] = {}
    for head, attribute in _NAME_DOT_NAME.findall(text):
        found.setdefault(head, set()).add(attribute)
    return found


def package_fingerprint(folder: str) -> str:
    """A digest of every Python file's name, size and modification time under a package
    folder: while it holds, what the index says of the package's modules holds too."""
    listing = []
    for directory, subdirectories, filenames in os.walk(folder):
        subdirectories.sort()
        for filename in sorted(filenames):
            if filename.endswith(".py"):
                path = os.path.join(directory, filename)
                try:
                    status = os.stat(path)
                except OSError:
                    continue
                listing.append(f"{os.path.relpath(path, folder)}\0{status.st_size}\0{status.st_mtime_ns}")
    return hashlib.blake2b("\n".join(listing).encode("utf-8", "surrogateescape"), digest_size=16).hexdigest()

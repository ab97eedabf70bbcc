"""What a checked file's text says about the names it imports, for the project index
(``memlint.analysis.project_index``): which it calls or inherits from, and which names it
reads off an imported module; where a file sits in its package and what its import lines
name. Cheap scans of the text, no parse."""

from __future__ import annotations

import functools
import hashlib
import os
import re
from typing import FrozenSet, Iterator, List, Set, Tuple

# Patterns of whole lines start with the newline before the line, searched for in the text
# with one put in front (``_lines``): a pattern that starts with ``^`` is tried at every
# character, one that starts with a character only where that character is (a fifth of the
# time). A match that takes newlines (a parenthesised or continued import, a class's bases
# over several lines) never ends where a line it could match starts, so the lines found
# are those ``^`` finds.
_FROM_IMPORT = re.compile(r"\n[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|(?:[^\n#;\\]|\\\r?\n)*)")
_PLAIN_IMPORT = re.compile(r"\n[ \t]*import[ \t]+([\w. \t,]+)")


def _lines(text: str) -> str:
    return "\n" + text


def module_location(path: str) -> Tuple[str, str, bool]:
    """(import root, dotted module name, is a package ``__init__``) of a source file: the
    folders above it that hold an ``__init__.py`` are its packages."""
    folder, filename = os.path.split(os.path.abspath(path))
    stem = filename[:-3] if filename.endswith(".py") else filename
    is_init = stem == "__init__"
    parts: List[str] = [] if is_init else [stem]
    while os.path.isfile(os.path.join(folder, "__init__.py")):
        parent, name = os.path.split(folder)
        if not name.isidentifier() or parent == folder:
            break
        parts.insert(0, name)
        folder = parent
    return folder, ".".join(parts), is_init


def absolute_module(written: str, current: str, is_init: bool) -> str:
    """The absolute name of ``written`` (``.sessions``, ``..util``) imported in ``current``."""
    dots = len(written) - len(written.lstrip("."))
    if not dots:
        return written
    package = current.split(".") if is_init else current.split(".")[:-1]
    if dots > 1:
        package = package[: len(package) - (dots - 1)]
    rest = written[dots:]
    return ".".join(package + ([rest] if rest else []))


def imported_prefixes(text: str) -> Iterator[Tuple[str, List[str]]]:
    """(module as written, names imported from it) for every import line of ``text``;
    ``import a.b`` gives ``("a.b", [])``. A cheap scan: no parse."""
    for match in _FROM_IMPORT.finditer(_lines(text)):
        names = [part.split(" as ")[0].strip() for part in match.group(2).strip("()").replace("\\", " ").split(",")]
        yield match.group(1), [name for name in names if name.isidentifier()]
    for match in _PLAIN_IMPORT.finditer(_lines(text)):
        for part in match.group(1).split(","):
            name = part.split(" as ")[0].strip()
            if name and all(piece.isidentifier() for piece in name.split(".")):
                yield name, []


def called_or_inherited(text: str, names: List[str]) -> Set[str]:
    """The imported ``names`` that ``text`` calls (``dial(``), names among a class's bases
    or gives as a default (``formatter=ColorFormatter``, called through the parameter):
    the only uses a summary can matter to."""
    others = _default_and_base_names(text)
    return {name for name in names if name in others or _called(text, name)}


def attributes_read(text: str, prefix: str) -> Set[str]:
    """The names ``text`` reads off ``prefix`` (``sessions.session(`` gives ``session``)."""
    if not prefix or prefix.startswith("."):
        return set()
    if "." not in prefix and _WORD.fullmatch(prefix) is None:
        return set()  # the head of a run (up to its first dot) is word characters only
    return _attributes_of(text, prefix)


# A file is asked about the few names it imports from its own project: finding each name
# (``str.find``, no pattern to compile) and looking at the characters around it costs a
# third of matching every run of word characters and dots of the file. A use counts where
# the name is a whole run of word characters and dots (``(?<![\w.])``), or its head:
# ``dial(`` (spaces before the parenthesis allowed) is a call, ``sessions.session`` reads
# ``session`` off ``sessions``.
_RUN_CHARACTER = re.compile(r"[\w.]")
_OPENING_PARENTHESIS = re.compile(r"\s*\(")
_CLASS_BASES = re.compile(r"\n[ \t]*class[ \t]+\w+\(([^)]*)")
_DEFAULT_NAME = re.compile(r"=[ \t]*([A-Za-z_]\w*)[ \t]*[,)]")
_WORD = re.compile(r"\w+")


def _heads(text: str, name: str) -> Iterator[int]:
    """Where ``name`` ends each time it starts a run of word characters and dots."""
    start = text.find(name)
    while start >= 0:
        if not start or _RUN_CHARACTER.match(text, start - 1) is None:
            yield start + len(name)
        start = text.find(name, start + 1)


def _called(text: str, name: str) -> bool:
    if _WORD.fullmatch(name) is None:
        return False  # a called run holds no dot, and a name of other characters is no run
    return any(
        _RUN_CHARACTER.match(text, end) is None and _OPENING_PARENTHESIS.match(text, end) is not None
        for end in _heads(text, name)
    )


def _attributes_of(text: str, name: str) -> Set[str]:
    found: Set[str] = set()
    for end in _heads(text, name):
        attribute = _WORD.match(text, end + 1) if text.startswith(".", end) else None
        if attribute is not None:
            found.add(attribute.group())
    return found


@functools.lru_cache(maxsize=4)
def _default_and_base_names(text: str) -> FrozenSet[str]:
    names = set(_DEFAULT_NAME.findall(text))
    for bases in _CLASS_BASES.findall(_lines(text)):
        names.update(_WORD.findall(bases))
    return frozenset(names)


# A name a ``def`` or ``class`` line defines, or the rest of an import line after its keyword.
_DEFINED_OR_IMPORT_LINE = re.compile(r"\n[ \t]*(?:(?:(?:async[ \t]+)?def|class)[ \t]+(\w+)|(?:from|import)\b([^\n]*))")


def defines_or_imports(text: str, wanted: Set[str]) -> bool:
    """Whether a module's text defines (``def``, ``class``, at any depth) or imports any of
    the ``wanted`` names (or has one on an import line)."""
    names = "|".join(re.escape(name) for name in sorted(wanted))
    return re.search(r"^[ \t]*(?:(?:async[ \t]+)?def|class)[ \t]+(?:%s)\b|^[ \t]*(?:from|import)\b[^\n]*\b(?:%s)\b" % (names, names),
                     text, re.M) is not None


def defined_or_imported_words(text: str) -> FrozenSet[str]:
    """The words ``defines_or_imports`` finds in ``text`` for names made of word characters
    only (``is_word``), all at once: the name after each ``def``/``class`` and every word of
    an import line after its keyword (a whole word there is what ``\\b`` on both sides
    matches)."""
    words: Set[str] = set()
    for defined, rest in _DEFINED_OR_IMPORT_LINE.findall(_lines(text)):
        if defined:
            words.add(defined)
        else:
            words.update(_WORD.findall(rest))
    return frozenset(words)


def is_word(name: str) -> bool:
    """``name`` is made of word characters only (``\\w``; an identifier may hold others)."""
    return _WORD.fullmatch(name) is not None


def package_fingerprint(folder: str) -> str:
    """A digest of every Python file's name, size and modification time under a package
    folder: while it holds, what the index says of the package's modules holds too."""
    listing = []
    for directory, subdirectories, filenames in os.walk(folder):
        subdirectories.sort()
        # The folder's path relative to the package, once per folder (``os.path.relpath`` of
        # every file was half the cost of a pre-commit run's fingerprints); the same text.
        relative = os.path.relpath(directory, folder)
        prefix = "" if relative == os.curdir else relative + os.sep
        for filename in sorted(filenames):
            if filename.endswith(".py"):
                try:
                    status = os.stat(os.path.join(directory, filename))
                except OSError:
                    continue
                listing.append(f"{prefix}{filename}\0{status.st_size}\0{status.st_mtime_ns}")
    return hashlib.blake2b("\n".join(listing).encode("utf-8", "surrogateescape"), digest_size=16).hexdigest()


_STAR_IMPORT = re.compile(r"^[ \t]*from[ \t]+([\w.]+)[ \t]+import[ \t]+\*", re.M)
# What every line ``_STAR_IMPORT`` matches holds.
_STAR_HINT = re.compile(r"import[ \t]+\*")


def star_imported_bases(text: str) -> Iterator[Tuple[str, Set[str]]]:
    """(module as written, the class bases of ``text`` it may define) for every
    ``from module import *`` line: a base written bare (``class Multicast(Transport)``) that
    no other import names may come from there. Only bases: what an inherited release needs."""
    if _STAR_HINT.search(text) is None:
        return  # most files: a search for a word is cheaper than a look at every line
    modules = _STAR_IMPORT.findall(text)
    if not modules:
        return
    bases = {word for group in _CLASS_BASES.findall(_lines(text)) for word in _WORD.findall(group) if word.isidentifier()}
    imported = {name for _written, names in imported_prefixes(text) for name in names}
    for module in modules:
        yield module, bases - imported

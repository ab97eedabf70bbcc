"""What a leak looks like once found: plain, JSON-friendly values and their text form."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

# The kinds a leak can have; ``allow`` patterns may be prefixed with one of them.
KINDS: Tuple[str, ...] = ("fd", "socket", "thread", "process", "temp", "resource-warning", "unraisable")

# Process-lifetime helpers kept on purpose, matched by name. (multiprocessing's resource
# tracker and forkserver are recognised by their pid, fd and folder instead: see helpers.py,
# because the forkserver's own children share its command line.)
DEFAULT_ALLOW: Tuple[str, ...] = (
    # trio's thread cache keeps idle worker threads for the life of the process.
    "thread:Trio thread *",
)


class LeakWarning(UserWarning):
    """Issued for a leaking test when leak checks run in ``warn`` mode."""


@dataclass(frozen=True)
class Site:
    """Where a resource was created: the innermost frame in the project's code that asked for
    it, and (``test``) the test or fixture function whose call led there, when that differs."""

    filename: str
    lineno: int
    function: str = ""
    test: Optional["Site"] = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "filename", printable(self.filename))

    def __str__(self) -> str:
        text = f"{_short_path(self.filename)}:{self.lineno}"
        return text if self.test is None else f"{text}, called from {self.test}"

    def to_dict(self) -> Dict[str, Any]:
        data: Dict[str, Any] = {"file": self.filename, "line": self.lineno, "function": self.function}
        if self.test is not None:
            data["test"] = self.test.to_dict()
        return data


@dataclass(frozen=True)
class Leak:
    """One resource left behind.

    ``name`` is what identifies it (a path, an address, a thread name, a command line) and
    is what ``allow`` patterns match; ``detail`` adds what helps to find it (fd, pid...).
    """

    kind: str
    name: str
    detail: str = ""
    site: Optional[Site] = None
    extra: Dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        # Names come from the OS (paths, command lines) and may hold undecodable bytes as
        # lone surrogates, which neither JSON nor pytest-xdist's channel can carry.
        object.__setattr__(self, "name", printable(self.name))
        object.__setattr__(self, "detail", printable(self.detail))
        object.__setattr__(self, "extra", _printable_values(self.extra))

    def describe(self) -> str:
        """One line: kind, name, detail and creation site."""
        text = f"{self.kind} {self.name}"
        if self.detail:
            text += f" ({self.detail})"
        text += f", created at {self.site}" if self.site is not None else ", creation site unknown"
        return text

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-serialisable form (used by the JSON report and across xdist workers)."""
        data: Dict[str, Any] = {"kind": self.kind, "name": self.name, "detail": self.detail}
        data["site"] = None if self.site is None else self.site.to_dict()
        data.update({key: value for key, value in self.extra.items() if key not in data})
        return data


def format_leaks(leaks: Sequence[Leak], what: str = "the block") -> str:
    """The message of a ``LeakError`` or a failing test: one resource per line."""
    count = len(leaks)
    lines = [f"{what} leaked {count} resource{'s' if count != 1 else ''}:"]
    lines.extend(f"  - {leak.describe()}" for leak in leaks)
    return "\n".join(lines)


class AllowList:
    """Glob patterns of leaks to ignore: ``"glob"`` (any kind) or ``"kind:glob"``."""

    def __init__(self, patterns: Iterable[str] = ()) -> None:
        self.patterns: List[Tuple[Optional[str], str]] = []
        for pattern in patterns:
            if not isinstance(pattern, str) or not pattern:
                raise ValueError(f"allow patterns must be non-empty strings, got {pattern!r}")
            kind, sep, rest = pattern.partition(":")
            if sep and kind in KINDS:
                self.patterns.append((kind, rest))
            else:
                self.patterns.append((None, pattern))

    def allows(self, leak: Leak) -> bool:
        """Whether some pattern matches the leak's name (or, for warnings, its text)."""
        for kind, glob in self.patterns:
            if kind is not None and kind != leak.kind:
                continue
            if fnmatch.fnmatchcase(leak.name, glob):
                return True
        return False


def printable(text: str) -> str:
    """``text`` with undecodable bytes (surrogate escapes) written as ``\\xNN``."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    except AttributeError:  # not a string
        return text
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that is no escaped byte
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _printable_values(value: Any) -> Any:
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {key: _printable_values(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_printable_values(item) for item in value]
    return value


def _short_path(filename: str) -> str:
    """``filename`` relative to the working directory when it lies below it."""
    try:
        relative = os.path.relpath(filename)
    except ValueError:  # another drive on Windows
        return filename
    return filename if relative.startswith(os.pardir) else relative

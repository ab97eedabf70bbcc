"""What a leak looks like once found: plain, JSON-friendly values and their text form."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

# The kinds a leak can have; ``allow`` patterns may be prefixed with one of them.
KINDS: Tuple[str, ...] = ("fd", "socket", "thread", "process", "temp", "resource-warning", "unraisable")

# Process-lifetime helpers that the standard library starts once and keeps on purpose:
# blaming the first test that needed them would be a false alarm.
DEFAULT_ALLOW: Tuple[str, ...] = (
    "process:*multiprocessing.resource_tracker*",
    "process:*multiprocessing.forkserver*",
)


@dataclass(frozen=True)
class Site:
    """Where a resource was created: the first frame in user code that asked for it."""

    filename: str
    lineno: int
    function: str = ""

    def __str__(self) -> str:
        return f"{_short_path(self.filename)}:{self.lineno}"


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
        data["site"] = None if self.site is None else {
            "file": self.site.filename, "line": self.site.lineno, "function": self.site.function,
        }
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


def _short_path(filename: str) -> str:
    """``filename`` relative to the working directory when it lies below it."""
    try:
        relative = os.path.relpath(filename)
    except ValueError:  # another drive on Windows
        return filename
    return filename if relative.startswith(os.pardir) else relative

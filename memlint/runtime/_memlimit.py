"""The memory limit this process really runs under (no psutil here; the monitor adds it).

Inside a container, the host's physical memory is not the limit: the cgroup is. The limit
is the smallest of the cgroup v2 ``memory.max``, the cgroup v1 ``memory.limit_in_bytes``
(each checked along the process's cgroup path up to the root, since a parent's limit also
binds), ``RLIMIT_AS`` and physical memory. The cgroup mount point and the
``/proc/self/cgroup`` file are parameters so that tests can use fake trees.
"""

from __future__ import annotations

import logging
import posixpath
from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple

logger = logging.getLogger(__name__)

DEFAULT_CGROUP_ROOT = "/sys/fs/cgroup"
DEFAULT_PROC_CGROUP = "/proc/self/cgroup"

# cgroup v1 reports "no limit" as PAGE_COUNTER_MAX pages (about 2**63 bytes); anything this
# large is no limit at all.
_UNLIMITED_FLOOR = 2**62

SOURCES = ("cgroup2", "cgroup1", "rlimit_as", "physical")


@dataclass(frozen=True)
class MemoryLimit:
    """A memory limit in bytes and where it came from (one of ``SOURCES``)."""

    bytes: int
    source: str
    # Every limit that was found, in ``SOURCES`` order, for diagnostics.
    candidates: Tuple[Tuple[str, int], ...] = ()

    @property
    def mb(self) -> float:
        """The limit in MiB (the unit the monitor reports)."""
        return self.bytes / (1024 * 1024)


def _read_text(path: str) -> Optional[str]:
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            return handle.read().strip()
    except OSError:
        return None


def _parse_limit(text: Optional[str], path: str) -> Optional[int]:
    if text is None or text == "max":
        return None
    try:
        value = int(text)
    except ValueError:
        logger.debug("ignoring unreadable memory limit %r in %s", text, path)
        return None
    if value <= 0 or value >= _UNLIMITED_FLOOR:
        return None
    return value


def _cgroup_paths(proc_cgroup: str) -> Tuple[Optional[str], Optional[str]]:
    """The process's (v2 path, v1 memory path) from ``/proc/self/cgroup``; ``None`` if absent."""
    text = _read_text(proc_cgroup)
    v2: Optional[str] = None
    v1: Optional[str] = None
    for line in (text or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hierarchy, controllers, path = parts
        if hierarchy == "0" and controllers == "":
            v2 = path
        elif "memory" in controllers.split(","):
            v1 = path
    return v2, v1


def _along_path(base: str, cgroup_path: Optional[str], filename: str) -> Optional[int]:
    """The smallest limit in ``filename`` from the cgroup's directory up to ``base``."""
    relative = posixpath.normpath("/" + (cgroup_path or "/")).lstrip("/")
    found: List[int] = []
    while True:
        directory = posixpath.join(base, relative) if relative else base
        path = posixpath.join(directory, filename)
        value = _parse_limit(_read_text(path), path)
        if value is not None:
            found.append(value)
        if not relative:
            break
        relative = posixpath.dirname(relative)
    return min(found) if found else None


def cgroup2_limit(cgroup_root: str = DEFAULT_CGROUP_ROOT, proc_cgroup: str = DEFAULT_PROC_CGROUP) -> Optional[int]:
    """The cgroup v2 ``memory.max`` binding this process, in bytes, or ``None``.

    Looks at ``cgroup_root`` (unified mode) and ``cgroup_root/unified`` (hybrid mode).
    """
    v2_path, _ = _cgroup_paths(proc_cgroup)
    found = [
        _along_path(base, v2_path, "memory.max")
        for base in (cgroup_root, posixpath.join(cgroup_root, "unified"))
    ]
    values = [value for value in found if value is not None]
    return min(values) if values else None


def cgroup1_limit(cgroup_root: str = DEFAULT_CGROUP_ROOT, proc_cgroup: str = DEFAULT_PROC_CGROUP) -> Optional[int]:
    """The cgroup v1 ``memory.limit_in_bytes`` binding this process, in bytes, or ``None``."""
    _, v1_path = _cgroup_paths(proc_cgroup)
    return _along_path(posixpath.join(cgroup_root, "memory"), v1_path, "memory.limit_in_bytes")


def rlimit_as() -> Optional[int]:
    """The soft ``RLIMIT_AS`` in bytes, or ``None`` when unlimited or unsupported (Windows)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return None
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return None
    return int(soft)


def detect_memory_limit(
    physical_bytes: int,
    *,
    cgroup_root: str = DEFAULT_CGROUP_ROOT,
    proc_cgroup: str = DEFAULT_PROC_CGROUP,
    rlimit: Callable[[], Optional[int]] = rlimit_as,
) -> MemoryLimit:
    """The smallest of the cgroup v2, cgroup v1, ``RLIMIT_AS`` and physical memory limits."""
    if not isinstance(physical_bytes, int) or physical_bytes <= 0:
        raise ValueError(f"physical_bytes must be a positive int, not {physical_bytes!r}")
    found = (
        ("cgroup2", cgroup2_limit(cgroup_root, proc_cgroup)),
        ("cgroup1", cgroup1_limit(cgroup_root, proc_cgroup)),
        ("rlimit_as", rlimit()),
        ("physical", physical_bytes),
    )
    candidates = tuple((source, value) for source, value in found if value is not None)
    # min() keeps the first of equal values, so ties go to the more specific source.
    source, value = min(candidates, key=lambda item: item[1])
    return MemoryLimit(bytes=value, source=source, candidates=candidates)

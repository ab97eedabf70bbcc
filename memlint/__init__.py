"""memlint: find leaked resources in Python code, and a correct runtime for agent memory.

The public API is small and typed:

- ``memlint.check_source(source, path="<string>", config=None) -> list[Finding]``
- ``memlint.check_paths(paths, config=None) -> list[Finding]``
- ``memlint.leakcheck()`` / ``memlint.LeakError``: runtime leak detection around a block.
- ``memlint.runtime``: the reference runtime (import it explicitly).

Importing ``memlint`` is deliberately cheap (no libcst, no psutil): the command line
starts on every commit, and names are resolved on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memlint.__about__ import __version__

if TYPE_CHECKING:  # pragma: no cover
    from memlint.api import check_paths, check_source
    from memlint.diagnostics import Finding
    from memlint._leaks.api import LeakError, leakcheck

__all__ = ["Finding", "LeakError", "__version__", "check_paths", "check_source", "leakcheck"]

_LAZY = {
    "check_source": "memlint.api",
    "check_paths": "memlint.api",
    "Finding": "memlint.diagnostics",
    "leakcheck": "memlint._leaks.api",
    "LeakError": "memlint._leaks.api",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'memlint' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(__all__))

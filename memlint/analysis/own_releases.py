"""Methods of a class that release what it keeps on ``self`` by the resource's own release.

The ownership stage knows releases by their usual names (close, shutdown, ...). A resource
may be released by a method of its own that is named otherwise: urllib3's ``PoolManager``
has no ``close()``, its ``clear()`` closes every pool (the knowledge's ``release`` list of
the model). A release method of the class (``close()``, ``shutdown()``, ``__exit__``, ...)
that calls one of those on the attribute, or calls a method of ``self`` that does, releases it.
"""

from __future__ import annotations

from typing import Dict, FrozenSet, Set

import libcst as cst

from memlint.analysis.facts import ClassInfo
from memlint.analysis.names import self_attribute
from memlint.analysis.resources import ANY_RELEASE_METHODS
from memlint.analysis.walk import find


_RELEASE_NAMES = frozenset(ANY_RELEASE_METHODS) | {"__exit__", "__aexit__"}
_RELEASE_PREFIXES = ("close", "release", "shutdown", "cleanup", "dispose", "stop", "teardown")


def own_release_callers(info: ClassInfo, attr: str, releases: FrozenSet[str]) -> Set[str]:
    """The methods of ``info`` that call one of ``releases`` on ``self.<attr>``, directly
    or through another method of ``self`` (three calls deep)."""
    if not releases:
        return set()
    found: Set[str] = set()
    calls_of: Dict[str, Set[str]] = {}
    for name, method in info.methods.items():
        if name == "__del__":
            continue  # runs only if and when the object is collected
        calls_of[name] = set()
        for call, _path in find(method.body, (cst.Call,), stop=()):
            func = call.func  # type: ignore[attr-defined]
            if not isinstance(func, cst.Attribute):
                continue
            if func.attr.value in releases and self_attribute(func.value) == attr:
                found.add(name)
            elif isinstance(func.value, cst.Name) and func.value.value == "self":
                calls_of[name].add(func.attr.value)
    for _round in range(3):
        for name, called in calls_of.items():
            if called & found:
                found.add(name)
    # Only the class's own release methods: some of a model's releases are ordinary work
    # that happens to release (Pillow's ``image.save()`` loads and so closes the file), and a
    # ``to_string()`` that calls one when asked is no release of the class.
    return {name for name in found if name in _RELEASE_NAMES or name.startswith(_RELEASE_PREFIXES)}

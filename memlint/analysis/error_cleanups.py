"""A method that releases what it stored on ``self`` only when it fails (issue 13, seventh round).

``self._devnull = errlog = open(os.devnull, "w")`` ... ``return self``, with ``except
Exception: await self._cleanup_on_error(); raise`` around it: the method calls a helper
that closes ``self._devnull``, but only in its ``except`` clauses. That cleanup is for the
half-built object of a failed call; when the method returns normally the object keeps the
file, and the object's own release method (``close()``, ``__exit__``, ``__aexit__``, ...)
closes it. So the store hands the resource on to the object, as any store on ``self`` does,
instead of binding this method to release it on every way out.

Kept only when every call this method makes to a helper that releases the attribute sits in
an ``except`` clause, and one of the class's release methods (a public release name or an
exit dunder) releases the attribute too. A helper also called on the normal path (the rules
document's ``finally: self._cleanup_temp_files()``) keeps the method responsible.
"""

from __future__ import annotations

from typing import Iterable, Sequence, Set

import libcst as cst

from memlint.analysis.resources import ANY_RELEASE_METHODS
from memlint.analysis.walk import find

_EXIT_METHODS = frozenset({"__exit__", "__aexit__", "close", "aclose"})
_RELEASE_PREFIXES = ("close", "release", "shutdown", "cleanup", "dispose", "stop", "teardown", "disconnect")
_HANDLERS = tuple(t for t in (cst.ExceptHandler, getattr(cst, "ExceptStarHandler", None)) if t is not None)


def released_only_on_failure(body: Sequence[cst.CSTNode], helpers: Set[str], releasers: Iterable[str]) -> bool:
    """Whether the method whose statements are ``body`` calls the ``helpers`` (``self.<name>()``
    methods that release the attribute) only inside ``except`` clauses, while one of the
    ``releasers`` of that attribute is a release method the object's user calls."""
    if not helpers or not any(_is_object_release(name) for name in releasers):
        return False
    seen = False
    for statement in body:
        for call, ancestors in find(statement, (cst.Call,)):
            func = call.func  # type: ignore[attr-defined]
            if not (
                isinstance(func, cst.Attribute)
                and isinstance(func.value, cst.Name)
                and func.value.value == "self"
                and func.attr.value in helpers
            ):
                continue
            if not any(isinstance(ancestor, _HANDLERS) for ancestor in ancestors):
                return False
            seen = True
    return seen


def _is_object_release(name: str) -> bool:
    if name in _EXIT_METHODS or name in ANY_RELEASE_METHODS:
        return True
    return not name.startswith("_") and name.startswith(_RELEASE_PREFIXES)

"""What a ``with`` around a bound resource must also know: the entries of an exit stack, and
whether the code can leave a range other than by raising.

``ExitStack.close()`` runs the exits it holds with no exception; its ``__exit__``, on the
path where the body raised, shows them the exception, and an exit that returns true
swallows it. ``with ExitStack() as stack:`` keeps what the code does only when nothing on
the stack can do that: objects whose own ``with`` the fix table knows (a file, a socket,
a process), closed by ``__exit__`` methods that return nothing, and plain callbacks.
"""

from __future__ import annotations

from typing import Sequence

import libcst as cst

from memlint.fixes._analysis_view import find
from memlint.fixes.context import FixContext
from memlint.fixes.table import MANAGEABLE

# Methods of an exit stack whose entries never swallow an exception: ``callback(f, ...)``
# wraps ``f`` in an exit that returns nothing.
_PLAIN_ENTRIES = frozenset({"callback"})
_CLOSING = "contextlib.closing"
# What ends a range early on the normal path (a ``yield`` suspends it there).
_LEAVERS = (cst.Return, cst.Break, cst.Continue, cst.Yield)
_OWN_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)


def entries_never_swallow(
    fx: FixContext, statements: Sequence[cst.CSTNode], name: str, releases: frozenset, released: bool
) -> bool:
    """Whether every mention of the stack ``name`` in ``statements`` is a release call,
    ``name.callback(...)`` or ``name.enter_context(call(...))`` of a callable of the fix table
    (whose ``__exit__`` returns nothing). Anything else (``push``, an entry the fixer does
    not know, the stack passed on or copied) may put there an exit that swallows. A stack the
    code never ``released`` never ran its callbacks (an exit stack has no ``__del__``; what
    was entered on it is closed when it is collected): then a callback is refused too."""
    for statement in statements:
        for found, path in fx.mention_index.of(statement, (name,)):
            parent = path[-1] if path else None
            grand = path[-2] if len(path) > 1 else None
            if not (isinstance(parent, cst.Attribute) and parent.value is found):
                return False
            if not (isinstance(grand, cst.Call) and grand.func is parent):
                return False
            method = parent.attr.value
            if method in releases or (released and method in _PLAIN_ENTRIES):
                continue
            if method != "enter_context" or not _known_entry(fx, grand):
                return False
    return True


def _known_entry(fx: FixContext, call: cst.Call) -> bool:
    """``enter_context(open(p))``: one argument, a call of a known ``with``."""
    if len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
        return False
    entered = call.args[0].value
    if not isinstance(entered, cst.Call):
        return False
    qualified = fx.resolve(entered.func)
    return qualified == _CLOSING or qualified in MANAGEABLE


def leaves_early(statements: Sequence[cst.CSTNode]) -> bool:
    """Whether running ``statements`` can end them on the normal path before their end:
    a ``return``, ``break``, ``continue`` or ``yield`` anywhere but in a nested function or
    class (a ``break`` of an inner loop counts too, to keep this simple)."""
    for statement in statements:
        for _found, path in find(statement, _LEAVERS):
            if not any(isinstance(node, _OWN_SCOPES) for node in path):
                return True
    return False

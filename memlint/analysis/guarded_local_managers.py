"""A ``@contextmanager`` written inside a function and used there only in ``with`` blocks
that let no exception out: its cleanup after ``yield`` always runs.

The cleanup after a bare ``yield`` is skipped only when the ``with`` body raises into the
generator. For a generator context manager that is a local name of one function, every
body it will ever run is in plain sight: when the name is only ever called as the item of a
(synchronous) ``with`` statement, and each such body is one ``try`` with no ``else`` and no
``finally`` whose handlers catch ``Exception`` (or everything), never raise or re-raise,
and call nothing but logging methods (which are taken not to raise), no exception reaches
the ``yield``. Only what ``except Exception`` cannot catch could: ``KeyboardInterrupt`` and
``SystemExit``, which the raise model nowhere counts, and the ``GeneratorExit`` or
``CancelledError`` a ``yield`` or ``await`` in the body may get, so such a body does not
qualify. Anything else (the name
handed on, returned, stored, used by a nested function, an ``async with``) leaves the
bodies unknown, and the ``@contextmanager`` is judged on its own as before.
"""

from __future__ import annotations

from typing import List, Optional

import libcst as cst

from memlint.analysis.facts import ModuleContext
from memlint.analysis.names import block_of
from memlint.analysis.resources import LOGGING_METHODS
from memlint.analysis.walk import find

_CATCH_ALL = ("Exception", "BaseException")


def bodies_let_nothing_out(ctx: ModuleContext, function: cst.FunctionDef) -> bool:
    """Whether ``function`` (a sync ``@contextmanager``) is local to an enclosing function
    whose every use of it is ``with function(...):`` around a body that lets nothing out."""
    if function.asynchronous is not None:
        return False
    enclosing = _enclosing_function(ctx, function)
    if enclosing is None:
        return False
    name = function.name.value
    uses: List[cst.With] = []
    called: List[cst.CSTNode] = []
    for node, path in find(enclosing.body, (cst.Name,), stop=()):
        if node.value != name or any(p is function for p in path):  # type: ignore[attr-defined]
            continue
        if not _is_with_item_call(node, path, uses, called):
            return False
    return bool(uses) and all(_lets_nothing_out(ctx, statement) for statement in uses)


def _enclosing_function(ctx: ModuleContext, function: cst.FunctionDef) -> Optional[cst.FunctionDef]:
    """The function whose own body defines ``function`` (not a class's, not the module's)."""
    for outer, _path in find(ctx.module, (cst.FunctionDef,), stop=()):
        if outer is function:
            continue
        for statement in block_of(outer.body):  # type: ignore[attr-defined]
            if statement is function:
                return outer  # type: ignore[return-value]
    return None


def _is_with_item_call(node: cst.CSTNode, path: tuple, uses: List[cst.With], called: List[cst.CSTNode]) -> bool:
    """``with name(...) as x:`` (sync), the mention being the called function."""
    if len(path) < 3:
        return False
    call, item, statement = path[-1], path[-2], path[-3]
    if not (isinstance(call, cst.Call) and call.func is node):
        return False
    if not (isinstance(item, cst.WithItem) and item.item is call):
        return False
    if not isinstance(statement, cst.With) or statement.asynchronous is not None:
        return False
    uses.append(statement)
    return True


def _lets_nothing_out(ctx: ModuleContext, statement: cst.With) -> bool:
    body = block_of(statement.body)
    if len(body) != 1 or not isinstance(body[0], cst.Try):
        return False
    guarded = body[0]
    if guarded.orelse is not None or guarded.finalbody is not None:
        return False
    if find(guarded.body, (cst.Yield, cst.Await)):
        # A ``yield`` there may get GeneratorExit, an ``await`` CancelledError: neither is an
        # ``Exception``, and either passes through the ``yield`` of the manager.
        return False
    if not any(_catches_all(ctx, handler) for handler in guarded.handlers):
        return False
    return all(_quiet_handler(handler) for handler in guarded.handlers)


def _catches_all(ctx: ModuleContext, handler: cst.ExceptHandler) -> bool:
    kind = handler.type
    return kind is None or (ctx.resolve(kind) or "").rsplit(".", 1)[-1] in _CATCH_ALL


def _quiet_handler(handler: cst.ExceptHandler) -> bool:
    """No raise, and no call but a logging method's (``logger.exception(...)``)."""
    if find(handler.body, (cst.Raise,), stop=()):
        return False
    for call, _path in find(handler.body, (cst.Call,), stop=()):
        func = call.func  # type: ignore[attr-defined]
        if not (isinstance(func, cst.Attribute) and func.attr.value in LOGGING_METHODS):
            return False
    return True

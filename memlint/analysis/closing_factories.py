"""Module functions that close what they return before returning it.

``def probe_tcp(msg, close=True)`` opens a connection in a ``try`` whose ``finally`` runs
``if close and connection is not None: connection.close()`` and then returns it: a call that
leaves ``close`` at its default (or passes ``True``) gets back a closed socket, so there is
nothing for the caller to release (check-4 pyroute2 ``proxy_newprobe``). A ``finally`` runs
on every way out of its ``try``, so the object is closed whether the try's body returns it or
a statement after the ``try`` does. Only functions of this module (or methods of the class
being analysed, called on ``self``) are read; the closing test may be a parameter, ``x is not
None`` on the returned name, or both joined by ``and``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import libcst as cst

from memlint.analysis.facts import is_generator, local_callee
from memlint.analysis.names import block_of, dotted
from memlint.analysis.resources import ANY_RELEASE_METHODS
from memlint.analysis.walk import find

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ModuleContext

_NESTED = (cst.FunctionDef, cst.Lambda, cst.ClassDef)


def closes_before_return(ctx: "ModuleContext", call: cst.Call) -> bool:
    """Whether ``call`` runs a local function that closes the object it returns, as called."""
    function = local_callee(ctx, call.func)
    if function is None or is_generator(function):
        return False
    body = list(block_of(function.body))
    returned = _returned_name(function)
    if returned is None:
        return False
    for index, statement in enumerate(body):
        if not isinstance(statement, cst.Try) or statement.finalbody is None:
            continue
        if not any(_closes(ctx, small, returned, function, call) for small in block_of(statement.finalbody.body)):
            continue
        # Every return inside this try, or after it at the top level.
        inside = {id(node) for node, _ in find(statement, (cst.Return,))}
        after = {id(node) for later in body[index + 1 :] for node, _ in find(later, (cst.Return,))}
        every = [node for node, path in find(function.body, (cst.Return,)) if not any(isinstance(p, _NESTED) for p in path)]
        if every and all(id(node) in inside | after for node in every):
            return True
    return False


def _returned_name(function: cst.FunctionDef) -> Optional[str]:
    names = set()
    for node, path in find(function.body, (cst.Return,)):
        if any(isinstance(p, _NESTED) for p in path):
            continue
        value = node.value  # type: ignore[attr-defined]
        if not isinstance(value, cst.Name):
            return None
        names.add(value.value)
    return names.pop() if len(names) == 1 else None


def _closes(ctx: "ModuleContext", statement: cst.CSTNode, name: str, function: cst.FunctionDef, call: cst.Call) -> bool:
    """``name.close()``, or ``if <test>: name.close()`` with a test true at this call."""
    if isinstance(statement, cst.If) and statement.orelse is None:
        return _true_here(statement.test, name, function, call) and any(
            _closes(ctx, inner, name, function, call) for inner in block_of(statement.body)
        )
    if not isinstance(statement, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
        return False
    for small in statement.body:
        value = small.value if isinstance(small, cst.Expr) else None
        if (
            isinstance(value, cst.Call)
            and isinstance(value.func, cst.Attribute)
            and value.func.attr.value in ANY_RELEASE_METHODS
            and dotted(value.func.value) == name
        ):
            return True
    return False


def _true_here(test: cst.BaseExpression, name: str, function: cst.FunctionDef, call: cst.Call) -> bool:
    """``close``, ``name is not None``, or both joined by ``and``: each part true at ``call``
    (a ``None`` test is true where the object exists, which is the only case that matters)."""
    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
        return _true_here(test.left, name, function, call) and _true_here(test.right, name, function, call)
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1 and dotted(test.left) == name:
        target = test.comparisons[0]
        return isinstance(target.operator, cst.IsNot) and dotted(target.comparator) == "None"
    if isinstance(test, cst.Name):
        return _parameter_true(test.value, function, call)
    return False


def _parameter_true(param: str, function: cst.FunctionDef, call: cst.Call) -> bool:
    """Whether parameter ``param`` is ``True`` at ``call``: passed as ``True``, or left at a
    default of ``True``."""
    params = list(function.params.params)
    if isinstance(call.func, cst.Attribute) and params:
        params = params[1:]  # ``self``
    names = [p.name.value for p in params]
    kwonly = {p.name.value: p for p in function.params.kwonly_params}
    if param not in names and param not in kwonly:
        return False
    if any(arg.star for arg in call.args):
        return False
    for position, arg in enumerate(call.args):
        if arg.keyword is not None and arg.keyword.value == param:
            return dotted(arg.value) == "True"
        if arg.keyword is None and position < len(names) and names[position] == param:
            return dotted(arg.value) == "True"
    declared = params[names.index(param)] if param in names else kwonly[param]
    return declared.default is not None and dotted(declared.default) == "True"

"""The error family of a resource's own work (``calls.toml`` [raising] errors_of_own_work).

Every failure of a sqlite3 connection's work, and of the cursors it makes, is a
``sqlite3.DatabaseError`` (short of misuse), so the author of ::

    try:
        conn = sqlite3.connect(path)
        cur = conn.cursor()
        cur.execute(QUERY)
        items = list(cur)
    except sqlite3.DatabaseError:
        conn.close()
        return []

wrote a handler that catches whatever that work raises. The work is: a method of the
resource (``conn.execute(...)``), of a name the scope binds only to what one of its methods
returned (``cur = conn.cursor()``), or of such a call's result (``conn.execute(q).fetchone()``);
iterating one of those names (``list(cur)``); and a function of this module handed the
resource whose body does only that work on its parameter (``_migrate(db)``: ``db.execute``,
``db.commit``, ``db.rollback`` then ``raise`` again). Anything else between acquisition and
release (a project call, ``open()``, a request) is judged as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Set

import libcst as cst

from memlint.analysis.names import block_of, dotted
from memlint.analysis.quiet_classes import made_from_resource
from memlint.analysis.resources import KNOWLEDGE
from memlint.analysis.walk import find

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ModuleContext

# Builtins that only iterate their one argument: on a cursor, each step is a fetch.
_ITERATING = frozenset({"list", "tuple", "next", "iter", "sorted"})


def own_error_family(model: str) -> Optional[str]:
    """The exception every failure of the work of a resource of ``model`` is an instance of."""
    spec = KNOWLEDGE.models.get(model)
    if spec is None:
        return None
    for exception, makers in KNOWLEDGE.errors_of_own_work.items():
        if makers & set(spec.acquired_by):
            return exception
    return None


def own_work(ctx: "ModuleContext", call: cst.CSTNode, held_names: Set[str]) -> bool:
    """Whether ``call`` is the followed resource's own work (see the module's docstring)."""
    if not isinstance(call, cst.Call):
        return False
    if _work_on(ctx, call, held_names, True):
        return True
    func = call.func
    if isinstance(func, cst.Name) and func.value in ctx.functions and func.value not in ctx.shadowed:
        return _helper_does_only_work(ctx.functions[func.value], call, held_names)
    return False


def iterated_elsewhere(ctx: "ModuleContext", node: cst.CSTNode, held_names: Set[str]) -> bool:
    """Whether the scope iterates the resource, or what one of its methods returned, in a
    ``for`` or a comprehension outside ``node`` (``for entry in cur:`` after the ``try``).
    Each step of that loop is a fetch that can fail, but a loop header is no call the raise
    model names; while the handler's calls still stand for the failure, the finding keeps
    naming the resource's own work (mvt manifest.py: ``cur.execute`` handled, the loop over
    ``cur`` not)."""
    scope = ctx.scope.node if ctx.scope is not None else None
    if scope is None:
        return False
    inside = {id(found) for found, _path in find(node, (cst.For, cst.CompFor))}
    for found, _path in find(scope, (cst.For, cst.CompFor)):
        if id(found) not in inside and _made_by(ctx, found.iter, held_names, True):  # type: ignore[attr-defined]
            return True
    return False


def _work_on(ctx: "ModuleContext", call: cst.Call, held: Set[str], in_scope: bool) -> bool:
    """A method of ``held`` (or of what the scope made from it, when ``in_scope``), of such a
    call's result, or an iterating builtin over one of those names."""
    func = call.func
    if isinstance(func, cst.Attribute):
        receiver = func.value
        if isinstance(receiver, cst.Call):
            return _work_on(ctx, receiver, held, in_scope)
        return _made_by(ctx, receiver, held, in_scope)
    if isinstance(func, cst.Name) and func.value in _ITERATING and (ctx.resolve(func) or func.value) in (
        func.value, "builtins." + func.value
    ):
        if len(call.args) == 1 and not call.args[0].keyword and not call.args[0].star:
            return _made_by(ctx, call.args[0].value, held, in_scope)
    return False


def _made_by(ctx: "ModuleContext", node: cst.BaseExpression, held: Set[str], in_scope: bool) -> bool:
    name = dotted(node)
    if name is None:
        return False
    if name in held:
        return True
    return in_scope and isinstance(node, cst.Name) and made_from_resource(ctx, node.value, held)


def _helper_does_only_work(function: cst.FunctionDef, call: cst.Call, held_names: Set[str]) -> bool:
    """``_migrate(db)`` handed the resource: a plain function (no decorator, no coroutine or
    generator) whose every call is work on the parameter that receives it, whose handlers
    only do such work and raise again, and that looks nothing up and unpacks nothing."""
    if function.decorators or function.asynchronous is not None:
        return False
    param = _receiving_parameter(function, call, held_names)
    if param is None:
        return False
    return _block_does_only_work(block_of(function.body), {param})


def _receiving_parameter(function: cst.FunctionDef, call: cst.Call, held_names: Set[str]) -> Optional[str]:
    """The parameter of ``function`` that ``call`` hands one of ``held_names``, by position
    or keyword (a call with ``*args``/``**kwargs`` is not read)."""
    params = list(function.params.posonly_params) + list(function.params.params)
    found: Optional[str] = None
    for index, arg in enumerate(call.args):
        if arg.star:
            return None
        if dotted(arg.value) not in held_names:
            continue
        if arg.keyword is not None:
            found = arg.keyword.value
        elif index < len(params):
            found = params[index].name.value
        else:
            return None
    return found


def _block_does_only_work(statements, held: Set[str]) -> bool:
    for statement in statements:
        if isinstance(statement, cst.SimpleStatementLine):
            if not all(_small_does_only_work(small, held) for small in statement.body):
                return False
        elif isinstance(statement, cst.Try):
            if statement.orelse is not None or statement.finalbody is not None:
                return False
            if not _block_does_only_work(block_of(statement.body), held):
                return False
            for handler in statement.handlers:
                if handler.name is not None or not _handler_redoes(block_of(handler.body), held):
                    return False
        else:
            return False
    return True


def _handler_redoes(statements, held: Set[str]) -> bool:
    """``db.rollback(); raise``: the handler does only the work and raises what it caught."""
    if not statements:
        return False
    *work, last = statements
    if not (isinstance(last, cst.SimpleStatementLine) and len(last.body) == 1):
        return False
    again = last.body[0]
    return isinstance(again, cst.Raise) and again.exc is None and _block_does_only_work(work, held)


def _small_does_only_work(small: cst.BaseSmallStatement, held: Set[str]) -> bool:
    if isinstance(small, cst.Pass):
        return True
    if isinstance(small, cst.Expr):
        value = small.value
        if isinstance(value, (cst.SimpleString, cst.ConcatenatedString)):
            return True  # the docstring
        return isinstance(value, cst.Call) and _only_work_calls(value, held)
    if isinstance(small, cst.Return):
        return small.value is None or _only_work_calls(small.value, held)
    return False


def _only_work_calls(node: cst.CSTNode, held: Set[str]) -> bool:
    """Every call in ``node`` is a method of ``held`` or of such a call's result, fed
    literals, names and f-strings (no lookup, no other call)."""
    calls = []
    for found, _path in find(node, (cst.Subscript, cst.Await, cst.Yield, cst.Lambda, cst.Call), stop=()):
        if not isinstance(found, cst.Call):
            return False
        calls.append(found)
    for found in calls:
        func = found.func
        if not isinstance(func, cst.Attribute):
            return False
        receiver = func.value
        while isinstance(receiver, cst.Call) and isinstance(receiver.func, cst.Attribute):
            receiver = receiver.func.value
        if dotted(receiver) not in held:
            return False
    return True

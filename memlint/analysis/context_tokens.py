"""``VAR.reset(token)`` of the token ``VAR.set(...)`` gave in the same function cannot fail.

``ContextVar.reset`` raises only when the token was made by another variable (ValueError),
in another context (ValueError), or was used already (RuntimeError). A token bound once, by
``token = VAR.set(value)`` on the same module-level ``contextvars.ContextVar``, and given
once to ``VAR.reset`` later in the same function, with no ``yield`` between them (a
generator can be resumed in another context; ``await`` keeps the task's context), and no
loop around the reset that the set is not in, meets none of them. Read by
``fresh_calls.quiet_on_what_was_made`` for MEM003.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional, Tuple

import libcst as cst

from memlint.analysis.names import dotted
from memlint.analysis.walk import Path, find

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ModuleContext

_CONTEXT_VARIABLE = "contextvars.ContextVar"
# Statements whose body may not run: a set inside one of them that the reset is not in may
# leave the token unbound.
_CONDITIONAL = (cst.If, cst.For, cst.While, cst.ExceptHandler, cst.Else, cst.Match)


def resets_own_token(ctx: "ModuleContext", call: cst.Call) -> bool:
    """``_VAR.reset(token)`` after ``token = _VAR.set(value)`` in this function."""
    func = call.func
    if not (isinstance(func, cst.Attribute) and func.attr.value == "reset" and len(call.args) == 1):
        return False
    argument = call.args[0]
    if argument.keyword is not None or argument.star or not isinstance(argument.value, cst.Name):
        return False
    variable, token = dotted(func.value), argument.value.value
    if variable is None or "." in variable or not _module_context_variable(ctx, variable):
        return False
    scope = ctx.scope.node if ctx.scope is not None else ctx.module
    if scope is ctx.module:
        return False  # module code: any other module may have used the token
    nodes = find(scope, (cst.Name, cst.Yield, cst.Call, cst.FunctionDef, cst.ClassDef, cst.Lambda))
    setter = _only_setter(nodes, token, variable)
    if setter is None:
        return False
    set_index, set_trail = setter
    for node, trail in nodes[set_index:]:
        if node is call:
            return _dominates(set_trail, trail)
        if isinstance(node, cst.Yield):
            return False  # resumed later, perhaps in another context
    return False  # the reset comes first (in a loop): the token may be the last round's


def _module_context_variable(ctx: "ModuleContext", name: str) -> bool:
    """``NAME = contextvars.ContextVar(...)`` (or annotated) at the top of the module, once."""
    values = []
    for statement in ctx.module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign) and any(dotted(target.target) == name for target in small.targets):
                values.append(small.value)
            elif isinstance(small, cst.AnnAssign) and dotted(small.target) == name:
                values.append(small.value)
    return (
        len(values) == 1
        and isinstance(values[0], cst.Call)
        and (ctx.resolve(values[0].func) or "") == _CONTEXT_VARIABLE
    )


def _only_setter(nodes: List[Tuple[cst.CSTNode, Path]], token: str, variable: str) -> Optional[Tuple[int, Path]]:
    """Where ``token = variable.set(...)`` is, when the function mentions ``token`` only there
    and as the argument of one ``reset`` (nowhere in a nested function)."""
    setter = None
    resets = 0
    for index, (node, trail) in enumerate(nodes):
        if trail and isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            if any(name.value == token for name, _trail in find(node, (cst.Name,), stop=())):  # type: ignore[attr-defined]
                return None
            continue
        if not (isinstance(node, cst.Name) and node.value == token):
            continue
        parent = trail[-1] if trail else None
        grand = trail[-2] if len(trail) > 1 else None
        if isinstance(parent, cst.AssignTarget) and isinstance(grand, cst.Assign) and len(grand.targets) == 1:
            value = grand.value
            made = isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute)
            if setter is not None or not made or value.func.attr.value != "set" or dotted(value.func.value) != variable:  # type: ignore[union-attr]
                return None
            setter = (index, trail)
        elif isinstance(parent, cst.Arg) and len(trail) > 1 and isinstance(grand, cst.Call) and _is_reset_of(grand, variable):
            resets += 1
        else:
            return None  # handed on, rebound or tested: what else uses it is unknown
    return setter if resets == 1 else None


def _is_reset_of(call: cst.Call, variable: str) -> bool:
    return isinstance(call.func, cst.Attribute) and call.func.attr.value == "reset" and dotted(call.func.value) == variable


def _dominates(set_trail: Path, reset_trail: Path) -> bool:
    """Every statement that may skip the set, or repeat the reset, holds both."""
    for depth, node in enumerate(set_trail):
        if isinstance(node, _CONDITIONAL):
            # The reset must be in the same branch: the same node one level down as well.
            shared = set_trail[: depth + 2]
            if len(reset_trail) < len(shared) or any(a is not b for a, b in zip(shared, reset_trail)):
                return False
    set_ids = set(id(node) for node in set_trail)
    return all(id(node) in set_ids for node in reset_trail if isinstance(node, (cst.For, cst.While)))

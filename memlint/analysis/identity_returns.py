"""Calls that give back their own argument: ``page = await self.process_iframes(page)``.

A function of this module (or a method of the class being analysed, called on ``self``)
whose every ``return`` gives back one and the same parameter, never rebound in its body,
hands its caller the very object the caller passed in. Such a call acquires nothing: the
value is whatever the argument was, owned (or not) as before the call. A generator is
left out (calling it makes a generator object), and so is any function that could return
something else (another value, or a parameter it rebinds).
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from memlint.analysis.facts import ModuleContext, is_generator, local_callee
from memlint.analysis.walk import find

# Nodes that bind a name in a function body.
_BINDERS = (cst.AssignTarget, cst.AnnAssign, cst.AugAssign, cst.For, cst.AsName, cst.NamedExpr, cst.CompFor)


def returns_its_argument(ctx: "ModuleContext", call: cst.Call) -> bool:
    """Whether ``call`` is a call of a module function or ``self`` method that returns the
    argument given for one of its parameters, and that argument is given."""
    function = local_callee(ctx, call.func)
    if function is None:
        return False
    param = returned_parameter(function)
    if param is None:
        return False
    params = list(function.params.params)
    if isinstance(call.func, cst.Attribute):
        if not params or _is_static(function):
            return False
        params = params[1:]  # ``self``
    names = [p.name.value for p in params]
    for position, arg in enumerate(call.args):
        if arg.star:
            return False  # ``*args``: which parameter gets what is unknown
        if arg.keyword is not None and arg.keyword.value == param:
            return True
        if arg.keyword is None and position < len(names) and names[position] == param:
            return True
    return False


def _is_static(function: cst.FunctionDef) -> bool:
    return any(
        isinstance(d.decorator, cst.Name) and d.decorator.value in ("staticmethod", "classmethod")
        for d in function.decorators
    )


def returned_parameter(function: cst.FunctionDef) -> Optional[str]:
    """The parameter every ``return`` of ``function`` gives back, when there is one and the
    body never rebinds it; None otherwise (or for a generator)."""
    body = function.body
    if is_generator(function):
        return None
    returned = set()
    returns = find(body, (cst.Return,))
    if not returns:
        return None
    for node, _path in returns:
        value = node.value  # type: ignore[attr-defined]
        if not isinstance(value, cst.Name):
            return None
        returned.add(value.value)
    if len(returned) != 1:
        return None
    name = returned.pop()
    every = function.params
    declared = {p.name.value for p in list(every.posonly_params) + list(every.params) + list(every.kwonly_params)}
    if name not in declared:
        return None
    for node, _path in find(body, _BINDERS):
        target = node.name if isinstance(node, cst.AsName) else getattr(node, "target", None)
        if target is not None and _names(target, name):
            return None  # rebound (taken broadly: ``page.x = ...`` counts too)
    if any(isinstance(n, (cst.Global, cst.Nonlocal)) for n, _ in find(body, (cst.Global, cst.Nonlocal))):
        return None
    return name


def _names(target: cst.CSTNode, name: str) -> bool:
    if isinstance(target, cst.Name):
        return target.value == name
    return any(n.value == name for n, _ in find(target, (cst.Name,)))  # type: ignore[attr-defined]

"""Functions of the module that release what they are given before they can return.

``image = resize_image(image, 1080)`` where ``resize_image(img, ...)`` is a function of this
module (or a method of the class being analysed, called on ``self``) whose body calls
``img.resize(...)`` in a statement of its own top level, with no ``return``, ``raise``,
``yield`` or rebinding of ``img`` before it: whenever the call returns, that release of the
resource's own kind (Pillow's ``resize()`` loads the pixels and so closes the file the image
opened, ``knowledge/third-party-data.toml``) has run on the argument. The call releases it as
``img.resize(...)`` written in place would. Only the callee's unconditional top level counts
(not a branch, loop, ``try`` or nested function); a compound statement before it may only
run to its end (no ``return``, ``raise`` or ``yield`` in it, no binding of the parameter).
Only a parameter given by position or keyword counts, never one through ``*args``/``**kwargs``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, FrozenSet, Optional

import libcst as cst

from memlint.analysis.facts import local_callee
from memlint.analysis.names import dotted
from memlint.analysis.walk import find

if TYPE_CHECKING:
    from memlint.analysis.facts import ModuleContext

_STOPS = (cst.Return, cst.Raise, cst.Yield)


def released_by_callee(ctx: "ModuleContext", call: cst.Call, arg: cst.CSTNode, releases: FrozenSet[str]) -> bool:
    """Whether ``call`` is of a local function that releases, by one of ``releases``, the
    parameter that ``arg`` (one of ``call.args``) is given for, before it can return."""
    if not releases or not isinstance(arg, cst.Arg) or arg.star:
        return False
    function = local_callee(ctx, call.func)
    if function is None or isinstance(function.body, cst.SimpleStatementSuite):
        return False
    param = _parameter(function, call, arg)
    if param is None:
        return False
    for statement in function.body.body:
        if any(True for _ in find(statement, _STOPS)) or _rebinds(statement, param):
            return False
        if not isinstance(statement, cst.SimpleStatementLine):
            continue  # runs to its end (or raises): a release in it may not run
        for found, _ in find(statement, (cst.Call,)):
            func = found.func  # type: ignore[attr-defined]
            if isinstance(func, cst.Attribute) and func.attr.value in releases and dotted(func.value) == param:
                return True
    return False


def _parameter(function: cst.FunctionDef, call: cst.Call, arg: cst.Arg) -> Optional[str]:
    params = list(function.params.params)
    if params and params[0].name.value in ("self", "cls") and isinstance(call.func, cst.Attribute):
        params = params[1:]
    if arg.keyword is not None:
        names = {p.name.value for p in params} | {p.name.value for p in function.params.kwonly_params}
        return arg.keyword.value if arg.keyword.value in names else None
    positional = [a for a in call.args if a.keyword is None]
    if any(a.star for a in positional):
        return None
    index = next((i for i, a in enumerate(positional) if a is arg), -1)
    return params[index].name.value if 0 <= index < len(params) else None


def _rebinds(statement: cst.CSTNode, name: str) -> bool:
    for target, _ in find(statement, (cst.AssignTarget, cst.AnnAssign, cst.AugAssign, cst.NamedExpr, cst.For, cst.AsName)):
        bound = getattr(target, "target", None) or getattr(target, "name", None)
        if bound is not None and any(n.value == name for n, _ in find(bound, (cst.Name,))):  # type: ignore[attr-defined]
            return True
    return False

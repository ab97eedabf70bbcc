"""Local factories that acquire only when a switch parameter is turned on (issue 13, seventh round).

``def get_env(self, name, default=None, cast=None, expand=False)`` writes the value to a
temporary file only under ``if expand: value = self.expand(value)``; otherwise it returns the
plain configuration value. ``expand`` defaults to ``False`` and nothing in the function binds
it again, so a call that leaves it out (``self.get_env("PORT", 5050, cast=int)``), or passes
``False``/``None``/``0``/``""``, runs no acquiring line and gets no resource back.

Kept only when every acquiring call of the function sits in the body of an ``if`` whose test
is the parameter's own truth (``if expand:``, ``if expand and ...:``), the parameter's default
is a falsy literal, and the function never binds it. A call with ``*args`` or ``**kwargs`` may
pass it: that call still acquires.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import libcst as cst

from memlint.analysis.walk import find

# The parameter's name and its position among the arguments a call passes positionally.
Switch = Tuple[str, int]

_FALSY_NAMES = frozenset({"False", "None"})


def enabling_parameter(function: cst.FunctionDef, acquiring: Sequence[cst.CSTNode], is_method: bool) -> Optional[Switch]:
    """The parameter whose truth every acquiring call of ``function`` needs, if there is one."""
    params = list(function.params.params)
    if not acquiring:
        return None
    switch: Optional[str] = None
    for call in acquiring:
        found = _switch_of(function, call)
        if found is None or (switch is not None and found != switch):
            return None
        switch = found
    param = next((p for p in params if p.name.value == switch), None)
    if param is None:
        # Only a plain positional-or-keyword parameter: a keyword-only one has a position too
        # (``function.params.kwonly_params``), but no caller passes it by position.
        param = next((p for p in function.params.kwonly_params if p.name.value == switch), None)
        if param is None or param.default is None or not falsy_literal(param.default):
            return None
        return (switch, -1) if not _bound_in(function, switch) else None  # type: ignore[return-value]
    if param.default is None or not falsy_literal(param.default) or _bound_in(function, switch):  # type: ignore[arg-type]
        return None
    position = params.index(param) - (1 if is_method else 0)
    return switch, position  # type: ignore[return-value]


def left_off(switch: Switch, call: cst.Call) -> bool:
    """Whether ``call`` leaves the switch off: does not pass it, or passes a falsy literal."""
    name, position = switch
    if any(arg.star for arg in call.args):
        return False  # ``*args``/``**kwargs`` may carry it
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return falsy_literal(arg.value)
    positional = [arg for arg in call.args if arg.keyword is None]
    if 0 <= position < len(positional):
        return falsy_literal(positional[position].value)
    return True


def falsy_literal(value: cst.BaseExpression) -> bool:
    if isinstance(value, cst.Name):
        return value.value in _FALSY_NAMES
    if isinstance(value, cst.Integer):
        return value.evaluated_value == 0
    if isinstance(value, cst.SimpleString):
        return value.evaluated_value in ("", b"")
    return False


def _switch_of(function: cst.FunctionDef, call: cst.CSTNode) -> Optional[str]:
    """The parameter name tested by an ``if`` whose body holds ``call`` (or a ``return``,
    ``switched_returns``; its own truth, or an operand of an ``and``), the innermost such
    ``if`` first."""
    for node, path in find(function.body, (type(call),)):
        if node is not call:
            continue
        for index in range(len(path) - 2, -1, -1):
            ancestor = path[index]
            if isinstance(ancestor, cst.If) and path[index + 1] is ancestor.body:
                name = _truth_tested(ancestor.test)
                if name is not None:
                    return name
        return None
    return None


def _truth_tested(test: cst.BaseExpression) -> Optional[str]:
    if isinstance(test, cst.Name) and test.value not in _FALSY_NAMES and test.value != "True":
        return test.value
    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
        return _truth_tested(test.left) or _truth_tested(test.right)
    return None


def _bound_in(function: cst.FunctionDef, name: str) -> bool:
    """Whether ``function`` binds ``name`` anywhere (nested scopes included: they may say
    ``nonlocal``)."""
    for node, _ in find(function.body, (cst.AssignTarget, cst.AnnAssign, cst.AugAssign, cst.For, cst.AsName, cst.NamedExpr, cst.Nonlocal, cst.Global, cst.Del), stop=()):
        if isinstance(node, (cst.Nonlocal, cst.Global)):
            if any(item.name.value == name for item in node.names):
                return True
            continue
        target = getattr(node, "target", None) or getattr(node, "name", None)
        if target is not None and any(n.value == name for n, _ in find(target, (cst.Name,), stop=())):
            return True
    return False

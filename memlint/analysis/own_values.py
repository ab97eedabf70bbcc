"""Calls that cannot realistically fail on values the function spelled itself or read a moment before.

MEM003's raise model (``raises.py``) asks of each call between an acquisition and its release
whether it can fail. Some calls of modules that do I/O or parse cannot, given what the function
itself hands them (knowledge in ``calls.toml`` [raising]):

- a name the function binds exactly once, by a plain assignment of a constant (``ttl = 1``),
  no ``global``/``nonlocal`` statement of the module naming it, is that constant wherever it is
  read: ``struct.pack("B", ttl)`` is a call of constants (``non_raising_with_constant_arguments``);
- ``os.chdir(old)`` of ``old = os.getcwd()``, bound only there: going back to the directory the
  process was in (``non_raising_going_back``). Only the removal of that directory, or a change
  of its permissions, by someone else in between could fail it;
- ``json.dumps({"timestamp": time.time()})``: a serializer given a display (dict, list, tuple)
  of literals, f-strings, names bound as above and the results of the calls
  ``non_raising_on_plain_values`` names (a ``str``, an ``int``, a ``float``), with string keys
  and only the keywords that shape the text: there is no value it rejects (a NaN is written
  as ``NaN`` unless ``allow_nan=False``, which is not among them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, FrozenSet, Optional, Tuple

import libcst as cst

from memlint.analysis.quiet_functions import constant_value
from memlint.analysis.resources import KNOWLEDGE
from memlint.analysis.walk import find

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ModuleContext

# Where a name is bound: every ``Name`` under one of these (a target, an ``as`` name, ...).
_BINDERS = (
    cst.AssignTarget, cst.AugAssign, cst.AnnAssign, cst.For, cst.AsName, cst.NamedExpr, cst.Del,
    cst.CompFor, cst.ImportAlias, cst.FunctionDef, cst.ClassDef, cst.MatchAs, cst.MatchStar, cst.MatchMapping,
)
# Keywords of ``json.dumps`` that only shape the text (``sort_keys`` with string keys only).
_SHAPING_KEYWORDS = frozenset({"indent", "sort_keys", "separators", "ensure_ascii"})
# String methods whose result is a ``str`` when called on a string literal.
_STRING_METHODS = frozenset({"format", "join", "upper", "lower", "strip", "replace"})
_STRINGS = (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)


def local_constants(ctx: "ModuleContext") -> FrozenSet[str]:
    """The names the function being analysed binds once, to a constant (``gdm_timeout = 1``);
    kept per function, as ``_single_bindings`` is (the raise model asks at every call)."""
    scope = ctx.scope
    if scope is None or scope.is_module:
        return frozenset()
    memo = vars(ctx).setdefault("own_values_constants", {})
    known = memo.get(id(scope.node))
    if known is None:
        known = memo[id(scope.node)] = frozenset(
            name for name, value in _single_bindings(ctx).items() if constant_value(value)
        )
    return known


def goes_back(ctx: "ModuleContext", call: cst.Call, qualified: str) -> bool:
    """``os.chdir(old_wd)`` where the function's one binding of ``old_wd`` is ``os.getcwd()``."""
    makers = KNOWLEDGE.non_raising_going_back.get(qualified)
    if not makers or len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
        return False
    argument = call.args[0].value
    value = _single_bindings(ctx).get(argument.value) if isinstance(argument, cst.Name) else None
    return isinstance(value, cst.Call) and not value.args and (ctx.resolve(value.func) or "") in makers


def serializes_plain_values(ctx: "ModuleContext", call: cst.Call, qualified: str) -> bool:
    """``json.dumps({"timestamp": time.time()}, indent=2)``: one display of plain values."""
    plain_calls = KNOWLEDGE.non_raising_on_plain_values.get(qualified)
    if plain_calls is None or not call.args or call.args[0].keyword is not None or call.args[0].star:
        return False
    for arg in call.args[1:]:
        if arg.keyword is None or arg.keyword.value not in _SHAPING_KEYWORDS or not constant_value(arg.value):
            return False
    value = call.args[0].value
    if not isinstance(value, (cst.Dict, cst.List, cst.Tuple)):
        return False
    return _plain(ctx, value, plain_calls, local_constants(ctx), 0)


def _plain(ctx: "ModuleContext", node: cst.BaseExpression, calls: FrozenSet[str], names: FrozenSet[str], depth: int) -> bool:
    if depth > 8:
        return False
    if isinstance(node, cst.Dict):
        return all(
            isinstance(element, cst.DictElement) and isinstance(element.key, _STRINGS)
            and _plain(ctx, element.value, calls, names, depth + 1)
            for element in node.elements
        )
    if isinstance(node, (cst.List, cst.Tuple)):
        return all(
            isinstance(element, cst.Element) and _plain(ctx, element.value, calls, names, depth + 1)
            for element in node.elements
        )
    if isinstance(node, _STRINGS + (cst.Integer, cst.Float)):
        return True
    if isinstance(node, cst.UnaryOperation):
        return isinstance(node.operator, cst.Minus) and isinstance(node.expression, (cst.Integer, cst.Float))
    if isinstance(node, cst.BinaryOperation):
        return isinstance(node.operator, cst.Modulo) and isinstance(node.left, _STRINGS)  # ``"%d s" % n``: a str
    if isinstance(node, cst.Name):
        return node.value in ("True", "False", "None") or node.value in names
    if isinstance(node, cst.Call):
        func = node.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, _STRINGS):
            return func.attr.value in _STRING_METHODS  # ``"{}:{}".format(host, port)``
        return (ctx.resolve(func) or "") in calls
    return False


def single_binding(ctx: "ModuleContext", name: str) -> Optional[cst.BaseExpression]:
    """The value of the one plain assignment of ``name`` in the function being analysed
    (``ssh_client = ssh._client``), or None when it is bound otherwise, more than once, is a
    parameter or is named by a ``global``/``nonlocal`` statement (``_single_bindings``)."""
    return _single_bindings(ctx).get(name)


def _single_bindings(ctx: "ModuleContext") -> Dict[str, Optional[cst.BaseExpression]]:
    """Name -> the value of its one plain assignment (``name = value``), for the names the
    function being analysed binds exactly once that way, and that are neither its parameters
    nor named by a ``global`` or ``nonlocal`` statement anywhere in the module."""
    scope = ctx.scope
    if scope is None or scope.is_module:
        return {}  # a module-level name can be rebound from a function or another module
    memo = vars(ctx).setdefault("own_values_bindings", {})
    known = memo.get(id(scope.node))
    if known is not None:
        return known
    counts: Dict[str, int] = {}
    values: Dict[str, cst.BaseExpression] = {}
    for found, trail in find(scope.node.body, _BINDERS):  # type: ignore[attr-defined]
        for name in _bound_names(found):
            counts[name] = counts.get(name, 0) + 1
        if isinstance(found, cst.AssignTarget) and isinstance(found.target, cst.Name) and trail:
            parent = trail[-1]
            if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
                values[found.target.value] = parent.value
    declared = _declared_names(ctx)
    known = {
        name: value for name, value in values.items()
        if counts.get(name) == 1 and name not in scope.params and name not in declared
    }
    memo[id(scope.node)] = known
    return known


def _bound_names(found: cst.CSTNode) -> Tuple[str, ...]:
    if isinstance(found, (cst.FunctionDef, cst.ClassDef)):
        return (found.name.value,)
    if isinstance(found, cst.ImportAlias):
        if found.asname is not None:
            return ()  # the ``as`` name is counted as an AsName
        return ((_dotted_root(found.name)),)
    if isinstance(found, (cst.MatchAs, cst.MatchStar, cst.MatchMapping)):  # ``case ttl:`` captures
        name = found.rest if isinstance(found, cst.MatchMapping) else found.name
        return (name.value,) if isinstance(name, cst.Name) else ()
    if isinstance(found, cst.AsName):
        target = found.name
    elif isinstance(found, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign, cst.For, cst.NamedExpr, cst.Del, cst.CompFor)):
        target = found.target
    else:  # pragma: no cover - every binder is listed above
        return ()
    return tuple(node.value for node, _trail in find(target, (cst.Name,), stop=()))  # type: ignore[attr-defined]


def _dotted_root(node: cst.BaseExpression) -> str:
    while isinstance(node, cst.Attribute):
        node = node.value
    return node.value if isinstance(node, cst.Name) else ""


def _declared_names(ctx: "ModuleContext") -> FrozenSet[str]:
    """Every name a ``global`` or ``nonlocal`` statement of the module names."""
    memo = vars(ctx)
    declared = memo.get("own_values_declared")
    if declared is None:
        declared = memo["own_values_declared"] = frozenset(
            item.name.value
            for found, _trail in find(ctx.module, (cst.Global, cst.Nonlocal), stop=())
            for item in found.names  # type: ignore[attr-defined]
        )
    return declared

"""Values known as resources by the helper of ``self`` that releases them.

``x = self._create_temp_file(); self.temp_files.append(x); ...; self._cleanup_temp_files()``:
whatever ``_create_temp_file`` makes, the method registers it in an attribute that one of
the class's own methods releases, and calls that method itself. It has taken on the release
(the rules document's ShortTermMemory example), so the paths that skip the helper leave
the value behind; the helper's calls are followed as its release like any other.
"""

from __future__ import annotations

from typing import List, Optional, Set, Tuple

import libcst as cst

from memlint.analysis.facts import SMALL_CONTAINERS, ModuleContext, Scope
from memlint.analysis.names import dotted, iter_statements, self_attribute
from memlint.analysis.ownership import releasers_of
from memlint.analysis.resources import ANY_RELEASE_FUNCS, ANY_RELEASE_METHODS, HANDOFF_METHODS, ResourceSpec
from memlint.analysis.walk import find

# What messages call a value known only by the helper that cleans it up.
REGISTERED = ResourceSpec("resource", verb="cleaned up")


def registered_values(ctx: ModuleContext, scope: Scope) -> Set[int]:
    """The ids of the ``self.<method>()`` calls of this scope whose value is registered in an
    attribute that a helper this scope calls releases."""
    info = scope.class_info
    if info is None or not ctx.self_calls_in_scope:
        return set()
    class_name = info.node.name.value
    made: List[Tuple[str, cst.Call]] = []
    registered: Set[str] = set()
    for statement in iter_statements(list(scope.body), into_functions=False):
        if not isinstance(statement, SMALL_CONTAINERS):
            continue
        for small in statement.body:
            call = _self_call_bound(small)
            if call is not None:
                made.append(call)
            attr, name = _registration(small)
            if attr and name:
                helpers = releasers_of(ctx, class_name, attr) & ctx.self_calls_in_scope
                if any(_releases_each_item(ctx, info.methods.get(helper), attr) for helper in helpers):
                    registered.add(name)
    return {id(call) for name, call in made if name in registered and _unknown_maker(ctx, scope, call)}


def _self_call_bound(small: cst.CSTNode) -> Optional[Tuple[str, cst.Call]]:
    """``name = self.method(...)``."""
    if not (isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name)):
        return None
    value = small.value
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and self_attribute(value.func):
        return small.targets[0].target.value, value
    return None


def _registration(small: cst.CSTNode) -> Tuple[Optional[str], Optional[str]]:
    """``self.attr.append(name)`` -> (attr, name)."""
    if not (isinstance(small, cst.Expr) and isinstance(small.value, cst.Call)):
        return None, None
    call = small.value
    func = call.func
    if not (isinstance(func, cst.Attribute) and func.attr.value in HANDOFF_METHODS and len(call.args) == 1):
        return None, None
    value = call.args[0].value
    return self_attribute(func.value), value.value if isinstance(value, cst.Name) else None


def _unknown_maker(ctx: ModuleContext, scope: Scope, call: cst.Call) -> bool:
    """The maker is not already known to return a resource (then it is followed as that)."""
    method = call.func.attr.value  # type: ignore[attr-defined]
    return scope.class_info is not None and method not in scope.class_info.factories


def _releases_each_item(ctx: ModuleContext, helper: Optional[cst.FunctionDef], attr: str) -> bool:
    """The helper goes through ``self.attr`` and releases every item (``for f in self.temp_files:
    os.remove(f)``): the shape of a cleanup helper, not just any method that touches the attribute."""
    if helper is None:
        return False
    for loop, _ in find(helper.body, (cst.For,)):
        if dotted(loop.iter) != f"self.{attr}" or not isinstance(loop.target, cst.Name):  # type: ignore[attr-defined]
            continue
        item = loop.target.value  # type: ignore[attr-defined]
        for call, _ in find(loop.body, (cst.Call,)):  # type: ignore[attr-defined]
            func = call.func  # type: ignore[attr-defined]
            if isinstance(func, cst.Attribute) and dotted(func.value) == item and func.attr.value in ANY_RELEASE_METHODS:
                return True
            if (ctx.resolve(func) or "") in ANY_RELEASE_FUNCS and any(dotted(a.value) == item for a in call.args):  # type: ignore[attr-defined]
                return True
    return False

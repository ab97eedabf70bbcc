"""A resource given to an object that the function makes and keeps to itself.

``finder = Finder(session)`` takes the session only for as long as ``finder`` lives. When
``finder`` is a local name that never leaves the function (not returned, yielded, stored,
given to other code, captured by a nested function) and is never released itself, the
session is still the function's to close: the hand-off is a use, not a transfer.

Conservative on purpose: any other mention of the holder (a bare attribute read, a
comparison, a ``with``, a release or start method, a second binding) keeps the hand-off.
A holder may be given on to another holder of the same kind (``Teachability(controller)``
bound to a local that is itself only used through method calls): followed a few levels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Set, Tuple

import libcst as cst

from memlint.analysis.names import is_binding_target
from memlint.analysis.resources import ANY_RELEASE_METHODS, HANDOFF_CALLS
from memlint.analysis.walk import find

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ModuleContext

# Methods after which the holder lives on without the function (a thread or server
# started in the background keeps what it was given).
_LIVES_ON_METHODS = frozenset(("start", "start_soon", "serve_forever", "run_forever", "run_in_background", "detach"))
_NESTED_SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)
_MAX_DEPTH = 3


def kept_by_local_holder(ctx: "ModuleContext", call: cst.Call, path: Tuple[cst.CSTNode, ...]) -> bool:
    """Whether ``call`` (the resource is one of its arguments; ``path`` ends at that
    argument) makes an object bound to a local name that never outlives the function."""
    scope = ctx.scope
    if scope is None or not isinstance(scope.node, cst.FunctionDef):
        return False
    holder = _local_holder_name(ctx, scope.node, call, path[:-2])
    if holder is None:
        return False
    return _stays_local(ctx, scope.node, holder, 0, set())


def _local_holder_name(
    ctx: "ModuleContext", function: cst.FunctionDef, call: cst.Call, above: Tuple[cst.CSTNode, ...]
) -> Optional[str]:
    """``holder = SomeClass(...)``: the name, when the call makes an object of a class that
    is not itself a known resource (a wrapper that owns and closes what it wraps is
    followed as a resource of its own)."""
    if not above or not isinstance(above[-1], cst.Assign) or above[-1].value is not call:
        return None
    targets = above[-1].targets
    if len(targets) != 1 or not isinstance(targets[0].target, cst.Name):
        return None
    func = call.func
    last = func.attr.value if isinstance(func, cst.Attribute) else (func.value if isinstance(func, cst.Name) else "")
    if not last[:1].isupper():
        return None  # a factory or a method may keep it anywhere; only a constructor is read
    qualified = ctx.resolve(func) or ""
    if qualified in ctx.table or qualified in HANDOFF_CALLS:
        return None
    if not _made_of_locals(function, call):
        return None
    return targets[0].target.value


def _made_of_locals(function: cst.FunctionDef, call: cst.Call) -> bool:
    """Every name in the constructor's arguments is bound in the function (and is no
    parameter): ``Service(app, http_client=client)`` with ``app`` from the caller may
    attach itself, and the client with it, to an object that outlives the call."""
    bound = _locally_bound(function) - function_params(function)
    for node, path in find(call, (cst.Name,), stop=()):
        if node is call.func or not path or (isinstance(path[0], cst.Call) and len(path) > 1 and path[1] is call.func):
            continue  # the constructor's own name
        parent = path[-1]
        if (isinstance(parent, cst.Arg) and parent.keyword is node) or (isinstance(parent, cst.Attribute) and parent.attr is node):
            continue
        value = node.value  # type: ignore[attr-defined]
        if value not in bound and value not in ("True", "False", "None"):
            return False
    return True


def _locally_bound(function: cst.FunctionDef) -> Set[str]:
    names: Set[str] = set()
    for node, path in find(function.body, (cst.Name,)):
        if is_binding_target(node, path):
            names.add(node.value)  # type: ignore[attr-defined]
    return names


def _stays_local(ctx: "ModuleContext", function: cst.FunctionDef, name: str, depth: int, seen: Set[str]) -> bool:
    if name in seen or name in function_params(function):
        return False
    seen.add(name)
    bindings = 0
    for node, path in find(function.body, (cst.Name,), stop=()):
        if node.value != name:  # type: ignore[attr-defined]
            continue
        parent = path[-1] if path else None
        if (isinstance(parent, cst.Arg) and parent.keyword is node) or (isinstance(parent, cst.Attribute) and parent.attr is node):
            continue  # ``Teachability(memory_controller=...)``, ``other.finder``: not the name
        if any(isinstance(p, _NESTED_SCOPES) for p in path):
            return False  # captured (or shadowed) by a nested scope: not followed
        if is_binding_target(node, path):
            bindings += 1
            if bindings > 1:
                return False
            continue
        if not _local_mention(ctx, function, node, path, depth, seen):
            return False
    return bindings == 1


def _local_mention(
    ctx: "ModuleContext", function: cst.FunctionDef, node: cst.CSTNode, path: Tuple[cst.CSTNode, ...], depth: int, seen: Set[str]
) -> bool:
    """A method call on the holder that neither releases nor starts it, or the holder
    given to the constructor of another local holder."""
    parent = path[-1] if path else None
    if isinstance(parent, cst.Attribute) and parent.value is node:
        # ``finder.find(url)``, ``finder.session.get(url)``: a call through the holder.
        top = len(path) - 1
        while top > 0 and isinstance(path[top - 1], cst.Attribute) and path[top - 1].value is path[top]:  # type: ignore[attr-defined]
            top -= 1
        grand = path[top - 1] if top > 0 else None
        if not (isinstance(grand, cst.Call) and grand.func is path[top]):
            return False  # ``finder.session``: what it keeps may be read out and handed on
        method = path[top].attr.value  # type: ignore[attr-defined]
        if method in ANY_RELEASE_METHODS or method in _LIVES_ON_METHODS:
            return False
        # ``return stream.connect(addr)``, ``return builder.build()``: what the call gives
        # back may be the holder or keep it; handed to the caller, the hand-off stands.
        return not any(isinstance(p, (cst.Return, cst.Yield)) for p in path[: top - 1])
    index = len(path) - 1
    if index >= 2 and isinstance(path[index], cst.Element) and isinstance(path[index - 1], (cst.List, cst.Tuple)):
        index -= 2  # ``memory=[teachability]``
    if index < 1 or not isinstance(path[index], cst.Arg) or not isinstance(path[index - 1], cst.Call):
        return False
    if depth >= _MAX_DEPTH:
        return False
    outer = _local_holder_name(ctx, function, path[index - 1], path[: index - 1])  # type: ignore[arg-type]
    return outer is not None and _stays_local(ctx, function, outer, depth + 1, seen)


def function_params(function: cst.FunctionDef) -> Set[str]:
    params = function.params
    names = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            names.add(star.name.value)
    return names

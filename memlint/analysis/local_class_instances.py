"""Instances of a class defined in the function that never leave it.

``class Factory: executor = pool`` followed by ``factory = Factory()`` makes an object that
reaches the pool through its class; when ``factory`` stays in the function (used only
through method calls whose results are neither returned nor yielded, also inside a nested
function that is itself only called there and then), the pool is still the function's to
release. Seen in tornado's tests (a ``ThreadPoolExecutor`` behind a local ``Factory``).

Conservative on purpose: any other use of the class or of an instance (returned, stored,
passed, compared, released, started, captured by a lambda or a nested class, a nested
function handed on or its call result kept) counts as the class leaving.
"""

from __future__ import annotations

from typing import Optional, Sequence, Set, Tuple

import libcst as cst

from memlint.analysis.captures import class_leaves
from memlint.analysis.names import dotted, is_binding_target
from memlint.analysis.resources import ANY_RELEASE_METHODS
from memlint.analysis.walk import find

# Calls after which the object lives on without the function (a thread or server started
# in the background keeps what it was given).
_LIVES_ON_METHODS = frozenset(("start", "start_soon", "serve_forever", "run_forever", "run_in_background", "detach"))
# Calls that run a coroutine to its end before they return.
_RUNS_TO_THE_END = frozenset(("run", "run_until_complete"))


def class_stays_local(body: Sequence[cst.CSTNode], class_name: str) -> bool:
    """Whether the class ``class_name`` defined in the function ``body`` never leaves it:
    only its attributes are read (``captures.class_leaves``), or its instances stay local."""
    return not class_leaves(body, class_name) or instances_stay_local(body, class_name)


def instances_stay_local(body: Sequence[cst.CSTNode], class_name: str) -> bool:
    """Whether every use of ``class_name`` in the function ``body`` reads an attribute of
    the class or makes an instance bound to a local name that stays in the function."""
    root = cst.Module(body=list(body))  # type: ignore[arg-type]
    instances: Set[str] = set()
    for name_node, path in find(root, (cst.Name,), stop=()):
        if name_node.value != class_name or not path:  # type: ignore[attr-defined]
            continue
        parent = path[-1]
        if isinstance(parent, cst.ClassDef) and parent.name is name_node:
            continue
        if isinstance(parent, cst.Attribute) and parent.value is name_node:
            continue
        instance = _instance_name(name_node, path)
        if instance is None:
            return False
        instances.add(instance)
    return bool(instances) and all(_stays(root, name) for name in instances)


def _instance_name(name_node: cst.CSTNode, path: Tuple[cst.CSTNode, ...]) -> Optional[str]:
    """``factory = Factory(...)`` at the function's own level: ``factory``."""
    if len(path) < 2 or not isinstance(path[-1], cst.Call) or path[-1].func is not name_node:
        return None
    statement = path[-2]
    if not isinstance(statement, cst.Assign) or statement.value is not path[-1] or len(statement.targets) != 1:
        return None
    if any(isinstance(p, (cst.FunctionDef, cst.Lambda, cst.ClassDef)) for p in path[:-2]):
        return None
    target = statement.targets[0].target
    return target.value if isinstance(target, cst.Name) else None


def _stays(root: cst.Module, name: str) -> bool:
    bindings = 0
    nested: Set[str] = set()
    for node, path in find(root, (cst.Name,), stop=()):
        if node.value != name:  # type: ignore[attr-defined]
            continue
        parent = path[-1] if path else None
        if (isinstance(parent, cst.Arg) and parent.keyword is node) or (isinstance(parent, cst.Attribute) and parent.attr is node):
            continue
        scopes = [p for p in path if isinstance(p, (cst.FunctionDef, cst.Lambda, cst.ClassDef))]
        if any(not isinstance(scope, cst.FunctionDef) for scope in scopes) or len(scopes) > 1:
            return False  # a lambda, a class or a deeper function: not followed
        if scopes:
            function = scopes[0]
            if _binds_locally(function, name):  # type: ignore[arg-type]
                return False  # shadowed there: another value
            nested.add(function.name.value)  # type: ignore[attr-defined]
        if is_binding_target(node, path):
            bindings += 1
            if bindings > 1 or scopes:
                return False
            continue
        if not _method_call(node, path):
            return False
    return bindings == 1 and all(_only_run_here(root, function) for function in nested)


def _method_call(node: cst.CSTNode, path: Tuple[cst.CSTNode, ...]) -> bool:
    """``factory.run()``, ``await factory.run()``: neither a release nor a start, and what
    it gives back is not returned or yielded (it may be the instance)."""
    top = len(path) - 1
    if top < 0 or not (isinstance(path[top], cst.Attribute) and path[top].value is node):  # type: ignore[attr-defined]
        return False
    while top > 0 and isinstance(path[top - 1], cst.Attribute) and path[top - 1].value is path[top]:  # type: ignore[attr-defined]
        top -= 1
    call = path[top - 1] if top > 0 else None
    if not (isinstance(call, cst.Call) and call.func is path[top]):
        return False
    method = path[top].attr.value  # type: ignore[attr-defined]
    if method in ANY_RELEASE_METHODS or method in _LIVES_ON_METHODS:
        return False
    return not any(isinstance(p, (cst.Return, cst.Yield)) for p in path[: top - 1])


def _binds_locally(function: cst.FunctionDef, name: str) -> bool:
    params = function.params
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        if param.name.value == name:
            return True
    for node, path in find(function.body, (cst.Name,)):
        if node.value == name and is_binding_target(node, path):  # type: ignore[attr-defined]
            return True
    return False


def _only_run_here(root: cst.Module, function_name: str) -> bool:
    """The nested function ``main`` is only called, and its result awaited, dropped or run
    to its end (``asyncio.run(main())``): it does not outlive the function."""
    for node, path in find(root, (cst.Name,), stop=()):
        if node.value != function_name or not path:  # type: ignore[attr-defined]
            continue
        parent = path[-1]
        if isinstance(parent, cst.FunctionDef) and parent.name is node:
            continue
        if not (isinstance(parent, cst.Call) and parent.func is node) or len(path) < 2:
            return False
        holder = path[-2]
        if isinstance(holder, (cst.Await, cst.Expr)):
            continue
        if isinstance(holder, cst.Arg) and len(path) >= 3 and isinstance(path[-3], cst.Call):
            runner = dotted(path[-3].func) or ""  # type: ignore[attr-defined]
            if runner.rsplit(".", 1)[-1] in _RUNS_TO_THE_END and len(path) >= 4 and isinstance(path[-4], (cst.Expr, cst.Await)):
                continue
        return False
    return True

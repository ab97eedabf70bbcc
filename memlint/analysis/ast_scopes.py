"""Walks over ``ast`` trees for the project index, in the orders its callers have always
seen, without the leaves none of them reads.

``ast.iter_child_nodes`` goes through ``ast.iter_fields`` and an ``isinstance`` test per
field of every node, and yields the context and operator leaves (``Load``, ``Store``,
``Add``: a third of all nodes); the index walks every function it summarises several
times, and those walks were most of its time. Here each node type's fields that can hold
a node are listed once, and the leaves are never visited. They have no children, so
leaving them out changes nothing else in the order of what is yielded.
"""

from __future__ import annotations

import ast
from collections import deque
from typing import Dict, Iterator, List, Set, Tuple

from memlint.analysis.resources import KEEPING_METHODS

# Fields that never hold a node worth visiting: the context and operator leaves, and
# fields that hold only strings or numbers in every Python version (``name`` is not one of
# them: ``type X = ...`` has a ``Name`` there).
_LEAF_FIELDS = frozenset(
    {"ctx", "op", "ops", "id", "arg", "attr", "asname", "module", "level", "kind",
     "type_comment", "conversion", "is_async", "kwd_attrs", "rest", "tag"}
)
_PLANS: Dict[type, Tuple[str, ...]] = {}
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_NODE = ast.AST


def _fields(kind: type) -> Tuple[str, ...]:
    plan = _PLANS.get(kind)
    if plan is None:
        if kind is ast.Constant or kind is ast.Global or kind is ast.Nonlocal:
            plan = ()  # a value, or a list of names
        else:
            plan = tuple(name for name in getattr(kind, "_fields", ()) if name not in _LEAF_FIELDS)
        _PLANS[kind] = plan
    return plan


def children(node: ast.AST) -> List[ast.AST]:
    """``ast.iter_child_nodes(node)`` as a list, in the same order, minus the leaves."""
    found: List[ast.AST] = []
    keep = found.append
    for name in _PLANS.get(type(node)) or _fields(type(node)):
        value = getattr(node, name, None)
        if type(value) is list:
            for item in value:
                if isinstance(item, _NODE):
                    keep(item)
        elif isinstance(value, _NODE):
            keep(value)
    return found


def own_nodes(function: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function's body, not entering nested functions, lambdas or classes
    below its own statements (a ``def`` that is itself a statement of the body is yielded
    and entered, as it always was); last statement first."""
    return _depth_first(list(getattr(function, "body", [])))


def scope_nodes(function: ast.AST) -> Iterator[ast.AST]:
    """The nodes of one function's body, not entering (nor yielding) nested functions,
    lambdas or classes; last statement first."""
    return _depth_first([node for node in getattr(function, "body", []) if not isinstance(node, _SCOPES)])


def _depth_first(stack: list) -> Iterator[ast.AST]:
    """The nodes of ``stack`` and below, last first, not entering nested scopes below them."""
    pop, push = stack.pop, stack.append
    plans = _PLANS
    node_type, scopes = _NODE, _SCOPES
    while stack:
        node = pop()
        yield node
        kind = type(node)
        fields = plans.get(kind)
        if fields is None:
            fields = _fields(kind)
        for name in fields:
            value = getattr(node, name, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, node_type) and not isinstance(item, scopes):
                        push(item)
            elif isinstance(value, node_type) and not isinstance(value, scopes):
                push(value)


def walk(node: ast.AST) -> Iterator[ast.AST]:
    """``ast.walk(node)``'s nodes in its order (breadth first), minus the leaves."""
    todo = deque([node])
    pop, extend = todo.popleft, todo.extend
    while todo:
        node = pop()
        extend(children(node))
        yield node


def kept_by_container(value: ast.AST, function: ast.AST) -> Set[str]:
    """The names ``value`` (an expression statement of ``function``) hands to a container of
    ``self`` or of the module (``self._expanded.append(path)``, ``_REGISTRY.append(conn)``):
    that container keeps them, so returning one gives out a shared object, not a fresh one.
    The keeping methods are knowledge (``calls.toml`` [containers] keeping_methods)."""
    if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr in KEEPING_METHODS):
        return set()
    holder = value.func.value
    if isinstance(holder, ast.Attribute) and isinstance(holder.value, ast.Name) and holder.value.id == "self":
        pass
    elif not (isinstance(holder, ast.Name) and _not_local(holder.id, function)):
        return set()
    return {arg.id for arg in value.args if isinstance(arg, ast.Name)}


def _not_local(name: str, function: ast.AST) -> bool:
    arguments = getattr(function, "args", None)
    if arguments is not None and name in {a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs}:
        return False
    for node in own_nodes(function):
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store):
            return False
    return True

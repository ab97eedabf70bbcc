"""Objects of the module's own classes whose ``with`` is exactly their release.

``with Tunnel(a) as t:`` is the same as ``t = Tunnel(a)`` ... ``t.close()`` only when the
class's ``__enter__`` does nothing but ``return self`` and its ``__exit__`` does nothing but
call that release (and so returns None: it never swallows an exception). A ``__enter__``
that does work (a lazy object that connects there) or an ``__exit__`` that does more, a
class with bases, decorators or a metaclass (any of which may replace those methods), and a
name bound more than once at the top of the module, or bound in the function that calls it,
get nothing: the ``with`` is then not known to be the release.
"""

from __future__ import annotations

from typing import FrozenSet, List, Optional, Tuple, Type

import libcst as cst

from memlint.fixes._analysis_view import SCOPES, dotted, find
from memlint.fixes.model import Manageable

# What the analysis adds to every class's releases; not a method to call by hand.
_DUNDER_EXITS = frozenset({"__exit__", "__aexit__"})
# Literals a name may sit in as part of an unpacking target.
_UNPACKING = (cst.Element, cst.StarredElement, cst.Tuple, cst.List)


def own_class_manageable(
    module: cst.Module, scope: Optional[cst.CSTNode], call: cst.Call, releases: FrozenSet[str]
) -> Optional[Manageable]:
    """A ``Manageable`` for ``Cls(...)`` of a class of this module whose ``with`` is its release."""
    if not isinstance(call.func, cst.Name):
        return None
    name = call.func.value
    classes = [s for s in module.body if isinstance(s, cst.ClassDef) and s.name.value == name]
    if len(classes) != 1:
        return None
    node = classes[0]
    if node.decorators or node.keywords or any(dotted(base.value) != "object" for base in node.bases):
        return None
    methods = {m.name.value: m for m in _body(node) if isinstance(m, cst.FunctionDef)}
    enter, leave = methods.get("__enter__"), methods.get("__exit__")
    if enter is None or leave is None or not _returns_self(enter):
        return None
    release = _only_call_on_self(leave)
    if release is None or release not in releases - _DUNDER_EXITS or release not in methods:
        return None
    if _bound_elsewhere(module, name, node) or (scope is not None and scope is not module and _binds(scope, name)):
        return None
    stem = name.lower() if name.lower().isidentifier() else "resource"
    return Manageable(frozenset({release}), stem=stem, lasting=True)


def _body(node: cst.CSTNode) -> List[cst.CSTNode]:
    body = getattr(node, "body", None)
    return list(body.body) if isinstance(body, cst.IndentedBlock) else []


def _statements(function: cst.FunctionDef) -> Optional[List[cst.BaseSmallStatement]]:
    """The simple statements of an undecorated method, its docstring left out; None otherwise."""
    if function.decorators or function.asynchronous is not None:
        return None
    found: List[cst.BaseSmallStatement] = []
    for line in _body(function):
        if not isinstance(line, cst.SimpleStatementLine):
            return None
        found.extend(line.body)
    if found and isinstance(found[0], cst.Expr) and isinstance(found[0].value, cst.SimpleString):
        found = found[1:]
    return found


def _self_name(function: cst.FunctionDef) -> Optional[str]:
    params = list(function.params.posonly_params) + list(function.params.params)
    return params[0].name.value if params else None


def _returns_self(function: cst.FunctionDef) -> bool:
    body = _statements(function)
    me = _self_name(function)
    if body is None or len(body) != 1 or me is None:
        return False
    only = body[0]
    return isinstance(only, cst.Return) and isinstance(only.value, cst.Name) and only.value.value == me


def _only_call_on_self(function: cst.FunctionDef) -> Optional[str]:
    """``m`` when the method's whole body is ``self.m()``."""
    body = _statements(function)
    me = _self_name(function)
    if body is None or len(body) != 1 or me is None or not isinstance(body[0], cst.Expr):
        return None
    value = body[0].value
    if not isinstance(value, cst.Call) or value.args or not isinstance(value.func, cst.Attribute):
        return None
    if not (isinstance(value.func.value, cst.Name) and value.func.value.value == me):
        return None
    return value.func.attr.value


def _bound_elsewhere(module: cst.Module, name: str, node: cst.ClassDef) -> bool:
    """Whether another statement of the module's top level (or a ``global``) binds ``name``
    too. A function's own locals do not count here (its scope is checked on its own)."""
    for statement in module.body:
        if statement is node:
            continue
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            if statement.name.value == name:
                return True
            continue
        if _binds(statement, name, stop=SCOPES):
            return True
    return any(
        isinstance(found, cst.Global) and any(item.name.value == name for item in found.names)  # type: ignore[attr-defined]
        for found, _ in find(module, (cst.Global,), stop=())
    )


def _binds(root: cst.CSTNode, name: str, stop: Tuple[Type[cst.CSTNode], ...] = ()) -> bool:
    """Whether ``name`` is bound under ``root`` (an assignment, loop, ``as``, parameter, import, def)."""
    for found, path in find(root, (cst.Name,), stop=stop):
        if found.value != name:  # type: ignore[attr-defined]
            continue
        node: cst.CSTNode = found
        depth = len(path)
        # ``a, (b, name) = ...``: up through the literals of an unpacking target.
        while depth >= 1 and isinstance(path[depth - 1], _UNPACKING):
            node = path[depth - 1]
            depth -= 1
        parent = path[depth - 1] if depth >= 1 else None
        if parent is not None and parent is not root and _binding_field(parent) is node:
            return True
    for found, _ in find(root, (cst.FunctionDef, cst.ClassDef), stop=stop):
        if found is not root and found.name.value == name:  # type: ignore[attr-defined]
            return True
    return False


def _binding_field(parent: cst.CSTNode) -> Optional[cst.CSTNode]:
    """The child of ``parent`` that a name is bound to, if ``parent`` binds one."""
    if isinstance(parent, (cst.AssignTarget, cst.AnnAssign, cst.AugAssign, cst.For, cst.CompFor, cst.NamedExpr)):
        return parent.target
    if isinstance(parent, (cst.AsName, cst.Param, cst.FunctionDef, cst.ClassDef, cst.NameItem)):
        return parent.name
    if isinstance(parent, cst.ImportAlias):
        return parent.name if parent.asname is None else None
    return None

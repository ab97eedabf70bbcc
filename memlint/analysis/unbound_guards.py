"""A release in a ``finally`` that is itself guarded against an unbound name.

``finally: try: data_file.close() except (IOError, NameError): pass`` cannot let an
UnboundLocalError out of the ``finally`` when ``open()`` failed: UnboundLocalError is a
NameError, and a handler for it (or for ``Exception``, or a bare ``except``) around the
release takes it. MEM003's unbound-in-finally check passes such a release over.

A flag that says the resource was made guards it too: ``created = False`` before the
``try``, ``client = Redis.from_url(url)`` then ``created = True`` in the ``try``, and
``finally: if created and client is not None: client.close()``. The flag is true only
where the name is bound when every binding of the flag is a ``True``/``False`` literal and
every ``True`` one comes after a binding of the name in the same block (and the name is
never deleted): the ``and`` then stops before the unbound name is read.

A release of a name the ``finally`` binds itself is not a release of the outer one:
``finally: for sock in sockets: sock.close()`` or ``with lock as conn: conn.close()`` reads
the loop's (or the ``with``'s) own binding, which exists whenever the release runs
(``bound_by_the_finally``; an assignment earlier in a block on the way is read by the caller).
"""

from __future__ import annotations

from typing import Sequence, Set

import libcst as cst

from memlint.analysis.facts import SMALL_CONTAINERS
from memlint.analysis.names import bound_names, dotted
from memlint.analysis.walk import find

# Handlers that catch the UnboundLocalError of releasing a name never bound.
_CATCH_UNBOUND = frozenset({
    "NameError", "UnboundLocalError", "Exception", "BaseException",
    "builtins.NameError", "builtins.UnboundLocalError", "builtins.Exception", "builtins.BaseException",
})


def guarded_against_unbound(path: Sequence[cst.CSTNode]) -> bool:
    """Whether some ``try`` on ``path`` (the ancestors of a release call) holds the call in
    its body and has a handler that catches an unbound name."""
    for index, node in enumerate(path):
        if not isinstance(node, (cst.Try, cst.TryStar)) or index + 1 >= len(path) or path[index + 1] is not node.body:
            continue
        for handler in node.handlers:
            kind = handler.type
            if kind is None:
                return True
            elements = [element.value for element in kind.elements] if isinstance(kind, cst.Tuple) else [kind]
            if any((dotted(element) or "") in _CATCH_UNBOUND for element in elements):
                return True
    return False


def bound_by_the_finally(path: Sequence[cst.CSTNode], name: str) -> bool:
    """Whether the release at the end of ``path`` (it and its ancestors within the ``finally``) sits
    in the body of a ``for`` or ``with`` of the ``finally`` that binds ``name``, or in the
    element of a comprehension whose own variable it is."""
    for index, node in enumerate(path[:-1]):
        child = path[index + 1]
        if isinstance(node, cst.For) and child is node.body and name in bound_names(node.target):
            return True
        if isinstance(node, cst.With) and child is node.body:
            if any(item.asname is not None and name in bound_names(item.asname.name) for item in node.items):
                return True
        if isinstance(node, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)) and child is not node.for_in:
            loop: object = node.for_in
            while isinstance(loop, cst.CompFor):
                if name in bound_names(loop.target):
                    return True
                loop = loop.inner_for_in
    return False



def made_flag_guard(path: Sequence[cst.CSTNode], name: str, scope_body: Sequence[cst.CSTNode]) -> Set[str]:
    """The flags that guard the release at the end of ``path`` (its ancestors in a
    ``finally``) and are true only where ``name`` is bound: ``if created and ...:``."""
    flags: Set[str] = set()
    for index, node in enumerate(path):
        if isinstance(node, cst.If) and index + 1 < len(path) and path[index + 1] is node.body:
            flags |= {flag for flag in _true_names(node.test) if _says_bound(flag, name, scope_body)}
    return flags


def _true_names(test: cst.BaseExpression) -> Set[str]:
    """Plain names that hold wherever ``test`` does: the test itself, each operand of an ``and``."""
    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
        return _true_names(test.left) | _true_names(test.right)
    return {test.value} if isinstance(test, cst.Name) and test.value not in ("True", "False", "None") else set()


def _says_bound(flag: str, name: str, scope_body: Sequence[cst.CSTNode]) -> bool:
    """Every binding of ``flag`` is ``flag = True``/``False``, at least one is ``True``, each
    ``True`` one follows a binding of ``name`` in its block, and ``name`` is never deleted."""
    set_true = 0
    for statement in scope_body:
        for found, ancestors in find(statement, (cst.Name, cst.Global, cst.Nonlocal, cst.Del)):
            if isinstance(found, (cst.Global, cst.Nonlocal)):
                if any(item.name.value in (flag, name) for item in found.names):
                    return False
                continue
            if isinstance(found, cst.Del):
                if any(n.value == name for n, _ in find(found, (cst.Name,))):  # type: ignore[attr-defined]
                    return False
                continue
            if found.value != flag or not _binds(found, ancestors):  # type: ignore[attr-defined]
                continue
            assign = ancestors[-2] if len(ancestors) >= 2 else None
            if not (isinstance(assign, cst.Assign) and len(assign.targets) == 1 and dotted(assign.value) in ("True", "False")):
                return False
            if dotted(assign.value) == "True":
                if not _after_binding_of(name, assign, ancestors):
                    return False
                set_true += 1
    return set_true > 0


def _binds(found: cst.Name, ancestors: Sequence[cst.CSTNode]) -> bool:
    """Whether this occurrence of a name is bound (any kind of binding target)."""
    parent = ancestors[-1] if ancestors else None
    if isinstance(parent, cst.AssignTarget) and parent.target is found:
        return True
    for ancestor in reversed(ancestors):
        target = getattr(ancestor, "target", None)
        if isinstance(ancestor, (cst.AssignTarget, cst.AnnAssign, cst.AugAssign, cst.For, cst.CompFor, cst.NamedExpr, cst.AsName)):
            if target is not None and any(n is found for n, _ in find(target, (cst.Name,), stop=())):
                return True
            return isinstance(ancestor, cst.AsName) and ancestor.name is found
    return False


def _after_binding_of(name: str, assign: cst.Assign, ancestors: Sequence[cst.CSTNode]) -> bool:
    """``flag = True`` comes after ``name = ...`` in the same block (one simple line each)."""
    line = ancestors[-3] if len(ancestors) >= 3 else None
    block = ancestors[-4] if len(ancestors) >= 4 else None
    statements = list(getattr(block, "body", ()))
    if not isinstance(line, SMALL_CONTAINERS) or not any(s is line for s in statements):
        return False
    before = []
    for statement in statements:
        if statement is line:
            break
        before.append(statement)
    for small_line in before:
        for small in getattr(small_line, "body", ()) if isinstance(small_line, SMALL_CONTAINERS) else ():
            if isinstance(small, cst.Assign) and any(
                isinstance(target.target, cst.Name) and target.target.value == name for target in small.targets
            ):
                return True
    # ``flag = True`` on the binding's own line, after it: ``client = make(); created = True``.
    for small in line.body:
        if small is assign:
            break
        if isinstance(small, cst.Assign) and any(isinstance(t.target, cst.Name) and t.target.value == name for t in small.targets):
            return True
    return False

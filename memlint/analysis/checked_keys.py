"""Lookups that cannot miss: a key looked up right after a membership test, or spelled by
the helper's own dict display.

``if group in h5file: container = h5file[group]`` looks up a key the test has just found in
the same container; as long as neither the container nor the key is rebound (or the key
deleted) in the branch, the lookup cannot raise KeyError. ``if key not in d: ... else:
d[key]`` likewise for the ``else`` branch. ``header = {"Host": ...}`` followed by
``del header["Host"]`` removes a key the function's own display spelled. These subscripts
are no exception path (``mentions.py``, for a lookup in the resource being followed) and no
evidence that a helper raises (``raise_evidence.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Optional, Set

import libcst as cst

from memlint.analysis.names import dotted
from memlint.analysis.walk import find

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ModuleContext


def checked_lookups(ctx: "ModuleContext") -> Set[int]:
    """The ids of the subscripts of ``ctx.module`` that cannot miss their key (kept on ctx)."""
    known = vars(ctx).get("checked_lookups")
    if known is None:
        known = set()
        for node, _ in find(ctx.module, (cst.If, cst.FunctionDef), stop=()):
            if isinstance(node, cst.If):
                _guarded_by_test(node, known)
            else:
                _spelled_by_display(node, known)  # type: ignore[arg-type]
        vars(ctx)["checked_lookups"] = known
    return known


def _membership(test: cst.BaseExpression) -> Optional[tuple]:
    """``key in container`` (or ``not in``): the key's code, the container's name, and
    whether the test is negated."""
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    target = test.comparisons[0]
    negated = isinstance(target.operator, cst.NotIn)
    if not negated and not isinstance(target.operator, cst.In):
        return None
    container = dotted(target.comparator)
    key = test.left
    if container is None or not isinstance(key, (cst.Name, cst.SimpleString, cst.Integer, cst.Attribute)):
        return None
    if isinstance(key, cst.Attribute) and dotted(key) is None:
        return None
    return cst.Module(body=[]).code_for_node(key), container, negated


def _guarded_by_test(branch: cst.If, known: Set[int]) -> None:
    found = _membership(branch.test)
    if found is None:
        return
    key, container, negated = found
    if negated:
        body = branch.orelse.body if isinstance(branch.orelse, cst.Else) else None
    else:
        body = branch.body
    if body is None or _changes(body, key, container):
        return
    for subscript, _ in find(body, (cst.Subscript,)):
        if _looks_up_key(subscript, key, container):  # type: ignore[arg-type]
            known.add(id(subscript))


def _looks_up_key(subscript: cst.Subscript, key: str, container: str) -> bool:
    if dotted(subscript.value) != container or len(subscript.slice) != 1:
        return False
    index = subscript.slice[0].slice
    return isinstance(index, cst.Index) and cst.Module(body=[]).code_for_node(index.value) == key


def _changes(body: cst.CSTNode, key: str, container: str) -> bool:
    """Whether the branch rebinds the container or the key, or deletes anything: then the
    key found by the test may be gone by the time of the lookup."""
    names = {container, key, container.split(".", 1)[0], key.split(".", 1)[0]}
    for node, _ in find(body, (cst.Assign, cst.AugAssign, cst.AnnAssign, cst.For, cst.Del, cst.With, cst.FunctionDef, cst.NamedExpr)):
        if isinstance(node, cst.Del):
            return True
        if isinstance(node, cst.FunctionDef):
            continue  # a nested function's own names (find does not enter it)
        targets = _targets(node)
        for target in targets:
            for name, _ in find(target, (cst.Name,)):
                if name.value in names:  # type: ignore[attr-defined]
                    return True
    return False


def _targets(node: cst.CSTNode) -> list:
    if isinstance(node, cst.Assign):
        return [target.target for target in node.targets]
    if isinstance(node, (cst.AugAssign, cst.AnnAssign)):
        return [node.target]
    if isinstance(node, cst.For):
        return [node.target]
    if isinstance(node, cst.NamedExpr):
        return [node.target]
    if isinstance(node, cst.With):
        return [item.asname.name for item in node.items if item.asname is not None]
    return []


def _spelled_by_display(function: cst.FunctionDef, known: Set[int]) -> None:
    """``header = {"Host": ...}`` bound once in the function, then ``del header["Host"]`` or
    ``header["Host"]``: each key the display spelled is there to look up (or delete) once."""
    displays: Dict[str, Set[str]] = {}
    bound: Dict[str, int] = {}
    for node, _ in find(function.body, (cst.Assign, cst.AugAssign, cst.AnnAssign, cst.For, cst.With)):
        for target in _targets(node):
            for name, _ in find(target, (cst.Name,)):
                bound[name.value] = bound.get(name.value, 0) + 1  # type: ignore[attr-defined]
        if isinstance(node, cst.Assign) and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            if isinstance(node.value, cst.Dict):
                keys = {
                    element.key.value for element in node.value.elements
                    if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString)
                }
                displays[node.targets[0].target.value] = keys
    for name, keys in displays.items():
        if bound.get(name) != 1 or not keys:
            continue
        seen: Set[str] = set()
        for subscript, _ in find(function.body, (cst.Subscript,)):
            for key in keys:
                if key not in seen and _looks_up_key(subscript, key, name):  # type: ignore[arg-type]
                    seen.add(key)
                    known.add(id(subscript))

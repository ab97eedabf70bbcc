"""Where a name is mentioned in a tree, and whether a mention reads it or binds it."""

from __future__ import annotations

from typing import List, Optional, Sequence, Set, Tuple

import libcst as cst

from memlint.fixes._analysis_view import dotted, find, is_binding_target


def _is_reference(found: cst.CSTNode, path: Tuple[cst.CSTNode, ...]) -> bool:
    """False for the ``b`` of ``a.b``, keyword argument names, and definitions' names."""
    if not path:
        return True
    parent = path[-1]
    if isinstance(parent, cst.Attribute) and parent.attr is found:
        return False
    if isinstance(parent, cst.Arg) and parent.keyword is found:
        return False
    if isinstance(parent, (cst.ImportAlias, cst.AsName)) and isinstance(path[-2] if len(path) > 1 else None, (cst.ImportAlias, cst.Import, cst.ImportFrom)):
        return False
    return True


def mentions(root: cst.CSTNode, names: Set[str]) -> List[Tuple[cst.CSTNode, Tuple[cst.CSTNode, ...]]]:
    """References to any of ``names`` (plain or dotted, like ``self._lock``) under ``root``."""
    dotted_names = {name for name in names if "." in name}
    found = []
    for node, path in find(root, (cst.Name, cst.Attribute) if dotted_names else (cst.Name,), stop=()):
        if isinstance(node, cst.Name):
            if node.value in names and _is_reference(node, path):
                found.append((node, path))
        elif dotted(node) in dotted_names:  # type: ignore[arg-type]
            found.append((node, path))
    return found


def count_mentions(roots: Sequence[cst.CSTNode], name: str) -> int:
    return sum(len(mentions(root, {name})) for root in roots)


def is_store(found: cst.CSTNode, path: Tuple[cst.CSTNode, ...]) -> bool:
    if is_binding_target(found, path):
        return True
    index = len(path) - 1
    while index >= 0 and isinstance(path[index], (cst.Element, cst.StarredElement, cst.Tuple, cst.List)):
        index -= 1
    stores = (cst.Del, cst.Global, cst.Nonlocal, cst.NameItem, cst.Param, cst.FunctionDef, cst.ClassDef)
    return index >= 0 and isinstance(path[index], stores)


def only_binding(function: cst.FunctionDef, name: str) -> Optional[cst.CSTNode]:
    """The value of the one plain assignment ``name = value`` in ``function``, if that is
    the only place that binds ``name``; else None."""
    values = []
    for found, path in mentions(function.body, {name}):
        if not is_store(found, path):
            continue
        parent = path[-1] if path else None
        grand = path[-2] if len(path) > 1 else None
        if not (isinstance(parent, cst.AssignTarget) and isinstance(grand, cst.Assign) and len(grand.targets) == 1):
            return None
        values.append(grand.value)
    return values[0] if len(values) == 1 else None

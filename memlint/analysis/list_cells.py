"""Values a function keeps in a cell of a local list, for the project index.

Before ``nonlocal`` (and still in code written for Python 2), a function that lets a nested
function replace a value keeps it in a list: ``_closure = [BytesIO(), 0]``; the nested
``write`` swaps in ``_closure[0] = TemporaryFile()`` once the data grows; the function ends
``return _closure[0], length``. werkzeug's ``stream_encode_multipart`` does this, and its
callers leaked the temporary file. The index reads the cell like a local name: what the
function returns from ``_closure[0]`` may be what any of its assignments put there.

Only a list literal bound to a name of the function itself, and cells written with a
constant index, directly or through a name the same (possibly nested) function bound to a
call, are read; anything else is not a cell this module knows.
"""

from __future__ import annotations

import ast
from typing import Dict, Iterator, Optional, Set, Tuple

from memlint.analysis.ast_scopes import children
from memlint.analysis.ast_scopes import scope_nodes as _scope_nodes

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def cell_key(node: ast.AST) -> Optional[str]:
    """``"_closure[0]"`` for ``_closure[0]``; None for any other expression."""
    if not (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)):
        return None
    index = node.slice
    if not (isinstance(index, ast.Constant) and type(index.value) is int):
        return None
    return "%s[%d]" % (node.value.id, index.value)


def list_cell_calls(function: ast.AST) -> Iterator[Tuple[str, ast.Call]]:
    """``(cell key, call)`` for each call whose value the function, or a function nested in
    it, puts in a cell of one of the function's own local lists."""
    lists = _local_lists(function)
    if not lists:
        return
    yield from _list_items(function, lists)
    yield from _cell_writes(function, lists)


def _cell_writes(scope: ast.AST, lists: Set[str]) -> Iterator[Tuple[str, ast.Call]]:
    """The cell writes of one scope, then of the functions nested in it that still see
    the lists (a nested function that binds the name has a list of its own)."""
    assignments = [node for node in _scope_nodes(scope) if isinstance(node, ast.Assign) and len(node.targets) == 1]
    calls: Dict[str, ast.Call] = {
        node.targets[0].id: node.value
        for node in assignments
        if isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Call)
    }
    for node in assignments:
        target, value = node.targets[0], node.value
        key = cell_key(target)
        if key is None or target.value.id not in lists:  # type: ignore[attr-defined]
            continue
        if isinstance(value, ast.Call):
            yield key, value
        elif isinstance(value, ast.Name) and value.id in calls:
            yield key, calls[value.id]
    for nested in _nested_functions(scope):
        still_seen = lists - _bound_names(nested)
        if still_seen:
            yield from _cell_writes(nested, still_seen)


def _local_lists(function: ast.AST) -> Set[str]:
    names: Set[str] = set()
    for node in _scope_nodes(function):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.List):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
    return names


def _list_items(function: ast.AST, lists: Set[str]) -> Iterator[Tuple[str, ast.Call]]:
    """``_closure = [open(path), 0]``: the cells' first values."""
    for node in _scope_nodes(function):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.List):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id in lists:
                    for position, item in enumerate(node.value.elts):
                        if isinstance(item, ast.Call):
                            yield "%s[%d]" % (target.id, position), item


def _bound_names(function: ast.AST) -> Set[str]:
    args = getattr(function, "args", None)
    names = {arg.arg for arg in ast.walk(args) if isinstance(arg, ast.arg)} if args is not None else set()
    for node in _scope_nodes(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def _nested_functions(function: ast.AST) -> Iterator[ast.AST]:
    """The functions defined directly in ``function`` (also inside its blocks)."""
    stack = list(getattr(function, "body", []))
    while stack:
        node = stack.pop()
        if isinstance(node, _FUNCTIONS):
            yield node
        elif not isinstance(node, (ast.Lambda, ast.ClassDef)):
            stack.extend(children(node))

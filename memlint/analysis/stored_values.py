"""Which names a statement stores into an object or a container (``ast``; the project index).

``self._clients[key] = client`` and ``_local.conn = conn`` keep the value in state that
outlives the call (an object's, or the module's: a global ``threading.local()``, a module
dict): a function that then returns it hands out a borrowed reference, not a fresh resource
of its caller's (realcode TUNING-NOTES 64.1). The same holds for the pairwise store of a
tuple assignment, ``_local.conn, _local.path = conn, target``. The stage-3 twin for the
checked file itself is ``local_resources._keeps_bound_value`` (libcst).
"""

from __future__ import annotations

import ast
from typing import List, Set


def stored_names(targets: List[ast.AST], value: ast.AST) -> Set[str]:
    """The names of ``value`` that an assignment to ``targets`` stores on an attribute or
    into a subscript (``x.a = name``; ``x.a, x.b = name, other`` item by item)."""
    kept: Set[str] = set()
    if isinstance(value, ast.Name):
        if any(isinstance(t, (ast.Attribute, ast.Subscript)) for t in targets):
            kept.add(value.id)
        return kept
    if not isinstance(value, (ast.Tuple, ast.List)):
        return kept
    for target in targets:
        if not isinstance(target, (ast.Tuple, ast.List)) or len(target.elts) != len(value.elts):
            continue
        if any(isinstance(item, ast.Starred) for item in target.elts + value.elts):
            continue
        for slot, item in zip(target.elts, value.elts):
            if isinstance(slot, (ast.Attribute, ast.Subscript)) and isinstance(item, ast.Name):
                kept.add(item.id)
    return kept

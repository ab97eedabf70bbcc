"""Which attributes of ``self`` a project class's own methods release, read with ``ast`` for
the project index (stage 0): a subclass in another module inherits those releases (MEM004).

A method may release the attribute directly (``self.sock.close()``), through a property that
returns it (``self.connection.close()`` with ``connection`` returning ``self._conn``), or
through a local name that holds it (``client = getattr(self, "client", None)`` ...
``client.close()``; ``conn = self._conn`` ... ``conn.close()``). A local name counts only when
the method binds it once and from that attribute alone: a name bound again may hold
something else when it is released.
"""

from __future__ import annotations

import ast
from typing import Dict, Optional

from memlint.analysis.ast_scopes import walk
from memlint.analysis.resources import ANY_RELEASE_METHODS


def released_attributes(node: ast.AST) -> Dict[str, str]:
    """Attributes of ``self`` a class's own methods release, each with the first method that
    does (``__del__`` aside: a finaliser runs when nobody holds the object any more)."""
    if not isinstance(node, ast.ClassDef):
        return {}
    properties: Dict[str, str] = {}
    for item in node.body:
        if isinstance(item, ast.FunctionDef) and any(getattr(d, "id", "") == "property" for d in item.decorator_list):
            for found in walk(item):
                value = found.value if isinstance(found, ast.Return) else None
                attr = _self_attribute(value)
                if attr is not None:
                    properties[item.name] = attr
    released: Dict[str, str] = {}
    for item in node.body:
        if not isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) or item.name == "__del__":
            continue
        # Read only for a method that releases a local name (few do): a walk of its own.
        holders: Optional[Dict[str, str]] = None
        for found in walk(item):
            func = found.func if isinstance(found, ast.Call) else None
            if not (isinstance(func, ast.Attribute) and func.attr in ANY_RELEASE_METHODS):
                continue
            held = func.value
            attr = _self_attribute(held)
            if attr is None and isinstance(held, ast.Name):
                if holders is None:
                    holders = _local_holders(item)
                attr = holders.get(held.id)
            if attr is None:
                continue
            released.setdefault(attr, item.name)
            if attr in properties:
                released.setdefault(properties[attr], item.name)
    return released


def _self_attribute(value: Optional[ast.AST]) -> Optional[str]:
    """``self.x`` -> ``"x"``; ``getattr(self, "x")`` or ``getattr(self, "x", None)`` -> ``"x"``."""
    if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) and value.value.id == "self":
        return value.attr
    if (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id == "getattr"
        and len(value.args) in (2, 3)
        and isinstance(value.args[0], ast.Name)
        and value.args[0].id == "self"
        and isinstance(value.args[1], ast.Constant)
        and isinstance(value.args[1].value, str)
    ):
        return value.args[1].value
    return None


def _local_holders(method: ast.AST) -> Dict[str, str]:
    """Local names of ``method`` bound exactly once, by a plain assignment of one attribute of
    ``self``: the name is that attribute wherever it is released."""
    bindings: Dict[str, int] = {}
    holders: Dict[str, str] = {}
    for found in walk(method):
        if isinstance(found, ast.Name) and isinstance(found.ctx, (ast.Store, ast.Del)):
            bindings[found.id] = bindings.get(found.id, 0) + 1
        elif isinstance(found, ast.arg):
            bindings[found.arg] = bindings.get(found.arg, 0) + 1
        if isinstance(found, ast.Assign) and len(found.targets) == 1 and isinstance(found.targets[0], ast.Name):
            attr = _self_attribute(found.value)
            if attr is not None:
                holders[found.targets[0].id] = attr
    return {name: attr for name, attr in holders.items() if bindings.get(name) == 1}

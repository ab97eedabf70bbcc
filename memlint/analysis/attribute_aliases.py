"""Which attributes of ``self`` a local name may hold after ``name = <expression>``.

The ownership stage counts a method as releasing (or handing out) ``self.x`` when it closes,
or passes to a call, a local name that holds ``self.x``. A name holds the attribute itself
(``conn = self.conn``, ``getattr(self, "conn", None)``), an item of it (``self.conns[k]``,
``self.conns.pop()``), or something built around it (``ctx.wrap_socket(self.sock)``,
``list(self.conns.values())``). It does not hold what a method *of* the attribute returns:
``rows = self.connection.execute(sql)`` is a cursor, and handing ``rows`` on leaves the
connection where it was. Counting it made a copying helper a "releaser" of the connection,
so storing the helper's new connection on ``self`` looked like a registration the caller
still had to release.
"""

from __future__ import annotations

from typing import Set

import libcst as cst

from memlint.analysis.names import dotted, self_attribute

# Methods that give back the container's own items (or a view of them), not a new object.
ITEM_METHODS = frozenset(
    {"pop", "popleft", "popitem", "get", "setdefault", "values", "items", "keys", "copy", "__getitem__"}
)


def self_attrs_held_by(node: cst.CSTNode) -> Set[str]:
    """The attributes of ``self`` that the value of ``node`` may be, contain or wrap."""
    found: Set[str] = set()
    attr = self_attribute(node)
    if attr:
        found.add(attr)
        return found
    if isinstance(node, cst.Call):
        func = node.func
        args = node.args
        if dotted(func) == "getattr" and len(args) >= 2 and dotted(args[0].value) == "self":
            name = args[1].value
            if isinstance(name, cst.SimpleString) and isinstance(name.evaluated_value, str):
                found.add(name.evaluated_value)
            return found
        if isinstance(func, cst.Attribute) and func.attr.value in ITEM_METHODS:
            found |= self_attrs_held_by(func.value)
        elif not isinstance(func, cst.Attribute) or self_attribute(func.value) is None:
            # A function or a method of something else: what it builds may wrap its arguments.
            found |= self_attrs_held_by(func) if isinstance(func, cst.Attribute) else set()
        for arg in args:
            found |= self_attrs_held_by(arg.value)
        return found
    if isinstance(node, cst.Attribute):
        return self_attrs_held_by(node.value)  # ``self.conn.sock``: a part of ``self.conn``
    if isinstance(node, cst.Subscript):
        return self_attrs_held_by(node.value)
    for child in node.children:
        if isinstance(child, cst.BaseExpression):
            found |= self_attrs_held_by(child)
        else:
            for grandchild in child.children:
                if isinstance(grandchild, cst.BaseExpression):
                    found |= self_attrs_held_by(grandchild)
    return found

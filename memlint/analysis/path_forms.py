"""Rebinding a path's name to another form of the same path keeps the path.

``temp = temp.encode("utf-8")``, ``temp = temp.decode(enc)``, ``path = Path(path)``,
``path = str(path)``, ``path = os.path.abspath(path)``, ``path = os.path.expanduser(path)``,
``path = path.resolve()``: the name now holds the same file or directory, spelled as bytes,
str or a Path; removing it later removes what was made. Only a one-argument wrapper of the knowledge's ``[paths] wrappers``
(``os.path.join(temp, "x")`` with more arguments is another path) or a method that
re-spells the whole path (str/bytes ``encode``/``decode``; a Path's ``resolve``,
``absolute``, ``expanduser``) counts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Set

import libcst as cst

from memlint.analysis.names import dotted
from memlint.analysis.resources import PATH_WRAPPERS, SAME_PATH_METHODS, ResourceSpec

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ModuleContext

# The whole path again: a Path made absolute or expanded (the knowledge's ``[paths]
# same_path_methods``), or a str path spelled as bytes and back.
_SAME_PATH_METHODS = SAME_PATH_METHODS | frozenset({"encode", "decode"})


# Kinds whose ``__enter__`` returns the object itself, as the standard library documents for
# io.IOBase and socket.socket: ``fd = fd.__enter__()`` keeps the same file.
_ENTER_RETURNS_SELF = frozenset({"file", "socket"})


def rebinds_same_object(ctx: "ModuleContext", node: cst.CSTNode, names: Set[str], spec: ResourceSpec) -> bool:
    """``node`` is ``name = <the same object in another form>`` for a name of the followed
    resource: a path re-spelled (below), or ``f = f.__enter__()`` of a file or socket."""
    if not isinstance(node, (cst.Assign, cst.AnnAssign)) or node.value is None:
        return False
    targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
    if not all(isinstance(t, cst.Name) and t.value in names for t in targets):
        return False
    value = node.value
    if not isinstance(value, cst.Call):
        return False
    func = value.func
    if not spec.is_path:
        return (
            spec.model in _ENTER_RETURNS_SELF and not value.args and isinstance(func, cst.Attribute)
            and func.attr.value == "__enter__" and dotted(func.value) in names
        )
    if len(value.args) == 1 and value.args[0].keyword is None and not value.args[0].star:
        # Checked first: ``os.path.expanduser(path)`` is a wrapper, not a method of a path.
        if (ctx.resolve(func) or "") in PATH_WRAPPERS and dotted(value.args[0].value) in names:
            return True
    if isinstance(func, cst.Attribute) and func.attr.value in _SAME_PATH_METHODS:
        return dotted(func.value) in names and all(arg.keyword is not None or isinstance(arg.value, (cst.SimpleString, cst.Name, cst.Call)) for arg in value.args)
    return False

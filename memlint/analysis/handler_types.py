"""What the ``except`` clauses of a ``try`` say about the exceptions that get past them.

An exception that leaves ``try: ... except OSError: ...`` unhandled is not an OSError, so
a ``try`` right around it whose handlers catch only OSError does not catch it either: it
goes on out. Without this, the idiom below looked as if a failure the inner handler lets
through (a TypeError, say) reached the outer handler's ``return`` with the temporary file
still there::

    try:
        fd, tmp = tempfile.mkstemp()
        try:
            ...
        except OSError:
            os.unlink(tmp)
            raise
    except OSError:
        return None

Also here: the collections an ``except`` block fills, for the retry-loop check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, FrozenSet, Optional, Set

import libcst as cst

from memlint.analysis.names import block_of, dotted
from memlint.analysis.resources import OS_ERROR_NAMES
from memlint.analysis.walk import find

if TYPE_CHECKING:
    from memlint.analysis.facts import ModuleContext


def handler_names(ctx: "ModuleContext", node: cst.CSTNode) -> Optional[FrozenSet[str]]:
    """The exception names the handlers of ``node`` catch (the OSError aliases as one), or
    None when one of them catches everything or names something unreadable."""
    names: Set[str] = set()
    for handler in node.handlers:  # type: ignore[attr-defined]
        kind = handler.type
        if kind is None:
            return None
        for element in kind.elements if isinstance(kind, cst.Tuple) else [kind]:
            name = element.value if isinstance(element, cst.Element) else element
            qualified = ctx.resolve(name) or dotted(name)
            if not qualified:
                return None
            names.add("OSError" if qualified in OS_ERROR_NAMES else qualified)
    return frozenset(names)


def passes_enclosing_handlers(ctx: "ModuleContext", node: cst.CSTNode, enclosing: Optional[cst.CSTNode]) -> bool:
    """True when what escapes the handlers of ``node`` cannot be caught by those of the
    ``try`` whose body holds ``node`` directly: they catch no type ``node``'s do not."""
    if enclosing is None or not getattr(enclosing, "handlers", None) or not node.handlers:  # type: ignore[attr-defined]
        return False
    if not any(statement is node for statement in block_of(enclosing.body)):  # type: ignore[attr-defined]
        return False
    inner, outer = handler_names(ctx, node), handler_names(ctx, enclosing)
    return inner is not None and outer is not None and outer <= inner


def collections_filled(body: cst.BaseSuite) -> Set[str]:
    """Names of collections that ``body`` adds to: ``errors.append(e)``, ``errors[a] = e``."""
    filled: Set[str] = set()
    for call, _ in find(body, (cst.Call,)):
        func = call.func  # type: ignore[attr-defined]
        if isinstance(func, cst.Attribute) and func.attr.value in ("append", "add", "extend", "insert", "update"):
            if isinstance(func.value, cst.Name):
                filled.add(func.value.value)
    for assign, _ in find(body, (cst.Assign, cst.AugAssign)):
        targets = [t.target for t in assign.targets] if isinstance(assign, cst.Assign) else [assign.target]  # type: ignore[attr-defined]
        for target in targets:
            if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name):
                filled.add(target.value.value)
            elif isinstance(assign, cst.AugAssign) and isinstance(target, cst.Name):
                filled.add(target.value)
    return filled

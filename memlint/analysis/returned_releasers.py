"""Factories that give the resource back together with the functions that release it.

``f, commit, abort = self.add_pack()`` where ``add_pack`` ends with ``return f, commit,
abort`` and ``commit``/``abort`` are functions nested in it that close ``f`` (a closure
sees the very object it captured): calling ``commit()`` or ``abort()`` in the caller
releases ``f`` as surely as ``f.close()`` would (check-4 dulwich ``add_pack_data``). Only a
callee whose body is in plain sight (a function of this module, a method of the class
being analysed called on ``self``), whose every ``return`` is a tuple of the same length,
and a nested function that releases the returned name on every way out of its body (at its
top level, in a top-level ``finally``, or in both branches of an ``if``/``else``, with no
``return`` before) counts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, FrozenSet, Optional, Sequence, Set

import libcst as cst

from memlint.analysis.facts import is_generator, local_callee
from memlint.analysis.names import block_of, dotted
from memlint.analysis.walk import find

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ModuleContext

_NESTED = (cst.FunctionDef, cst.Lambda, cst.ClassDef)


def partner_releasers(ctx: "ModuleContext", call: cst.Call, statement: cst.CSTNode, name: str, release: FrozenSet[str]) -> Set[str]:
    """The names ``statement`` (``f, commit, abort = factory()``) binds to functions that
    release what it binds to ``name``."""
    targets = _tuple_targets(statement, call)
    if targets is None or name not in targets:
        return set()
    function = local_callee(ctx, call.func)
    if function is None or is_generator(function):
        return set()
    returned = _returned_tuple(function, len(targets))
    if returned is None:
        return set()
    held = returned[targets.index(name)]
    if held is None:
        return set()
    nested: Dict[str, cst.FunctionDef] = {
        node.name.value: node for node in block_of(function.body) if isinstance(node, cst.FunctionDef)
    }
    found = set()
    for target, item in zip(targets, returned):
        if target and target != name and item in nested and _always_releases(block_of(nested[item].body), held, release):
            found.add(target)
    return found


def _tuple_targets(statement: cst.CSTNode, call: cst.Call) -> Optional[list]:
    """The names an assignment of ``call`` unpacks it into ("" for a target that is no name)."""
    smalls = getattr(statement, "body", ()) if isinstance(statement, (cst.SimpleStatementLine, cst.SimpleStatementSuite)) else (statement,)
    for small in smalls:
        value = small.value.expression if isinstance(getattr(small, "value", None), cst.Await) else getattr(small, "value", None)
        if isinstance(small, cst.Assign) and value is call and len(small.targets) == 1:
            target = small.targets[0].target
            if isinstance(target, (cst.Tuple, cst.List)) and not any(isinstance(e, cst.StarredElement) for e in target.elements):
                return [e.value.value if isinstance(e.value, cst.Name) else "" for e in target.elements]
    return None


def _returned_tuple(function: cst.FunctionDef, size: int) -> Optional[list]:
    """The names in the tuple every ``return`` of ``function`` gives (None in a place that
    is not a plain name), when all of them give a tuple of ``size`` items."""
    shapes = []
    for node, path in find(function.body, (cst.Return,)):
        if any(isinstance(p, _NESTED) for p in path):
            continue
        value = node.value  # type: ignore[attr-defined]
        if not isinstance(value, cst.Tuple) or len(value.elements) != size:
            return None
        shapes.append([e.value.value if isinstance(e.value, cst.Name) else None for e in value.elements])
    if not shapes or any(shape != shapes[0] for shape in shapes):
        return None
    return shapes[0]


def _always_releases(block: Sequence[cst.CSTNode], name: str, release: FrozenSet[str]) -> bool:
    for statement in block:
        if isinstance(statement, cst.Try) and statement.finalbody is not None:
            if _always_releases(block_of(statement.finalbody.body), name, release):
                return True
        if isinstance(statement, cst.If) and isinstance(statement.orelse, cst.Else):
            if _always_releases(block_of(statement.body), name, release) and _always_releases(
                block_of(statement.orelse.body), name, release
            ):
                return True
        if isinstance(statement, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            if any(_releases(small, name, release) for small in statement.body):
                return True
        if any(not any(isinstance(p, _NESTED) for p in path) for _node, path in find(statement, (cst.Return,))):
            return False  # a way out before the release
    return False


def _releases(small: cst.CSTNode, name: str, release: FrozenSet[str]) -> bool:
    if not isinstance(small, cst.Expr):
        return False
    value = small.value.expression if isinstance(small.value, cst.Await) else small.value
    return (
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Attribute)
        and value.func.attr.value in release
        and dotted(value.func.value) == name
    )

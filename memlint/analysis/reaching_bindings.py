"""The value a local name holds at a call: its last plain assignment before the call on the
straight-line path to it.

``img = BytesIO(img); img = Image.open(img)`` opens an image over a buffer in memory, even
though ``img`` is bound three times in the function (bytes, buffer, image). Asking whether
*every* binding of the name is a buffer says no; asking which binding reaches the call says
yes. Only bindings that surely reach are read: the statements before the call in its own
block, then before the enclosing statement in the block around it, climbing only out of
blocks that run at most once and after what precedes them (an ``if``/``else`` branch, a
``with`` or ``try`` body). A loop body (a later binding may come round again), an
``except``/``finally`` block (the ``try`` body may have rebound the name), or any statement
in between that could rebind the name in a way not read here (a tuple target, a walrus, a
``for``, a nested block mentioning the name) makes the answer unknown.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple, Union

import libcst as cst

from memlint.analysis.names import block_of
from memlint.analysis.walk import find

# The answer when no binding surely reaches the call.
UNKNOWN = None
# What reaches: the assigned value, or a marker that the name is bound another way.
Reaching = Union[cst.BaseExpression, str, None]
_OTHER = "other-binding"

# Compound statements whose blocks run once, after the statements before them.
_STRAIGHT_OWNERS = (cst.If, cst.Else, cst.With, cst.Try, cst.TryStar)


def reaching_value(body: Sequence[cst.CSTNode], call: cst.CSTNode, name: str) -> Reaching:
    """The value ``name`` was last assigned before ``call`` (an expression node), or
    ``UNKNOWN`` when that cannot be read surely (see the module's docstring)."""
    chain = _block_chain(body, call, (), "function")
    if chain is None:
        return UNKNOWN
    for statements, index, owner_kind in reversed(chain):
        for statement in reversed(statements[:index]):
            found = _binding_in(statement, name)
            if found is _OTHER:
                return UNKNOWN
            if found is not None:
                return found
        if owner_kind not in ("straight", "function"):
            return UNKNOWN
    return UNKNOWN


def _block_chain(
    statements: Sequence[cst.CSTNode], call: cst.CSTNode, outer: Tuple, owner_kind: str
) -> Optional[List[Tuple[Sequence[cst.CSTNode], int, str]]]:
    """[(block, index of the statement holding the call, how that block is entered)], from
    the function's body down to the innermost block; None when the call is not found."""
    for index, statement in enumerate(statements):
        if not _contains(statement, call):
            continue
        here = list(outer) + [(statements, index, owner_kind)]
        for block, kind in _blocks_of(statement):
            deeper = _block_chain(block, call, tuple(here), kind)
            if deeper is not None:
                return deeper
        return here  # the call is in the statement's own header or small statements
    return None


def _blocks_of(statement: cst.CSTNode) -> List[Tuple[Sequence[cst.CSTNode], str]]:
    if isinstance(statement, (cst.SimpleStatementLine, cst.SimpleStatementSuite, cst.FunctionDef, cst.ClassDef)):
        return []
    found: List[Tuple[Sequence[cst.CSTNode], str]] = []
    if isinstance(statement, cst.If):
        found.append((block_of(statement.body), "straight"))
        if isinstance(statement.orelse, cst.If):
            found.append(((statement.orelse,), "straight"))
        elif statement.orelse is not None:
            found.append((block_of(statement.orelse.body), "straight"))
    elif isinstance(statement, (cst.With, cst.Try, cst.TryStar)):
        found.append((block_of(statement.body), "straight"))
        for handler in getattr(statement, "handlers", ()):
            found.append((block_of(handler.body), "handler"))
        for extra in (getattr(statement, "orelse", None), getattr(statement, "finalbody", None)):
            if extra is not None:
                found.append((block_of(extra.body), "handler"))
    else:  # loops, match, anything else: entered more than once or in ways not read here
        for attr in ("body", "orelse"):
            part = getattr(statement, attr, None)
            if isinstance(part, (cst.IndentedBlock, cst.SimpleStatementSuite)):
                found.append((block_of(part), "loop"))
            elif part is not None and hasattr(part, "body"):
                found.append((block_of(part.body), "loop"))
    return found


def _contains(statement: cst.CSTNode, node: cst.CSTNode) -> bool:
    if statement is node:
        return True
    return any(found is node for found, _path in find(statement, (type(node),)))


def _binding_in(statement: cst.CSTNode, name: str) -> Union[cst.BaseExpression, str, None]:
    """The value of the last plain ``name = value`` in a simple statement line; ``_OTHER``
    when the statement may bind ``name`` some other way; None when it does not bind it."""
    if not isinstance(statement, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
        mentioned = any(isinstance(n, cst.Name) and n.value == name for n, _p in find(statement, (cst.Name,)))
        return _OTHER if mentioned else None
    for small in reversed(list(statement.body)):
        if isinstance(small, cst.Assign):
            if any(isinstance(t.target, cst.Name) and t.target.value == name for t in small.targets):
                return small.value
            if any(_mentions(t.target, name) for t in small.targets):
                return _OTHER  # ``a, img = ...``
        elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name) and small.target.value == name:
            return small.value if small.value is not None else None
        elif isinstance(small, (cst.AugAssign, cst.Del, cst.Import, cst.ImportFrom, cst.Global, cst.Nonlocal)):
            if _mentions(small, name):
                return _OTHER
        if any(_mentions(n.target, name) for n, _p in find(small, (cst.NamedExpr,))):
            return _OTHER
    return None


def _mentions(node: cst.CSTNode, name: str) -> bool:
    if isinstance(node, cst.Name):
        return node.value == name
    return any(isinstance(n, cst.Name) and n.value == name for n, _p in find(node, (cst.Name,)))

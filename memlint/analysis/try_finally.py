"""Stage 8, hand-written releases: an acquisition bound to one name and directly followed
by a ``try`` whose ``finally`` does nothing but release it (the ``HandWrittenRelease`` fact).
"""

from __future__ import annotations

from typing import Iterable, List, Optional, Tuple

import libcst as cst

from memlint.analysis.facts import SMALL_CONTAINERS, ModuleContext
from memlint.analysis.model import Acquisition, HandWrittenRelease
from memlint.analysis.names import block_of, child_blocks, dotted, iter_statements
from memlint.analysis.resources import ANY_RELEASE_METHODS


def hand_written_releases(ctx: ModuleContext, acquisitions: List[Acquisition]) -> List[HandWrittenRelease]:
    """A try/finally that only releases what was acquired just before, per acquisition."""
    facts = []
    for acquisition in acquisitions:
        statement = acquisition.statement
        if not isinstance(statement, cst.Assign) or len(acquisition.names) != 1:
            continue
        name = acquisition.names[0]
        block = _block_containing(acquisition.scope, statement)
        if block is None:
            continue
        statements, index = block
        if index + 1 >= len(statements):
            continue
        following = statements[index + 1]
        if not isinstance(following, cst.Try) or following.handlers or following.orelse or following.finalbody is None:
            continue
        final = block_of(following.finalbody.body)
        if final and all(_is_release_of(ctx, s, name) for s in final):
            facts.append(HandWrittenRelease(acquisition, name))
    return facts


def _block_containing(scope: Optional[cst.CSTNode], small: cst.CSTNode) -> Optional[Tuple[List[cst.CSTNode], int]]:
    if scope is None:
        return None
    body = list(scope.body) if isinstance(scope, cst.Module) else list(block_of(scope.body))  # type: ignore[attr-defined]
    for statement in iter_statements(body, into_functions=False):
        for block in _blocks_of(statement):
            for index, item in enumerate(block):
                if isinstance(item, SMALL_CONTAINERS) and small in item.body and len(item.body) == 1:
                    return list(block), index
    for index, item in enumerate(body):
        if isinstance(item, SMALL_CONTAINERS) and small in item.body and len(item.body) == 1:
            return body, index
    return None


def _blocks_of(statement: cst.CSTNode) -> Iterable[Tuple[cst.CSTNode, ...]]:
    for block in child_blocks(statement, into_functions=False):
        yield tuple(block)


def _is_release_of(ctx: ModuleContext, statement: cst.CSTNode, name: str) -> bool:
    if isinstance(statement, cst.If) and statement.orelse is None:
        return all(_is_release_of(ctx, s, name) for s in block_of(statement.body))
    if not isinstance(statement, SMALL_CONTAINERS) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    if not isinstance(small, cst.Expr):
        return False
    value = small.value.expression if isinstance(small.value, cst.Await) else small.value
    if not isinstance(value, cst.Call) or not isinstance(value.func, cst.Attribute):
        return False
    return value.func.attr.value in ANY_RELEASE_METHODS and dotted(value.func.value) == name

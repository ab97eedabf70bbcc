"""The ``self.m()`` calls a function can still make after one of its statements.

Storing a resource on ``self`` hands it to the object, unless the same method goes on to
call the object's release method (it then keeps the responsibility: ``self.sock = s``
followed by ``self.close()`` in its ``finally``). A release call the method can no longer
reach from the store takes nothing on: in

    if self.passive:
        conn, addr = self.socket.accept()
        self.socket = conn
        return
    ...
    self.disconnect()

the ``disconnect()`` after the ``if`` never runs after the store, whose branch returned.

The answer over-approximates what is reached (every call of a later statement counts,
whatever branch it is in; a loop around the store reaches its whole body again; the
handlers and ``finally`` of a ``try`` around it count), so a method is never let off a
release it can really still make.
"""

from __future__ import annotations

from typing import List, Optional, Set, Tuple

import libcst as cst

from memlint.analysis.walk import find

_LOOPS = (cst.For, cst.While)


def self_calls_after(body: List[cst.CSTNode], statement: cst.CSTNode) -> Optional[Set[str]]:
    """The names ``m`` of the ``self.m()`` calls that may run after ``statement`` (a
    statement of ``body``, at any depth). None when ``statement`` is not found there."""
    chain = _chain_to(body, statement)
    if chain is None:
        return None
    reached: Set[str] = set()
    stopped = False
    for owner, block, index in reversed(chain):
        if isinstance(owner, _LOOPS):
            reached |= _self_calls(owner)  # the next iteration runs the whole loop again
        elif isinstance(owner, cst.Try):
            reached |= _self_calls_of_parts(owner.handlers, owner.orelse, owner.finalbody)
        elif isinstance(owner, cst.ExceptHandler) or isinstance(owner, cst.Else):
            pass  # the ``try`` level above adds its ``finally``
        if stopped:
            continue
        for later in block[index + 1 :]:
            reached |= _self_calls(later)
            if _ends_the_block(later):
                stopped = True  # what follows this block is not reached from the store
                break
    return reached


def _chain_to(
    body: List[cst.CSTNode], statement: cst.CSTNode
) -> Optional[List[Tuple[Optional[cst.CSTNode], List[cst.CSTNode], int]]]:
    """(the compound statement or clause owning the block, the block, the index in it)
    from the function body down to ``statement``."""
    for index, item in enumerate(body):
        if item is statement or _holds(item, statement) and not _is_compound(item):
            return [(None, body, index)]
        if _is_compound(item) and _holds(item, statement):
            for owner, inner in _blocks_of(item):
                found = _chain_to(inner, statement)
                if found is not None:
                    return [(None, body, index)] + [(owner, found[0][1], found[0][2])] + found[1:]
            return [(None, body, index)]
    return None


def _holds(node: cst.CSTNode, target: cst.CSTNode) -> bool:
    return any(found is target for found, _ in find(node, (type(target),), stop=()))


def _is_compound(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.BaseCompoundStatement)


def _blocks_of(node: cst.CSTNode) -> List[Tuple[cst.CSTNode, List[cst.CSTNode]]]:
    """The statement lists of a compound statement, each with the node that owns it."""
    blocks: List[Tuple[cst.CSTNode, List[cst.CSTNode]]] = []
    if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
        return blocks  # a nested definition runs later, not as a part of this path
    body = getattr(node, "body", None)
    if isinstance(body, cst.BaseSuite):
        blocks.append((node, _statements(body)))
    for handler in getattr(node, "handlers", ()) or ():
        blocks.append((handler, _statements(handler.body)))
    orelse = getattr(node, "orelse", None)
    if isinstance(orelse, cst.If):
        blocks.append((node, [orelse]))
    elif orelse is not None:
        blocks.append((orelse, _statements(orelse.body)))
    finalbody = getattr(node, "finalbody", None)
    if finalbody is not None:
        blocks.append((finalbody, _statements(finalbody.body)))
    return blocks


def _statements(suite: cst.BaseSuite) -> List[cst.CSTNode]:
    if isinstance(suite, cst.IndentedBlock):
        return list(suite.body)
    return [suite]


def _ends_the_block(statement: cst.CSTNode) -> bool:
    """A ``return`` or ``raise`` written at this level: nothing after it runs."""
    if isinstance(statement, cst.SimpleStatementLine):
        return any(isinstance(small, (cst.Return, cst.Raise)) for small in statement.body)
    return False


def _self_calls(node: cst.CSTNode) -> Set[str]:
    names: Set[str] = set()
    for call, _ in find(node, (cst.Call,), stop=()):
        func = call.func  # type: ignore[attr-defined]
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self":
            names.add(func.attr.value)
    return names


def _self_calls_of_parts(handlers: Tuple[cst.ExceptHandler, ...], orelse: Optional[cst.CSTNode], finalbody: Optional[cst.CSTNode]) -> Set[str]:
    names: Set[str] = set()
    for part in (*handlers, orelse, finalbody):
        if part is not None:
            names |= _self_calls(part)
    return names

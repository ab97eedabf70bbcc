"""Functions of the module that cannot raise: MEM003's raise model for module-local calls.

A module-level function whose work all sits in a ``try`` with a handler for every
``Exception`` (bare ``except:``, ``except Exception``, ``except BaseException``) that does
not raise again, around which only plain values are computed and returned, hands every
failure back as a value (``_ioctl_GWINSZ(fd)`` returns None). A call of it is no exception
path. Only what this module shows is used; functions of other modules stay unknown.
"""

from __future__ import annotations

from typing import Dict

import libcst as cst

from memlint.analysis.names import block_of, dotted
from memlint.analysis.walk import find

_BROAD = frozenset({"Exception", "BaseException"})
_verdicts: Dict[int, bool] = {}


def cannot_raise(function: cst.FunctionDef) -> bool:
    """Whether every failure inside ``function`` is caught and turned into a value."""
    key = id(function)
    if key not in _verdicts:
        if len(_verdicts) > 4096:
            _verdicts.clear()  # ids are reused once a module's tree is gone
        _verdicts[key] = _all_caught(function)
    return _verdicts[key]


def _all_caught(function: cst.FunctionDef) -> bool:
    statements = list(block_of(function.body))
    guarded = False
    for statement in statements:
        if isinstance(statement, cst.Try):
            if not _catches_everything(statement):
                return False
            guarded = True
        elif isinstance(statement, cst.SimpleStatementLine):
            if not all(_plain(small) for small in statement.body):
                return False
        else:
            return False
    return guarded


def _catches_everything(node: cst.Try) -> bool:
    if node.finalbody is not None or node.orelse is not None:
        return False
    broad = [h for h in node.handlers if h.type is None or (dotted(h.type) or "").rsplit(".", 1)[-1] in _BROAD]
    if not broad:
        return False
    return not any(True for _ in find(_handlers_block(node), (cst.Raise, cst.Call)))


def _handlers_block(node: cst.Try) -> cst.CSTNode:
    """The handlers' bodies as one node to search (a raise or a call there may fail again)."""
    return cst.IndentedBlock(body=[s for h in node.handlers for s in block_of(h.body)])


def _plain(small: cst.BaseSmallStatement) -> bool:
    """A statement that only computes plain values: no call with a non-literal argument,
    no subscript (a KeyError), no raise."""
    if isinstance(small, (cst.Pass, cst.Raise)):
        return isinstance(small, cst.Pass)
    if isinstance(small, cst.Expr) and isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString)):
        return True  # the docstring
    if not isinstance(small, (cst.Return, cst.Assign, cst.AnnAssign)):
        return False
    for found, _ in find(small, (cst.Call, cst.Subscript, cst.Await)):
        if not isinstance(found, cst.Call):
            return False
        # ``Struct("HHHH")``: a constructor fed only literals fails only on a programming error.
        if not all(isinstance(arg.value, (cst.SimpleString, cst.Integer, cst.Float)) for arg in found.args):
            return False
    return True

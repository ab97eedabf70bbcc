"""Functions of the module that cannot raise: MEM003's raise model for module-local calls.

Two shapes, read from the function's own body (functions of other modules stay unknown):
- its work all sits in a ``try`` with a handler for every ``Exception`` (bare ``except:``,
  ``except Exception``, ``except BaseException``) that does not raise again, around which
  only plain values are computed and returned: every failure comes back as a value
  (``_ioctl_GWINSZ(fd)`` returns None);
- it only builds plain values: assignments, ``if``/``else`` and returns whose calls are all
  taken not to raise (``headers.update({...})``, ``str(...)``), as a method that assembles
  request headers from the object's settings.
A call of either is no exception path.
"""

from __future__ import annotations

from typing import Dict, Set

import libcst as cst

from memlint.analysis.names import block_of, dotted
from memlint.analysis.resources import LOGGING_METHODS, NON_RAISING_CALLS, NON_RAISING_METHODS
from memlint.analysis.walk import find

_BROAD = frozenset({"Exception", "BaseException"})


def cannot_raise(function: cst.FunctionDef, imported: Set[str], verdicts: Dict[int, bool]) -> bool:
    """Whether every failure inside ``function`` is caught and turned into a value, or it
    calls nothing that can fail. ``imported``: the module's imported names (``requests.get``
    is no ``dict.get``); ``verdicts``: the module's answers so far, by function id."""
    key = id(function)
    if key not in verdicts:
        verdicts[key] = _all_caught(function, imported)
    return verdicts[key]


def _all_caught(function: cst.FunctionDef, imported: Set[str]) -> bool:
    if isinstance(function.asynchronous, cst.Asynchronous) or function.decorators:
        return False
    statements = list(block_of(function.body))
    if any(isinstance(s, cst.Try) for s in statements):
        return all(
            _catches_everything(s) if isinstance(s, cst.Try) else _plain_line(s, imported, literal_calls_only=True)
            for s in statements
        )
    return _plain_block(statements, imported)


def _plain_block(statements, imported: Set[str]) -> bool:
    for statement in statements:
        if isinstance(statement, cst.If):
            if not _quiet_expression(statement.test, imported) or not _plain_block(block_of(statement.body), imported):
                return False
            orelse = statement.orelse
            if orelse is not None and not _plain_block(
                [orelse] if isinstance(orelse, cst.If) else block_of(orelse.body), imported
            ):
                return False
        elif not _plain_line(statement, imported, literal_calls_only=False):
            return False
    return True


def _plain_line(statement: cst.CSTNode, imported: Set[str], literal_calls_only: bool) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    return all(_plain(small, imported, literal_calls_only) for small in statement.body)


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


def _plain(small: cst.BaseSmallStatement, imported: Set[str], literal_calls_only: bool) -> bool:
    """A statement that only computes plain values: no raise, no subscript (a KeyError), and
    only calls that are taken not to raise (around a catch-all ``try``: calls fed only
    literals, such as ``Struct("HHHH")``, which fail only on a programming error)."""
    if isinstance(small, cst.Pass):
        return True
    if isinstance(small, cst.Expr) and isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString)):
        return True  # the docstring
    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call) and not literal_calls_only:
        return _quiet_expression(small.value, imported)
    if not isinstance(small, (cst.Return, cst.Assign, cst.AnnAssign)):
        return False
    if literal_calls_only:
        for found, _ in find(small, (cst.Call, cst.Subscript, cst.Await)):
            if not isinstance(found, cst.Call):
                return False
            if not all(isinstance(arg.value, (cst.SimpleString, cst.Integer, cst.Float)) for arg in found.args):
                return False
        return True
    return _quiet_expression(small, imported)


def _quiet_expression(node: cst.CSTNode, imported: Set[str]) -> bool:
    """No subscript, await or yield, and only calls known not to raise."""
    for found, _ in find(node, (cst.Call, cst.Subscript, cst.Await, cst.Yield)):
        if not isinstance(found, cst.Call):
            return False
        func = found.func
        name = dotted(func) or ""
        if name in NON_RAISING_CALLS:
            continue
        if isinstance(func, cst.Attribute) and func.attr.value in (NON_RAISING_METHODS | LOGGING_METHODS):
            root = func.value
            while isinstance(root, cst.Attribute):
                root = root.value
            if not (isinstance(root, cst.Name) and root.value in imported):
                continue  # ``headers.update(...)``, not ``requests.get(...)``
        return False
    return True

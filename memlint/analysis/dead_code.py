"""Statements that never run, so nothing they would acquire is ever acquired.

Python decides some branches from the source alone: the body of ``if False:`` / ``if 0:`` /
``if None:`` (and of ``while`` with such a test), the ``else`` of ``if True:``, and the body
of ``if TYPE_CHECKING:`` (``typing.TYPE_CHECKING`` is False whenever the program runs; only
type checkers read that block), and a branch taken only on Python 2 (``if
sys.version_info[0] < 3:``, ``if six.PY2:``, the ``else`` of ``if six.PY3:``;
``python_versions``). A statement that follows, in the same block, a ``return``, ``raise``,
``continue`` or ``break`` at that block's own level is never reached either. An
acquisition written in such a place is no acquisition at run time: no finding is made of it
(autobahn's example under ``if False:`` opened a certificate it never opens).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence

import libcst as cst

from memlint.analysis.python_versions import version_truth

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ModuleContext

_LEAVING = (cst.Return, cst.Raise, cst.Continue, cst.Break)


def constant_truth(test: cst.BaseExpression, ctx: Optional["ModuleContext"] = None) -> Optional[bool]:
    """The value of a test that is a literal (``False``, ``0``, ``None``, ``""``, ``True``,
    ``1``), ``not`` of one, or (given ``ctx``) ``typing.TYPE_CHECKING``; None otherwise."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        inner = constant_truth(test.expression, ctx)
        return None if inner is None else not inner
    if isinstance(test, cst.Name) and test.value in ("True", "False", "None"):
        return test.value == "True"
    if isinstance(test, (cst.Integer, cst.SimpleString)):
        return bool(test.evaluated_value)
    if ctx is not None and isinstance(test, (cst.Name, cst.Attribute)):
        if (ctx.resolve(test) or "") in ("typing.TYPE_CHECKING", "typing_extensions.TYPE_CHECKING"):
            return False
    return None if ctx is None else version_truth(ctx, test)


def never_runs(ctx: "ModuleContext", path: Sequence[cst.CSTNode]) -> bool:
    """Whether the node whose ancestors are ``path`` (outermost first) sits in a branch the
    source decides against, or after a statement that leaves its block."""
    for outer, inner in zip(path, path[1:]):
        if isinstance(outer, (cst.If, cst.While)) and inner is outer.body:
            if constant_truth(outer.test, ctx) is False:
                return True
        if isinstance(outer, cst.If) and inner is outer.orelse and constant_truth(outer.test, ctx) is True:
            return True
        if isinstance(outer, (cst.IndentedBlock, cst.Module)) and _after_leaving(outer.body, inner):
            return True
    return False


def _after_leaving(block: Sequence[cst.CSTNode], statement: cst.CSTNode) -> bool:
    for before in block:
        if before is statement:
            return False
        if isinstance(before, cst.SimpleStatementLine) and any(isinstance(small, _LEAVING) for small in before.body):
            return True
    return False

"""Tests of an attribute whose value an object just made is known to have.

``proc = subprocess.Popen(cmd, stdout=PIPE)`` then ``if proc.returncode is not None: raise
...``: ``returncode`` is set only once the child was reaped (by ``poll()``, ``wait()`` or
``communicate()``; a failed exec raises from ``Popen()`` itself), so on the object just made
it is None and the branch never runs. That is the knowledge of a model's
``released_when_not_none`` (not None only once released), read for an attribute (a call such
as ``proc.poll()`` may reap the child itself and is left alone).

Only the name the model's call bound in an earlier statement of the same block counts, with
no statement in between naming it (nothing can have waited for the child yet). The path
interpreter asks here, after ``decided_tests``, before it splits the paths at an ``if`` or a
``while``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Optional

import libcst as cst

from memlint.analysis.facts import SMALL_CONTAINERS
from memlint.analysis.released_tests import model_list, none_comparison
from memlint.analysis.walk import find

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ModuleContext


def fresh_attribute_test(
    ctx: "ModuleContext", previous: Dict[int, cst.CSTNode], before: Optional[cst.CSTNode], test: cst.BaseExpression
) -> Optional[bool]:
    """The value of ``test`` (``obj.attr is None``, ``is not None``, negated) right after
    ``before``, when ``obj`` is still the fresh object a statement before it made."""
    negated = False
    while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        test, negated = test.expression, not negated
    compared = none_comparison(test)
    if compared is None:
        return None
    value, asks_none = compared
    if not (isinstance(value, cst.Attribute) and isinstance(value.value, cst.Name)):
        return None
    name = value.value.value
    statement = before
    while statement is not None:
        made = _made_by(statement, name)
        if made is not None:
            if value.attr.value not in _none_while_fresh(ctx, made):
                return None
            return asks_none != negated
        if any(found.value == name for found, _ in find(statement, (cst.Name,), stop=())):  # type: ignore[attr-defined]
            return None
        statement = previous.get(id(statement))
    return None


def _made_by(statement: cst.CSTNode, name: str) -> Optional[cst.Call]:
    """The call of ``name = call(...)`` when that is the statement's last small statement."""
    if not isinstance(statement, SMALL_CONTAINERS) or not statement.body:
        return None
    last = statement.body[-1]
    if isinstance(last, cst.Assign) and len(last.targets) == 1 and isinstance(last.value, cst.Call):
        target = last.targets[0].target
        if isinstance(target, cst.Name) and target.value == name:
            return last.value
    return None


def _none_while_fresh(ctx: "ModuleContext", call: cst.Call) -> tuple:
    spec = ctx.table.get(ctx.resolve(call.func) or "")
    return model_list(spec, "released_when_not_none") if spec is not None else ()

"""Tests whose value the statement right before them decides.

``username = os.getenv("USER") or "root"`` makes ``if not username:`` false: an ``or`` whose
last operand is a non-empty literal is always truthy. ``if not name: name = ... or "root"``
leaves ``name`` truthy on both of its ways out. ``err = None`` makes ``while not err:`` true on
entry, so that loop runs its body at least once. The path interpreter asks here before it
splits the paths at an ``if`` (a branch that cannot run is not followed) and at a ``while``
(the loop cannot be left before its first turn).

Only the statement just before the test counts, in the same block, and only a test on a
plain local name (``x``, ``not x``, ``x is None``, ``x is not None``): nothing can run between
the binding and the test, so the value is known without following any other path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Optional, Sequence, Tuple

import libcst as cst

from memlint.analysis.dead_code import constant_truth
from memlint.analysis.facts import SMALL_CONTAINERS
from memlint.analysis.fresh_attributes import fresh_attribute_test
from memlint.analysis.names import block_of, child_blocks, iter_statements

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ModuleContext

# What is known of a name's value: always truthy (so not None either), None, falsy but not
# None (``False``, ``0``, ``""``), or only not None.
TRUTHY, NONE_VALUE, FALSY, NOT_NONE = "truthy", "none", "falsy", "not-none"


def previous_statements(body: Sequence[cst.CSTNode]) -> Dict[int, cst.CSTNode]:
    """By ``id`` of a statement: the statement just before it in its block (a function's own
    blocks; an ``elif`` has none: it is a block of its own)."""
    previous: Dict[int, cst.CSTNode] = {}

    def note(block: Sequence[cst.CSTNode]) -> None:
        for before, statement in zip(block, block[1:]):
            previous[id(statement)] = before

    note(list(body))
    for statement in iter_statements(list(body), into_functions=False):
        for block in child_blocks(statement, into_functions=False):
            note(list(block))
    return previous


def decided_after(ctx: "ModuleContext", previous: Dict[int, cst.CSTNode], node: cst.CSTNode) -> Optional[bool]:
    """The value of the test of ``node`` (an ``if``, a ``while``) where the interpreter meets it:
    decided by the statement before it, or by the object just made it reads (``fresh_attributes``)."""
    before = previous.get(id(node))
    answer = decided_test(before, node.test)  # type: ignore[attr-defined]
    return answer if answer is not None else fresh_attribute_test(ctx, previous, before, node.test)  # type: ignore[attr-defined]


def decided_test(before: Optional[cst.CSTNode], test: cst.BaseExpression) -> Optional[bool]:
    """The value of ``test`` right after ``before`` ran normally, if that statement decides it."""
    # ``if False:``, ``while 0:``: the body never runs. A true constant is left alone:
    # ``while True`` is read by the loop's own rules.
    if constant_truth(test) is False:
        return False
    shape = _shape(test)
    if shape is None or before is None:
        return None
    name, asks_none, negated = shape
    known = _value_after(before, name)
    if known is None:
        return None
    if asks_none:
        answer: Optional[bool] = known == NONE_VALUE
    else:
        answer = {TRUTHY: True, NONE_VALUE: False, FALSY: False}.get(known)
    if answer is None:
        return None
    return not answer if negated else answer


def _shape(test: cst.BaseExpression) -> Optional[Tuple[str, bool, bool]]:
    """``(name, asks whether it is None, negated)`` for the tests read here."""
    negated = False
    while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        test, negated = test.expression, not negated
    if isinstance(test, cst.Name) and test.value not in ("True", "False", "None"):
        return test.value, False, negated
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1 and isinstance(test.left, cst.Name):
        target = test.comparisons[0]
        if isinstance(target.comparator, cst.Name) and target.comparator.value == "None":
            if isinstance(target.operator, cst.Is):
                return test.left.value, True, negated
            if isinstance(target.operator, cst.IsNot):
                return test.left.value, True, not negated
    return None


def _value_after(statement: cst.CSTNode, name: str) -> Optional[str]:
    assigned = _assigned_value(statement, name)
    if assigned is not None:
        return kind_of_value(assigned)
    if isinstance(statement, cst.If) and statement.orelse is None:
        # ``if not name: name = "root"``: the test's false way out leaves ``name`` truthy,
        # the body's normal way out ends with the new binding.
        shape = _shape(statement.test)
        body = block_of(statement.body)
        if shape is None or shape[0] != name or not body:
            return None
        _name, asks_none, negated = shape
        if asks_none == negated:
            return None  # the body runs when ``name`` is truthy (or not None)
        skipped = NOT_NONE if asks_none else TRUTHY  # what ``name`` is when the body is skipped
        rebound = _assigned_value(body[-1], name)
        if rebound is None:
            return None
        kind = kind_of_value(rebound)
        if kind == TRUTHY:
            return skipped
        if kind == NOT_NONE and skipped == NOT_NONE:
            return NOT_NONE
    return None


def _assigned_value(statement: cst.CSTNode, name: str) -> Optional[cst.BaseExpression]:
    """The value of ``name = value`` when that is the statement's last small statement."""
    if not isinstance(statement, SMALL_CONTAINERS) or not statement.body:
        return None
    last = statement.body[-1]
    if isinstance(last, cst.Assign) and len(last.targets) == 1:
        target = last.targets[0].target
        if isinstance(target, cst.Name) and target.value == name:
            return last.value
    if isinstance(last, cst.AnnAssign) and last.value is not None:
        if isinstance(last.target, cst.Name) and last.target.value == name:
            return last.value
    return None


def kind_of_value(value: cst.BaseExpression) -> Optional[str]:
    """What an expression's value is known to be, from its shape alone."""
    if isinstance(value, cst.Name):
        return {"True": TRUTHY, "False": FALSY, "None": NONE_VALUE}.get(value.value)
    if isinstance(value, cst.SimpleString):
        return TRUTHY if value.evaluated_value else FALSY
    if isinstance(value, (cst.Integer, cst.Float)):
        return TRUTHY if value.evaluated_value else FALSY
    if isinstance(value, (cst.List, cst.Tuple, cst.Set)):
        return TRUTHY if value.elements else FALSY
    if isinstance(value, cst.Dict):
        return TRUTHY if value.elements else FALSY
    if isinstance(value, cst.BooleanOperation):
        left, right = kind_of_value(value.left), kind_of_value(value.right)
        if isinstance(value.operator, cst.Or):
            # ``a or b`` is ``a`` when truthy, else ``b``.
            return TRUTHY if right == TRUTHY or left == TRUTHY else None
        # ``a and b`` is ``a`` when falsy, else ``b``.
        return TRUTHY if left == TRUTHY and right == TRUTHY else None
    return None

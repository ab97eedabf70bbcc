"""A descriptor opened where the standard streams were just closed becomes one of them.

The daemonizing idiom closes stdin, stdout and stderr (``os.closerange(0, 3)``) and opens
``/dev/null``: the kernel gives the lowest free descriptor, 0, so the new descriptor *is*
stdin (and is usually ``dup2``-ed onto 1 and 2 as well). It is meant to stay open for the
life of the process; closing it would close stdin. The calls that close the standard
streams are knowledge (``calls.toml`` ``[standard-streams]``).

Only a closing call with a literal 0 first, or a loop closing every descriptor of a
``range`` from 0 (``for fd in reversed(range(maxfd)): os.close(fd)``, whatever the loop
keeps open besides), earlier in the same block, counts: a
``/dev/null`` descriptor ``dup2``-ed onto another descriptor with no such call before it is
still a descriptor the function leaves open.
"""

from __future__ import annotations

from typing import Optional, Sequence, Set, Tuple

import libcst as cst

from memlint.analysis.facts import SMALL_CONTAINERS, ModuleContext
from memlint.analysis.resources import STANDARD_STREAM_CLOSERS
from memlint.analysis.walk import find

DESCRIPTOR_MODEL = "file-descriptor"


def opened_as_standard_stream(
    ctx: ModuleContext, model: str, path: Tuple[cst.CSTNode, ...], scope_body: Sequence[cst.CSTNode]
) -> bool:
    """True when the acquisition at the end of ``path`` (which starts at a statement of
    ``scope_body``) opens a descriptor after the standard streams were closed in its block."""
    if model != DESCRIPTOR_MODEL or not path:
        return False
    block: Sequence[cst.CSTNode] = scope_body
    statement = path[0]
    for index in range(len(path) - 1, 0, -1):
        if isinstance(path[index - 1], (cst.IndentedBlock, cst.Module)):
            block, statement = path[index - 1].body, path[index]  # type: ignore[attr-defined]
            break
    statements = list(block)
    if statement not in statements:
        return False
    return any(_closes_standard_streams(ctx, line) for line in statements[: statements.index(statement)])


def _closes_standard_streams(ctx: ModuleContext, statement: cst.CSTNode) -> bool:
    if isinstance(statement, cst.For):
        return _loop_closes_from_zero(ctx, statement)
    if not isinstance(statement, SMALL_CONTAINERS):
        return False
    for small in statement.body:
        call = small.value if isinstance(small, cst.Expr) else None
        if not isinstance(call, cst.Call) or not call.args:
            continue
        if (ctx.resolve(call.func) or "") not in STANDARD_STREAM_CLOSERS:
            continue
        first = call.args[0].value
        if isinstance(first, cst.Integer) and first.evaluated_value == 0:
            return True
    return False


def _loop_closes_from_zero(ctx: ModuleContext, loop: cst.For) -> bool:
    """``for fd in range(maxfd): os.close(fd)`` (also ``reversed(range(...))``, ``range(0,
    n)``, the close inside a ``try`` or an ``if``): the daemonizing loop that closes every
    descriptor from 0 up, standard streams first among them."""
    if not isinstance(loop.target, cst.Name):
        return False
    iterated = loop.iter
    if isinstance(iterated, cst.Call) and (ctx.resolve(iterated.func) or "") in ("reversed", "builtins.reversed") and len(iterated.args) == 1:
        iterated = iterated.args[0].value
    if not (isinstance(iterated, cst.Call) and (ctx.resolve(iterated.func) or "") in ("range", "builtins.range")):
        return False
    bounds = iterated.args
    if not bounds or len(bounds) > 2 or any(arg.keyword is not None or arg.star for arg in bounds):
        return False
    if len(bounds) == 2 and not (isinstance(bounds[0].value, cst.Integer) and bounds[0].value.evaluated_value == 0):
        return False
    for call, _ in find(loop.body, (cst.Call,)):
        if (ctx.resolve(call.func) or "") in STANDARD_STREAM_CLOSERS and call.args:  # type: ignore[attr-defined]
            first = call.args[0].value  # type: ignore[attr-defined]
            if isinstance(first, cst.Name) and first.value == loop.target.value:
                return True
    return False


def only_above_standard_streams(test: cst.BaseExpression, names: Set[str], model: str) -> bool:
    """``if fd > 2: os.close(fd)`` (also ``fd >= 3``, ``2 < fd``, ``fd not in (0, 1, 2)``):
    a descriptor numbered 0-2 was opened where a standard stream had been closed, so it *is*
    that stream now and is kept open on purpose; the test holds wherever the descriptor is
    one the function owns."""
    compared = _compared_descriptor(test, names, model)
    if compared is None:
        return False
    operator, right = compared
    if isinstance(operator, cst.NotIn) and isinstance(right, (cst.Tuple, cst.List, cst.Set)):
        numbers = {e.value.evaluated_value for e in right.elements if isinstance(e.value, cst.Integer)}
        return len(numbers) == len(right.elements) and numbers >= {0, 1, 2}
    bound = _integer(right)
    return (isinstance(operator, cst.GreaterThan) and bound == 2) or (
        isinstance(operator, cst.GreaterThanEqual) and bound == 3
    )


def descriptor_sign_test(test: cst.BaseExpression, names: Set[str], model: str) -> Optional[bool]:
    """``if fd >= 0: os.close(fd)`` after ``fd = -1``: a descriptor call returns a number
    from 0 up or raises, never a negative one, so ``fd >= 0``, ``fd > -1`` and ``fd != -1``
    hold exactly while the descriptor is bound (True) and ``fd < 0``, ``fd == -1`` exactly
    while it is not (False, the ``-1`` sentinel); None when ``test`` is none of these. The
    standard-stream bound (``fd > 2``) counts as held too (``only_above_standard_streams``)."""
    if only_above_standard_streams(test, names, model):
        return True
    compared = _compared_descriptor(test, names, model)
    if compared is None:
        return None
    operator, right = compared
    bound = _integer(right)
    if bound is None:
        return None
    if (isinstance(operator, cst.GreaterThanEqual) and bound == 0) or (isinstance(operator, cst.GreaterThan) and bound == -1):
        return True
    if (isinstance(operator, cst.LessThan) and bound == 0) or (isinstance(operator, cst.LessThanEqual) and bound == -1):
        return False
    if bound == -1 and isinstance(operator, (cst.NotEqual, cst.Equal)):
        return isinstance(operator, cst.NotEqual)
    return None


def _compared_descriptor(
    test: cst.BaseExpression, names: Set[str], model: str
) -> Optional[Tuple[cst.BaseCompOp, cst.BaseExpression]]:
    """(operator, other side) of ``fd OP x`` on the followed descriptor, with ``x OP fd`` read
    the other way round (``2 < fd`` as ``fd > 2``); None for any other test."""
    if model != DESCRIPTOR_MODEL or not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    left, right, operator = test.left, test.comparisons[0].comparator, test.comparisons[0].operator
    if _integer(left) is not None and isinstance(right, cst.Name):
        flipped = _FLIPPED.get(type(operator))
        if flipped is None:
            return None
        left, right, operator = right, left, flipped()
    if not isinstance(left, cst.Name) or left.value not in names:
        return None
    return operator, right


_FLIPPED = {
    cst.LessThan: cst.GreaterThan,
    cst.LessThanEqual: cst.GreaterThanEqual,
    cst.GreaterThan: cst.LessThan,
    cst.GreaterThanEqual: cst.LessThanEqual,
    cst.Equal: cst.Equal,
    cst.NotEqual: cst.NotEqual,
}


def _integer(node: cst.BaseExpression) -> Optional[int]:
    """The value of an integer literal, ``-1`` included."""
    if isinstance(node, cst.Integer):
        return int(node.evaluated_value)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus) and isinstance(node.expression, cst.Integer):
        return -int(node.expression.evaluated_value)
    return None

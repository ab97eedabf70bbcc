"""Tasks that wait for ever until cancelled: held by the event loop, not dropped (MEM061).

The loop keeps a weak reference to a task, but a strong one to everything it has scheduled:
a task about to run is in the ready queue, and a task suspended in ``asyncio.sleep(delay)``
is reachable from the timer handle in the loop's heap (the handle resolves the sleep's future,
whose done-callback is the task's wake-up). A coroutine whose whole body is
``await asyncio.sleep(math.inf)`` (alone, or as the only statement of a ``try`` whose
handlers and ``finally`` do the work) is therefore held from its creation until it is
cancelled, and what runs after that runs only because someone holding the task (asyncio.run's
shutdown, which gathers every pending task) cancelled it. Such a task is a shutdown hook, not
a dropped task. A finite sleep ends and lets the task go on unreferenced, so only an infinite
delay counts, spelled ``math.inf`` or ``float("inf")``.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from memlint.analysis.facts import ModuleContext

_SLEEPS = frozenset({"asyncio.sleep", "asyncio.tasks.sleep"})
_INFINITIES = frozenset({"math.inf", "numpy.inf"})


def waits_for_ever_until_cancelled(ctx: ModuleContext, task_call: cst.Call) -> bool:
    """Whether ``task_call`` (``create_task(coro(...))``) schedules a coroutine of this module
    whose only step before cancellation is an infinite ``asyncio.sleep``."""
    if not task_call.args:
        return False
    coroutine = task_call.args[0].value
    if not isinstance(coroutine, cst.Call) or not isinstance(coroutine.func, cst.Name):
        return False
    function = ctx.functions.get(coroutine.func.value)
    if function is None or function.asynchronous is None:
        return False
    body = _statements(function.body)
    if len(body) != 1:
        return False
    only = body[0]
    if isinstance(only, cst.Try):
        inner = _statements(only.body)
        return len(inner) == 1 and _is_infinite_sleep(ctx, inner[0])
    return _is_infinite_sleep(ctx, only)


def _statements(block: cst.BaseSuite) -> list:
    """The statements of ``block`` that do something: not the docstring, not a bare annotation."""
    kept = []
    for statement in getattr(block, "body", ()):
        if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
            small = statement.body[0]
            if isinstance(small, cst.Expr) and isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString)):
                continue
            if isinstance(small, cst.AnnAssign) and small.value is None:
                continue
        kept.append(statement)
    return kept


def _is_infinite_sleep(ctx: ModuleContext, statement: cst.CSTNode) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    if not isinstance(small, cst.Expr) or not isinstance(small.value, cst.Await):
        return False
    call = small.value.expression
    if not isinstance(call, cst.Call) or ctx.resolve(call.func) not in _SLEEPS:
        return False
    delay = _delay(call)
    return delay is not None and _is_infinity(ctx, delay)


def _delay(call: cst.Call) -> Optional[cst.BaseExpression]:
    for arg in call.args:
        if arg.keyword is None and arg.star == "":
            return arg.value
        if arg.keyword is not None and arg.keyword.value == "delay":
            return arg.value
    return None


def _is_infinity(ctx: ModuleContext, value: cst.BaseExpression) -> bool:
    if ctx.resolve(value) in _INFINITIES:
        return True
    if isinstance(value, cst.Call) and ctx.resolve(value.func) == "float" and len(value.args) == 1:
        text = value.args[0].value
        return isinstance(text, cst.SimpleString) and text.evaluated_value.lower() in ("inf", "infinity", "+inf")
    return False

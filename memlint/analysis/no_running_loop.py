"""Branches where no asyncio event loop runs, so ``asyncio.create_task()`` makes no task.

``asyncio.create_task(coro)`` asks for the running loop (``get_running_loop()``) and raises
``RuntimeError`` when none runs in the thread: no task exists, so none can be dropped (MEM061).
``asyncio.get_event_loop()`` returns the running loop whenever one runs in the thread, so in a
branch that only runs when ``loop.is_running()`` is false for that loop, no loop runs there:

    loop = asyncio.get_event_loop()
    if loop.is_running():
        asyncio.ensure_future(job())
    else:
        asyncio.create_task(job())      # raises RuntimeError: nothing is scheduled

Nothing inside the branch can start a loop that is still running when the call is made: a
loop runs only in frames below the one that asked, or in callees that have returned. Only
``asyncio.get_event_loop()`` tells this (``new_event_loop()`` is a fresh loop that never runs
while another loop may run; ``loop.create_task()`` schedules on a stopped loop without
raising), and the loop name must be bound to nothing else in the scope. The knowledge is data:
``[no_running_loop]`` of ``memlint/knowledge/asyncio-tasks/tasks.toml``.
"""

from __future__ import annotations

from typing import Callable, Iterable, Optional, Set, Tuple

import libcst as cst

from memlint.analysis.facts import ModuleContext
from memlint.analysis.local_holders import function_params
from memlint.analysis.names import bound_names, dotted
from memlint.analysis.walk import find
from memlint.knowledge.tasks import TaskKnowledge

_BINDING_NODES = (
    cst.Assign, cst.AnnAssign, cst.AugAssign, cst.NamedExpr, cst.For, cst.CompFor, cst.AsName, cst.Global,
    cst.Nonlocal, cst.FunctionDef, cst.ClassDef,
)


def current_loop_names(ctx: ModuleContext, known: TaskKnowledge, function: cst.FunctionDef) -> Set[str]:
    """Local names of ``function`` bound only ever to ``asyncio.get_event_loop()``: every
    binding of them in its body is that call (a parameter, loop, ``with``, walrus binding or a
    ``global``/``nonlocal`` declaration disqualifies them, as their value could come from elsewhere)."""
    getters = known["no_running_loop.current_loop_getters"]
    bad: Set[str] = set(function_params(function))
    good: Set[str] = set()
    # Nested scopes too: a ``nonlocal loop`` there could rebind it (their own locals of the
    # same name only make this answer more cautious).
    for node, _ in find(function.body, _BINDING_NODES, stop=()):
        if isinstance(node, (cst.Global, cst.Nonlocal)):
            bad.update(item.name.value for item in node.names)
            continue
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            bad.add(node.name.value)
            continue
        for name, value in _bindings(node):
            if isinstance(value, cst.Call) and not value.args and ctx.resolve(value.func) in getters:
                good.add(name)
            else:
                bad.add(name)
    return good - bad


def _bindings(node: cst.CSTNode) -> Iterable[Tuple[str, Optional[cst.BaseExpression]]]:
    """The plain names a node binds, with the value when it is a plain assignment."""
    if isinstance(node, cst.Assign):
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                yield target.target.value, node.value
            else:
                for name in bound_names(target.target):
                    yield name, None
    elif isinstance(node, (cst.AnnAssign, cst.AugAssign, cst.NamedExpr, cst.For, cst.CompFor)):
        for name in bound_names(node.target):
            value = node.value if isinstance(node, cst.AnnAssign) else None
            yield name, value
    elif isinstance(node, cst.AsName):
        for name in bound_names(node.name):
            yield name, None


def makes_no_task(
    ctx: ModuleContext,
    known: TaskKnowledge,
    call: cst.Call,
    path: Tuple[cst.CSTNode, ...],
    loop_names_of_scope: Callable[[], Set[str]],
) -> bool:
    """Whether ``call`` needs a running loop and sits in a branch of the scope that only runs
    while no loop runs in the thread (``path``: its ancestors in the scope, root first;
    the scope's current-loop names are asked for only when needed)."""
    if ctx.resolve(call.func) not in known["no_running_loop.need_running_loop"]:
        return False
    if not any(isinstance(node, cst.If) for node in path):
        return False
    loop_names = loop_names_of_scope()
    for index, node in enumerate(path):
        if not isinstance(node, cst.If):
            continue
        inner = path[index + 1] if index + 1 < len(path) else call
        names = loop_names | _bound_just_before(ctx, known, node, path[index - 1] if index else None)
        running = _asks_running(ctx, known, node.test, names)
        if running is None:
            continue
        in_body = inner is node.body
        in_else = node.orelse is not None and inner is node.orelse
        if (running and in_else) or (not running and in_body):
            return True
    return False


def _bound_just_before(ctx: ModuleContext, known: TaskKnowledge, test: cst.If, block: Optional[cst.CSTNode]) -> Set[str]:
    """The name the statement right before the ``if`` (same block) binds to
    ``asyncio.get_event_loop()``: the test reads that value whatever else the name is bound
    to elsewhere (``loop = asyncio.new_event_loop()`` in a handler below)."""
    if not isinstance(block, (cst.IndentedBlock, cst.Module)):
        return set()
    statements = list(block.body)
    position = next((i for i, statement in enumerate(statements) if statement is test), 0)
    previous = statements[position - 1] if position else None
    if not isinstance(previous, cst.SimpleStatementLine) or not previous.body:
        return set()
    last = previous.body[-1]
    if not (isinstance(last, cst.Assign) and len(last.targets) == 1 and isinstance(last.targets[0].target, cst.Name)):
        return set()
    value = last.value
    if isinstance(value, cst.Call) and not value.args and ctx.resolve(value.func) in known["no_running_loop.current_loop_getters"]:
        return {last.targets[0].target.value}
    return set()


def _asks_running(ctx: ModuleContext, known: TaskKnowledge, test: cst.BaseExpression, loop_names: Set[str]) -> Optional[bool]:
    """True for ``loop.is_running()``, False for ``not loop.is_running()``, None otherwise."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        inner = _asks_running(ctx, known, test.expression, loop_names)
        return None if inner is None else not inner
    if not (isinstance(test, cst.Call) and not test.args and isinstance(test.func, cst.Attribute)):
        return None
    if test.func.attr.value != "is_running":
        return None
    receiver = test.func.value
    if isinstance(receiver, cst.Call):
        getter = ctx.resolve(receiver.func) in known["no_running_loop.current_loop_getters"]
        return True if getter and not receiver.args else None
    return True if dotted(receiver) in loop_names else None

"""Stage 8, asyncio tasks: tasks nothing keeps a strong reference to (MEM061).

The event loop keeps only weak references to the tasks it runs, so a task whose creator
drops it can be garbage-collected before it finishes, and an exception it raises is never
seen. This stage establishes ``DanglingTask`` for a task made by a task-creating call
(``asyncio.create_task``, ``asyncio.ensure_future`` of a fresh coroutine, ``loop.create_task``;
through any import alias) whose result is either

- dropped: the call is a statement of its own, or the body of a ``lambda`` handed to a
  call that runs it and throws away what it returns (``loop.call_soon(lambda: ...)``); or
- bound to a local name of a function that never does anything with it that keeps it or
  waits for it. Every mention counts as keeping it (awaited, passed on, stored, returned,
  put in a container, mentioned in a nested function, declared ``global``) except the
  task's own methods that do neither (``add_done_callback``, ``set_name``, ``done()``...).

A ``create_task`` on any receiver that is not an event loop (a ``TaskGroup``, which keeps
its tasks until its block ends; an API client's ``create_task``) is not a task-creating
call. The knowledge is data: ``memlint/knowledge/asyncio-tasks/tasks.toml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Optional, Set, Tuple

import libcst as cst

from memlint.analysis.facts import ModuleContext
from memlint.analysis.forever_waiting_tasks import waits_for_ever_until_cancelled
from memlint.analysis.names import dotted
from memlint.analysis.no_running_loop import current_loop_names, makes_no_task
from memlint.analysis.walk import find
from memlint.knowledge.tasks import TaskKnowledge, task_knowledge

_TARGETS = (
    cst.Call, cst.Global, cst.Nonlocal, cst.Assign, cst.AnnAssign, cst.FunctionDef, cst.ClassDef, cst.Lambda,
)


@dataclass(eq=False)
class DanglingTask:
    """A task from ``call`` (read as ``label``) that nothing keeps: dropped when ``name`` is
    ``None``, else bound to the local ``name`` of ``function``, which only ever calls the
    methods ``methods_used`` on it. ``runner``: the call (``call_soon``) that runs the lambda
    whose body ``call`` is and drops what it returns."""

    call: cst.Call
    label: str
    name: Optional[str]
    function: Optional[str]
    methods_used: Tuple[str, ...] = ()
    runner: Optional[str] = None


def might_create_tasks(source: str) -> bool:
    """Cheap text test: does the module name a task-creating callable at all?"""
    from memlint.knowledge.tasks import task_trigger_names

    return any(word in source for word in task_trigger_names())


def task_facts(ctx: ModuleContext) -> List[DanglingTask]:
    """Every dangling task of the module, in source order of the scopes."""
    known = task_knowledge()
    facts: List[DanglingTask] = []
    facts.extend(_scope_facts(ctx, known, ctx.module, None))
    for function, _ in find(ctx.module, (cst.FunctionDef,), stop=()):
        facts.extend(_scope_facts(ctx, known, function, function))  # type: ignore[arg-type]
    return facts


def _scope_facts(
    ctx: ModuleContext, known: TaskKnowledge, root: cst.CSTNode, function: Optional[cst.FunctionDef]
) -> Iterable[DanglingTask]:
    body = root.body if function is not None else root  # type: ignore[attr-defined]
    found = find(body, _TARGETS)
    loop_names = _loop_names(ctx, known, found)
    local = _local_names(function, found)
    declared: Set[str] = set()
    for node, _ in found:
        if isinstance(node, (cst.Global, cst.Nonlocal)):
            declared.update(item.name.value for item in node.names)
    function_name = function.name.value if function is not None else None
    # ``reactor.run()`` (the asyncio reactor): the loop runs while the frame holds its locals.
    runs_loop = any(
        isinstance(node, cst.Call)
        and (dotted(node.func) or "").split(".", 1)[0] not in local
        and ctx.resolve(node.func) in known["task.loop_running_calls"]
        for node, _ in found
    )
    for node, path in found:
        if isinstance(node, cst.Lambda):
            dropped = _dropped_by_runner(ctx, known, node, path, loop_names)
            if dropped is not None:
                yield DanglingTask(node.body, dropped[0], None, function_name, runner=dropped[1])  # type: ignore[arg-type]
            continue
        if not isinstance(node, cst.Call) or not path:
            continue
        if isinstance(node.func, cst.Name) and node.func.value in local:
            continue  # a function of the scope's own (or a parameter) by an imported name
        label = _task_label(ctx, known, node, loop_names)
        if label is None:
            continue
        if function is not None and makes_no_task(ctx, known, node, path, lambda: current_loop_names(ctx, known, function)):
            continue  # in a branch where no loop runs, create_task raises: no task exists
        if waits_for_ever_until_cancelled(ctx, node):
            continue  # held by the loop's timer until whoever cancels it (a shutdown hook)
        parent = path[-1]
        if isinstance(parent, cst.Expr) and parent.value is node:
            yield DanglingTask(node, label, None, function_name)
            continue
        if function is None:
            continue  # a module-level name lives as long as the module
        name = _bound_name(parent, node)
        if name is None or name in declared or runs_loop:
            continue
        methods = _methods_if_never_kept(known, function, name, parent)
        if methods is not None:
            yield DanglingTask(node, label, name, function_name, methods)


def _loop_names(ctx: ModuleContext, known: TaskKnowledge, found: List[Tuple[cst.CSTNode, tuple]]) -> Set[str]:
    """Local names the scope binds to an event loop (``ev = asyncio.get_running_loop()``)."""
    names: Set[str] = set()
    for node, _ in found:
        if isinstance(node, cst.Assign) and isinstance(node.value, cst.Call):
            if ctx.resolve(node.value.func) in known["creating.loop_getters"]:
                for target in node.targets:
                    if isinstance(target.target, cst.Name):
                        names.add(target.target.value)
    return names


def _dropped_by_runner(
    ctx: ModuleContext, known: TaskKnowledge, node: cst.Lambda, path: tuple, loop_names: Set[str]
) -> Optional[Tuple[str, str]]:
    """(label, runner) when the lambda's body creates a task and the lambda is handed to a
    call that runs it and drops its result."""
    body = node.body
    if not isinstance(body, cst.Call) or len(path) < 2:
        return None
    argument, runner = path[-1], path[-2]
    if not isinstance(argument, cst.Arg) or not isinstance(runner, cst.Call) or argument.value is not node:
        return None
    runner_name = dotted(runner.func)
    if runner_name is None or runner_name.rsplit(".", 1)[-1] not in known["creating.callback_runners"]:
        return None
    label = _task_label(ctx, known, body, loop_names)
    return None if label is None else (label, runner_name.rsplit(".", 1)[-1])


def _local_names(function: Optional[cst.FunctionDef], found: List[Tuple[cst.CSTNode, tuple]]) -> Set[str]:
    """Names the function binds itself: its parameters, nested defs and classes, assignments."""
    if function is None:
        return set()
    params = function.params
    every = list(params.params) + list(params.kwonly_params) + list(params.posonly_params)
    every += [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
    names = {param.name.value for param in every}
    for node, _ in found:
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            names.add(node.name.value)
        elif isinstance(node, cst.Assign):
            names.update(t.target.value for t in node.targets if isinstance(t.target, cst.Name))
    return names


def _task_label(ctx: ModuleContext, known: TaskKnowledge, call: cst.Call, loop_names: Set[str]) -> Optional[str]:
    """How the call reads in a message when it creates a task, else ``None``."""
    func = call.func
    qualified = ctx.resolve(func)
    if qualified in known["creating.functions"]:
        if qualified in known["creating.pass_futures_through"]:
            first = call.args[0].value if call.args and call.args[0].keyword is None else None
            if not isinstance(first, cst.Call):
                return None  # given a future or task, ensure_future returns it unchanged
        return f"`{qualified}()`"
    if not isinstance(func, cst.Attribute) or func.attr.value not in known["creating.loop_methods"]:
        return None
    receiver = func.value
    if isinstance(receiver, cst.Call) and ctx.resolve(receiver.func) in known["creating.loop_getters"]:
        return ctx.label(func)
    receiver_name = dotted(receiver)
    if receiver_name is None:
        return None
    last = receiver_name.rsplit(".", 1)[-1]
    if last in loop_names or any(word in last.lower() for word in known["creating.loop_name_words"]):
        return ctx.label(func)
    return None


def _bound_name(parent: cst.CSTNode, call: cst.Call) -> Optional[str]:
    """The plain local name a statement binds the call's result to (``t = create_task(...)``)."""
    if isinstance(parent, cst.Assign) and parent.value is call and len(parent.targets) == 1:
        target = parent.targets[0].target
        return target.value if isinstance(target, cst.Name) else None
    if isinstance(parent, cst.AnnAssign) and parent.value is call and isinstance(parent.target, cst.Name):
        return parent.target.value
    return None


def _methods_if_never_kept(
    known: TaskKnowledge, function: cst.FunctionDef, name: str, binding: cst.CSTNode
) -> Optional[Tuple[str, ...]]:
    """The task methods the function calls on ``name`` when no mention of it keeps or waits
    for the task; ``None`` as soon as one does (nested functions and lambdas included)."""
    not_keeping = known["task.not_keeping_methods"]
    runners = known["task.loop_runners"]
    methods: List[str] = []
    for mention, path in find(function.body, (cst.Name,), stop=()):
        if mention.value in runners and path and isinstance(path[-1], cst.Attribute):  # type: ignore[attr-defined]
            return None  # ``loop.run_forever()``: the loop runs while the local holds the task
        if mention.value != name:  # type: ignore[attr-defined]
            continue
        parent = path[-1] if path else None
        if _is_rebinding(mention, path) or parent is binding:
            continue  # a binding (or the del of one) neither keeps the task nor lets it go
        if isinstance(parent, cst.Attribute) and parent.value is mention and len(path) >= 2:
            call = path[-2]
            if isinstance(call, cst.Call) and call.func is parent and parent.attr.value in not_keeping:
                methods.append(parent.attr.value)
                continue
        return None
    return tuple(dict.fromkeys(methods))


def _is_rebinding(mention: cst.CSTNode, path: tuple) -> bool:
    """``name = ...``, ``for name in``, ``del name``: the mention is a binding, not a use."""
    if not path:
        return False
    parent = path[-1]
    if isinstance(parent, cst.AssignTarget) and parent.target is mention:
        return True
    if isinstance(parent, cst.AnnAssign) and parent.target is mention:
        return True
    if isinstance(parent, cst.For) and parent.target is mention:
        return True
    if isinstance(parent, cst.Del) and parent.target is mention:
        return True
    return False

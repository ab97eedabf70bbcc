"""Stage 6b, locks: ``x.acquire()`` as a statement, followed to its ``x.release()`` by the
path interpreter; a module-global lock taken and never released at all.
"""

from __future__ import annotations

from typing import Set, Tuple

import libcst as cst

from memlint.analysis import lifetime
from memlint.analysis.flow import Tracker
from memlint.analysis.facts import SMALL_CONTAINERS, ModuleContext, Scope
from memlint.analysis.model import Acquisition, LockNeverReleased, ModuleAnalysis
from memlint.analysis.names import dotted, guard_flags
from memlint.analysis.resources import LOCK
from memlint.analysis.sites import enclosing_statement
from memlint.analysis.walk import find


def analyze_lock(
    ctx: ModuleContext, scope: Scope, call: cst.Call, path: Tuple[cst.CSTNode, ...], analysis: ModuleAnalysis
) -> None:
    """``x.acquire()`` as a statement, with a matching ``x.release()`` in the same body."""
    func = call.func
    if not isinstance(func, cst.Attribute) or not path or not isinstance(path[-1], cst.Expr):
        return
    receiver = dotted(func.value)
    if receiver is None:
        return
    if isinstance(scope.node, cst.FunctionDef) and scope.node.name.value in ("__enter__", "__aenter__", "acquire", "lock"):
        return  # taking the lock is what this method is for; its partner releases it
    if receiver.split(".", 1)[0] in scope.params and receiver.split(".", 1)[0] != "self":
        return  # a lock the caller passed in is the caller's to release
    seen_acquire = releases = False
    for statement in scope.body:
        for found, _ in find(statement, (cst.Call,)):
            if found is call:
                seen_acquire = True
                continue
            other = found.func  # type: ignore[attr-defined]
            if isinstance(other, cst.Attribute) and other.attr.value == "release" and dotted(other.value) == receiver:
                if not seen_acquire:
                    # Released before it is (re)acquired: a wait() that gives the lock back
                    # and takes it again. Not this analysis's pattern.
                    return
                releases = True
    if not releases:
        # A helper that only acquires (``def lock(self): self._lock.acquire()``) pairs with
        # another that releases; a body that goes on working with the lock held does not.
        module_global = "." not in receiver and receiver not in scope.params and scope.class_info is None
        if isinstance(scope.node, cst.FunctionDef) and module_global and _is_module_name(ctx, receiver):
            if _work_follows(scope.body, path):
                acquisition = Acquisition(call, LOCK, ctx.label(func), path[-1], (receiver,), scope.node)
                analysis.facts.append(LockNeverReleased(acquisition, receiver))
        return

    statement, loops = enclosing_statement(path)
    label = ctx.label(func)
    tracker = Tracker({receiver}, LOCK, call, statement, enclosing_loops=loops)  # type: ignore[arg-type]
    tracker.guards = guard_flags(path)
    class_name = scope.class_info.node.name.value if scope.class_info else None
    outcome = lifetime.run(ctx, tracker, scope.body, class_name, yields_raise=not scope.is_context_manager)
    if outcome.category in _NORMAL_EXITS and _recorded_on_owner(scope, receiver, tracker.guards):
        return  # the object keeps it, and says so: ``self._acquired = True``, released elsewhere
    acquisition = Acquisition(call, LOCK, label, statement, (receiver,), scope.node)
    analysis.facts.append(lifetime.lifetime_fact(ctx, acquisition, receiver, LOCK, outcome, is_lock=True))


# Verdicts on the ways out of the method that are no exception: still held when it returns.
_NORMAL_EXITS = frozenset(("never", "return", "branch"))


def _recorded_on_owner(scope: Scope, receiver: str, guards: Set[str]) -> bool:
    """``X.acquire(); self._x_acquired = True`` in a method, and another method of the class
    calls ``X.release()``: the object records that it holds the reference and gives it back
    later, so returning with it held hands it to the object (whether that method is called is
    the class's own matter). The flag must be set on ``self`` right after the acquisition."""
    info = scope.class_info
    if info is None or not any(flag.startswith("self.") for flag in guards):
        return False
    for method in info.methods.values():
        if method is scope.node:
            continue
        for found, _ in find(method.body, (cst.Call,)):
            func = found.func  # type: ignore[attr-defined]
            if isinstance(func, cst.Attribute) and func.attr.value == "release" and dotted(func.value) == receiver:
                return True
    return False


def _is_module_name(ctx: ModuleContext, name: str) -> bool:
    for statement in ctx.module.body:
        if isinstance(statement, SMALL_CONTAINERS):
            for small in statement.body:
                if isinstance(small, cst.Assign) and any(dotted(t.target) == name for t in small.targets):
                    return True
    return False


def _work_follows(body: Tuple[cst.CSTNode, ...], path: Tuple[cst.CSTNode, ...]) -> bool:
    """Whether statements follow the one on ``path`` in the function's own body."""
    for index, statement in enumerate(body):
        if statement in path:
            return any(not _is_docstring_or_pass(s) for s in body[index + 1 :])
    return False


def _is_docstring_or_pass(statement: cst.CSTNode) -> bool:
    if isinstance(statement, SMALL_CONTAINERS):
        return all(
            isinstance(small, cst.Pass) or (isinstance(small, cst.Expr) and isinstance(small.value, cst.SimpleString))
            for small in statement.body
        )
    return False

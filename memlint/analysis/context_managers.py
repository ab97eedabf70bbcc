"""Stage 7, context-manager bodies: ``@contextmanager`` generators and where their cleanup
runs, ``__exit__`` methods and what they return (the ``GeneratorContextManager`` and
``ExitMethod`` facts).
"""

from __future__ import annotations

from typing import List, Set, Tuple

import libcst as cst

from memlint.analysis.facts import CONTEXT_MANAGER_DECORATORS, SMALL_CONTAINERS, TRY_TYPES, ModuleContext, Scope, decorator_names
from memlint.analysis.guarded_local_managers import bodies_let_nothing_out
from memlint.analysis.model import ExitMethod, Fact, GeneratorContextManager
from memlint.analysis.names import block_of, dotted
from memlint.analysis.resources import CLEANUP_AFTER_YIELD_FUNCTIONS, CLEANUP_AFTER_YIELD_PREFIXES, MEMORY_BUFFERS
from memlint.analysis.walk import find


def context_manager_facts(ctx: ModuleContext, scopes: List[Scope]) -> List[Fact]:
    """One fact per ``__exit__``/``__aexit__`` method and per ``@contextmanager`` function."""
    facts: List[Fact] = []
    handed_as_lifespan = {
        arg.value.value
        for call, _ in find(ctx.module, (cst.Call,))
        for arg in call.args  # type: ignore[attr-defined]
        if arg.keyword is not None and arg.keyword.value == "lifespan" and isinstance(arg.value, cst.Name)
    }
    for scope in scopes:
        function = scope.node
        if not isinstance(function, cst.FunctionDef):
            continue
        if function.name.value in ("__exit__", "__aexit__") and scope.class_info is not None:
            facts.append(ExitMethod(function, _always_returns_true(function)))
            continue
        if not (decorator_names(ctx, function) & CONTEXT_MANAGER_DECORATORS):
            continue
        if _is_lifespan(function, handed_as_lifespan):
            # The body of a server's lifespan is the whole life of the server: what raises
            # out of it ends the process, which releases everything anyway (rules/MEM004.md).
            facts.append(GeneratorContextManager(function, None))
            continue
        frames = _state_frames(function)
        in_memory = _in_memory_names(ctx, function)
        unprotected = next(
            (
                found
                for found, path in find(function.body, (cst.Yield,))
                if _unprotected_cleanup_after(ctx, found, path, frames, in_memory)
            ),
            None,
        )
        if unprotected is not None and bodies_let_nothing_out(ctx, function):
            # A local manager whose every ``with`` body catches and logs all errors: no
            # exception ever reaches its ``yield`` (analysis/guarded_local_managers.py).
            unprotected = None
        facts.append(GeneratorContextManager(function, unprotected))
    return facts


def _is_lifespan(function: cst.FunctionDef, handed_as_lifespan: Set[str]) -> bool:
    """An ASGI lifespan handler: named ``lifespan`` (``app_lifespan``, ...) and taking the
    app, or handed to the app as ``lifespan=`` in this module (FastAPI, Starlette)."""
    name = function.name.value
    params = function.params.params
    if "lifespan" in name.lower() and params and params[0].name.value in ("app", "_app", "application"):
        return True
    return name in handed_as_lifespan


def _state_frames(function: cst.FunctionDef) -> Set[str]:
    """Receivers of an argument-less ``push()`` (``self.alias_manager.push()``): a frame of
    their own state, not a resource, so popping it after ``yield`` is restoring state."""
    frames = set()
    for call, _ in find(function.body, (cst.Call,)):
        func = call.func  # type: ignore[attr-defined]
        if isinstance(func, cst.Attribute) and func.attr.value == "push" and not call.args:  # type: ignore[attr-defined]
            frames.add(dotted(func.value) or "")
    frames.discard("")
    return frames


def _in_memory_names(ctx: ModuleContext, function: cst.FunctionDef) -> Set[str]:
    """Local names bound only to an in-memory buffer (``buf = io.BytesIO()``, calls.toml
    [memory-buffers]): closing one frees memory the garbage collector frees anyway, it
    releases no descriptor, so closing it after ``yield`` is not cleanup a raise can skip."""
    buffers: Set[str] = set()
    others: Set[str] = set()
    for assign, _ in find(function.body, (cst.Assign,)):
        value = assign.value  # type: ignore[attr-defined]
        in_memory = isinstance(value, cst.Call) and (ctx.resolve(value.func) or "") in MEMORY_BUFFERS
        for target in assign.targets:  # type: ignore[attr-defined]
            if isinstance(target.target, cst.Name):
                (buffers if in_memory else others).add(target.target.value)
    return buffers - others


def _unprotected_cleanup_after(
    ctx: ModuleContext, node: cst.CSTNode, path: Tuple[cst.CSTNode, ...], frames: Set[str], in_memory: Set[str]
) -> bool:
    child = node
    has_cleanup = False
    for ancestor in reversed(path):
        if isinstance(ancestor, TRY_TYPES) and child is ancestor.body:  # type: ignore[attr-defined]
            if ancestor.finalbody is not None:  # type: ignore[attr-defined]
                return False
            if any(_broad_cleanup_handler(ctx, h) for h in ancestor.handlers):  # type: ignore[attr-defined]
                # ``except BaseException: cleanup; raise`` plus the cleanup after the try:
                # every way out is covered, as a finally would.
                return False
            if _errors_fall_through(ctx, ancestor.handlers):  # type: ignore[attr-defined]
                # ``except Exception: log; flag = True`` and then the code after the try:
                # the with body's errors reach that code; only what the author re-raises
                # on purpose (``except ProtocolError: raise``) leaves before it.
                return False
            if ancestor.handlers:  # type: ignore[attr-defined]
                # The except block deals with the error; its else block is success-only
                # work. What comes after the whole try still runs only on success.
                child = ancestor
                continue
        if isinstance(ancestor, (cst.IndentedBlock, cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            statements = list(ancestor.body)
            position = next((i for i, s in enumerate(statements) if s is child), None)
            if position is not None:
                for following in statements[position + 1 :]:
                    if _is_cleanup(ctx, following, frames, in_memory):
                        has_cleanup = True
                    if _leaves(following):
                        # Nothing after a ``return`` runs after this ``yield``.
                        return has_cleanup
        if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
            break
        child = ancestor
    return has_cleanup


def _leaves(statement: cst.CSTNode) -> bool:
    if isinstance(statement, SMALL_CONTAINERS):
        return any(isinstance(small, (cst.Return, cst.Raise)) for small in statement.body)
    return False


def _is_cleanup(ctx: ModuleContext, statement: cst.CSTNode, frames: Set[str], in_memory: Set[str]) -> bool:
    """A statement that undoes something (calls.toml [cleanup-after-yield]): a release, a pop,
    a change back of the working directory. A commit, a publish or a restored value is
    success-only work, not cleanup."""
    for call, _ in find(statement, (cst.Call,)):
        func = call.func  # type: ignore[attr-defined]
        if (ctx.resolve(func) or "") in CLEANUP_AFTER_YIELD_FUNCTIONS:
            return True
        if isinstance(func, cst.Attribute):
            name = func.attr.value
            if name == "pop" and not call.args and dotted(func.value) in frames:  # type: ignore[attr-defined]
                continue  # the state frame pushed before the yield
            if isinstance(func.value, cst.Name) and func.value.value in in_memory:
                continue  # ``buf.close()`` on an in-memory buffer releases no descriptor
        elif isinstance(func, cst.Name):
            name = func.value
        else:
            continue
        if name.startswith(CLEANUP_AFTER_YIELD_PREFIXES):
            return True
    return False


def _broad_cleanup_handler(ctx: ModuleContext, handler: cst.ExceptHandler) -> bool:
    kind = handler.type
    broad = kind is None or (ctx.resolve(kind) or "") in ("BaseException", "builtins.BaseException")
    return broad and any(True for _ in find(handler.body, (cst.Call,)))


def _errors_fall_through(ctx: ModuleContext, handlers: Tuple[cst.ExceptHandler, ...]) -> bool:
    """A handler of ``Exception`` (or broader) whose block does not leave (no ``raise`` or
    ``return`` in it), and every other handler either does not leave either or is a bare
    re-raise: each error of the body is handled and then runs what follows the try."""
    broad = False
    for handler in handlers:
        leaves = any(True for _ in find(handler.body, (cst.Raise, cst.Return)))
        kind = handler.type
        catches_all = kind is None or (ctx.resolve(kind) or "").rsplit(".", 1)[-1] in ("Exception", "BaseException")
        if catches_all and not leaves:
            broad = True
        elif leaves and not _bare_reraise(handler):
            return False
    return broad


def _bare_reraise(handler: cst.ExceptHandler) -> bool:
    body = block_of(handler.body)
    return (
        len(body) == 1 and isinstance(body[0], cst.SimpleStatementLine) and len(body[0].body) == 1
        and isinstance(body[0].body[0], cst.Raise) and body[0].body[0].exc is None
    )


def _always_returns_true(function: cst.FunctionDef) -> bool:
    body = block_of(function.body)
    returns = [node for node, _ in find(function.body, (cst.Return,))]
    if not returns or not body:
        return False
    if not all(isinstance(r.value, cst.Name) and r.value.value == "True" for r in returns):  # type: ignore[attr-defined]
        return False
    last = body[-1]
    return isinstance(last, SMALL_CONTAINERS) and isinstance(last.body[-1], cst.Return)

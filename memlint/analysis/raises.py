"""The raise model: which calls in a statement may raise while a resource is held.

MEM003 asks whether an exception can leave a resource held. Calls known not to fail in a
way that matters (``calls.toml`` [raising], the models' ``non_raising_methods``), logging,
and releasing something else are taken not to raise; every other call, ``await`` and (in
a plain generator) ``yield`` may.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional, Set, Tuple

import libcst as cst

from memlint.analysis.fresh_calls import quiet_on_what_was_made
from memlint.analysis.names import dotted
from memlint.analysis.own_values import goes_back, local_constants, serializes_plain_values
from memlint.analysis.resources import (
    KNOWLEDGE,
    ANY_RELEASE_FUNCS,
    ANY_RELEASE_METHODS,
    CONFIGURING_OWN_METHODS,
    FALLIBLE_HANDOFF_METHODS,
    LOGGING_METHODS,
    NON_RAISING_CALLS,
    NON_RAISING_METHODS,
    NON_RAISING_ON_HELD,
    NON_RAISING_ON_NULL_DEVICE,
    NON_RAISING_WITH_CONSTANTS,
    NON_RAISING_OWN_METHODS,
)
from memlint.analysis.quiet_classes import made_from_resource, quiet_constructor_call, quiet_method_of_made_object
from memlint.analysis.quiet_functions import constant_call, quiet_functions_of
from memlint.analysis.raise_evidence import can_raise
from memlint.analysis.sites import gives_back
from memlint.analysis.walk import find

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ModuleContext


def raising_calls(
    ctx: "ModuleContext",
    node: cst.CSTNode,
    handled: Set[int],
    held_names: Set[str],
    in_handler: bool,
    yields_raise: bool,
    model: str = "",
    acquisition: Optional[cst.CSTNode] = None,
) -> List[cst.CSTNode]:
    """The calls, awaits and yields of ``node`` that may raise, in source order. ``held_names``
    are the names of the resource being followed, ``model`` the name of its knowledge model;
    calls in ``handled`` (by id) hand it on. ``acquisition`` is the call that made it: for a
    resource known only by its release (no model) its name stands in for the model, and its
    first argument is the descriptor it was opened on."""
    raising: List[cst.CSTNode] = []
    own_quiet = NON_RAISING_OWN_METHODS.get(model, frozenset()) | CONFIGURING_OWN_METHODS
    if not model and acquisition is not None:
        own_quiet = own_quiet | quiet_own_methods_by_acquirer(acquisition)
    if in_handler:
        # An except block is already the error path; what its own calls might raise
        # is a second failure, not the one the code is written for.
        return raising
    paths = {}
    for found, path in find(node, (cst.Call, cst.Await, cst.Yield)):
        paths[id(found)] = path
        if isinstance(found, cst.Call):
            if id(found) in handled:
                continue
            func = found.func
            name = dotted(func) or ""
            last = func.attr.value if isinstance(func, cst.Attribute) else name.rsplit(".", 1)[-1]
            qualified = ctx.resolve(func) or ""
            if name in NON_RAISING_CALLS or qualified in NON_RAISING_CALLS:
                continue
            # Only a call fed constants reads the function's constant names (worked out lazily).
            called = qualified or name
            constants = local_constants(ctx) if called in NON_RAISING_WITH_CONSTANTS else frozenset()
            if constant_call(found, called, constants):
                continue  # ``set()``, ``struct.pack(FMT, 0)``, ``struct.pack("B", ttl)`` of ``ttl = 1``
            if goes_back(ctx, found, qualified) or serializes_plain_values(ctx, found, qualified):
                continue  # ``os.chdir(old)`` of ``old = os.getcwd()``, ``json.dumps({"t": time.time()})``
            if qualified in NON_RAISING_ON_NULL_DEVICE and found.args and not found.args[0].keyword and (
                ctx.resolve(found.args[0].value) == "os.devnull"
            ):
                continue  # ``open(os.devnull, "w")``
            if qualified in KNOWLEDGE.non_raising_in_coroutines and _in_coroutine(ctx):
                continue  # ``asyncio.get_running_loop()`` in an ``async def``
            if gives_back(ctx, model, found) and dotted(found.args[0].value) in held_names:
                continue  # ``iter(f)`` on the file just opened gives ``f`` back
            if qualified in NON_RAISING_ON_HELD and found.args and (
                _held_or_its_descriptor(found.args[0].value, held_names) or _opened_on(found.args[0].value, acquisition)
            ):
                continue  # ``os.fstat(fd)``, ``os.fstat(f.fileno())`` on what was just opened
            on_resource = isinstance(func, cst.Attribute) and dotted(func.value) in held_names
            if isinstance(func, cst.Attribute) and not on_resource and (
                last in LOGGING_METHODS or last in NON_RAISING_METHODS
            ):
                continue
            if on_resource and last in own_quiet:
                continue
            if last in CONFIGURING_OWN_METHODS and isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and (
                made_from_resource(ctx, func.value.value, held_names)
            ):
                continue  # ``transport.set_keepalive(15)`` of ``transport = client.get_transport()``
            if isinstance(func, cst.Name) and last in LOGGING_METHODS:
                continue
            if _quiet_local(ctx, func):
                continue  # a function or method of this module that cannot raise
            if quiet_constructor_call(ctx, func, found) or (
                quiet_method_of_made_object(ctx, func) and not _guarded_against_misuse(ctx, found)
            ):
                continue  # a project class that only stores what it is given, ``thread.start()``
            # Releasing something else is taken not to fail (``os.close(fd)``, ``b.close()``,
            # ``pty.close_w()``).
            if isinstance(func, cst.Attribute) and (
                last in ANY_RELEASE_METHODS or last.startswith(("close", "release"))
            ):
                continue
            if (ctx.resolve(func) or "") in ANY_RELEASE_FUNCS:
                continue
            if _reopens_fresh_path(ctx, found, held_names, model):
                continue
            if quiet_on_what_was_made(ctx, found, held_names, acquisition):
                continue  # ``fcntl.flock(f, LOCK_EX)`` on the file just opened (fresh_calls.py)
            if not can_raise(ctx, found, held_names):
                continue  # no evidence that it can fail (raise_evidence.py)
            raising.append(found)
        elif isinstance(found, cst.Await):
            if isinstance(found.expression, cst.Call) and id(found.expression) in handled:
                continue
            raising.append(found)
        elif isinstance(found, cst.Yield):
            if yields_raise and not _delegates_to_held(found, held_names, model):
                raising.append(found)
        # ``assert proc.stdout is not None`` narrows a type; it is not an error path.
    return _in_evaluation_order(raising, paths)


def _delegates_to_held(found: cst.Yield, held_names: Set[str], model: str) -> bool:
    """``yield from app_iter`` on the object being followed: closing the generator there
    calls ``app_iter.close()`` first (PEP 380 forwards close() to the iterator it delegates
    to), so that yield leaves nothing open. Only for an object known by its release (no
    model): the iterator is ``iter(app_iter)``, which is the object itself for a generator
    or a file, but not for every modelled resource (an HTTP response iterates a helper)."""
    return not model and isinstance(found.value, cst.From) and dotted(found.value.item) in held_names


def fallible_handoff(call: Optional[cst.CSTNode]) -> bool:
    """``await loop.connect_read_pipe(factory, file)``: a hand-off that can fail before it
    takes the resource (``calls.toml`` [handing-off] fallible_methods), so the statement is
    an exception path as well as the hand-off."""
    func = call.func if isinstance(call, cst.Call) else None
    return isinstance(func, cst.Attribute) and func.attr.value in FALLIBLE_HANDOFF_METHODS


def quiet_own_methods_by_acquirer(acquisition: cst.CSTNode) -> frozenset:
    """``conn = self.psycopg2.connect(dsn)`` followed only because ``conn.close()`` comes later:
    the own methods that every known model acquired by a call of the same last name
    (``connect``) and naming such methods takes not to raise (``cursor``). Models that name
    none (a websocket's ``connect``) have no say: the methods of the others are not theirs."""
    call = acquisition.expression if isinstance(acquisition, cst.Await) else acquisition
    if not isinstance(call, cst.Call):
        return frozenset()
    func = call.func
    last = func.attr.value if isinstance(func, cst.Attribute) else (dotted(func) or "").rsplit(".", 1)[-1]
    if not last:
        return frozenset()
    agreed: Optional[frozenset] = None
    for spec in KNOWLEDGE.models.values():
        quiet = frozenset(spec.non_raising_own_methods)
        if quiet and any(name.rsplit(".", 1)[-1] == last for name in spec.acquired_by):
            agreed = quiet if agreed is None else agreed & quiet
    return agreed or frozenset()


def _held_or_its_descriptor(argument: cst.BaseExpression, held_names: Set[str]) -> bool:
    """``fd`` or ``f.fileno()`` where ``fd``/``f`` is the resource being followed."""
    if isinstance(argument, cst.Call) and isinstance(argument.func, cst.Attribute) and not argument.args:
        if argument.func.attr.value == "fileno":
            argument = argument.func.value
    return dotted(argument) in held_names


def _opened_on(argument: cst.BaseExpression, acquisition: Optional[cst.CSTNode]) -> bool:
    """``io.open(fd, "wb", closefd=False)`` while following ``readf = io.open(fd, "rb")``: the
    argument is the plain name the followed resource was opened on, a descriptor that call
    has just accepted."""
    call = acquisition.expression if isinstance(acquisition, cst.Await) else acquisition
    if not isinstance(call, cst.Call) or not call.args or call.args[0].keyword is not None:
        return False
    opened_on = call.args[0].value
    return isinstance(opened_on, cst.Name) and isinstance(argument, cst.Name) and argument.value == opened_on.value


def _in_coroutine(ctx: "ModuleContext") -> bool:
    function = ctx.scope.node if ctx.scope is not None else None
    return isinstance(function, cst.FunctionDef) and isinstance(function.asynchronous, cst.Asynchronous)


def _quiet_local(ctx: "ModuleContext", func: cst.BaseExpression) -> bool:
    """``helper()`` or ``self._helper()`` defined in this module, and unable to raise."""
    if isinstance(func, cst.Name):
        function = ctx.functions.get(func.value)
    elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self":
        info = ctx.scope.class_info if ctx.scope is not None else None
        function = info.methods.get(func.attr.value) if info is not None else None
    else:
        return False
    if function is None:
        return False
    return quiet_functions_of(ctx).cannot_raise(function)


# What a call raises when it is misused (a closed socket registered with a selector); a
# handler for one of them around the call says the code expects that misuse.
_MISUSE_ERRORS = frozenset({"ValueError", "TypeError", "KeyError", "AttributeError"})


def _guarded_against_misuse(ctx: "ModuleContext", call: cst.Call) -> bool:
    """``try: sel.register(sock, ...) except (TypeError, ValueError): return -1``: the code
    catches what the call raises only on misuse, so there it is a path the code is written
    for (a mock or closed socket), not a failure to rule out."""
    scope = ctx.scope.node if ctx.scope is not None else ctx.module
    for node, _path in find(scope, (cst.Try,)):
        names = set()
        for handler in node.handlers:  # type: ignore[attr-defined]
            kind = handler.type
            for element in kind.elements if isinstance(kind, cst.Tuple) else [kind] if kind is not None else []:
                value = element.value if isinstance(element, cst.Element) else element
                names.add((dotted(value) or "").rsplit(".", 1)[-1])
        if names & _MISUSE_ERRORS and any(found is call for found, _ in find(node.body, (cst.Call,))):  # type: ignore[attr-defined]
            return True
    return False


def _in_evaluation_order(nodes: List[cst.CSTNode], paths: dict) -> List[cst.CSTNode]:
    """``nodes`` (in source order) in the order they run: a call's receiver and arguments
    before the call itself (``os.chown(p, int(owner))`` runs ``int()`` first)."""
    kept = {id(node) for node in nodes}
    children: dict = {}
    roots: List[cst.CSTNode] = []
    for node in nodes:
        parent = next((a for a in reversed(paths.get(id(node), ())) if id(a) in kept), None)
        if parent is None:
            roots.append(node)
        else:
            children.setdefault(id(parent), []).append(node)
    ordered: List[cst.CSTNode] = []
    # Depth first, children before their parent, with an explicit stack (a closure calling
    # itself would be a reference cycle holding the nodes until a garbage collection).
    stack: List[Tuple[cst.CSTNode, bool]] = [(root, False) for root in reversed(roots)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            ordered.append(node)
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(children.get(id(node), ())))
    return ordered



def reachable_handlers(ctx: "ModuleContext", node: cst.Try) -> List[cst.ExceptHandler]:
    """The ``except`` clauses of ``node`` that can catch something its body raises: not one
    whose every exception only calls the body does not make raise (``except
    CalledProcessError`` around ``Popen`` and reads; ``calls.toml`` [raising] raised_only_by)."""
    handlers = list(node.handlers)
    if not KNOWLEDGE.raised_only_by:
        return handlers
    made: Set[str] = set()
    for found, _path in find(node.body, (cst.Call, cst.Raise)):
        if isinstance(found, cst.Raise):
            return handlers
        func = found.func  # type: ignore[attr-defined]
        made.add(func.attr.value if isinstance(func, cst.Attribute) else (dotted(func) or "").rsplit(".", 1)[-1])
    return [handler for handler in handlers if _may_catch(ctx, handler, made)]


def _may_catch(ctx: "ModuleContext", handler: cst.ExceptHandler, made: Set[str]) -> bool:
    kind = handler.type
    if kind is None:
        return True
    names = [element.value for element in kind.elements] if isinstance(kind, cst.Tuple) else [kind]
    for name in names:
        raisers = KNOWLEDGE.raised_only_by.get(ctx.resolve(name) or "")
        if raisers is None or raisers & made:
            return True
    return False


def _reopens_fresh_path(ctx: "ModuleContext", call: cst.Call, held_names: Set[str], model: str) -> bool:
    """``wave.open(tmp_path, "wb")`` while following ``tmp_path``, a temporary file this code
    just made: opening it again by its path (a known acquisition) is the use it was made for
    and cannot realistically fail; what is then done with the file object can."""
    spec = KNOWLEDGE.models.get(model)
    if spec is None or not spec.is_path or not call.args or call.args[0].keyword is not None:
        return False
    return dotted(call.args[0].value) in held_names and (ctx.resolve(call.func) or "") in ctx.table

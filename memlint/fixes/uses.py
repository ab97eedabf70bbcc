"""How one use of a resource (or of a name holding it) constrains the ``with`` around it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import FrozenSet, List, Optional, Set, Tuple

import libcst as cst

from memlint.fixes._analysis_view import (
    ANY_RELEASE_FUNCS,
    BORROWER_PREFIXES,
    BORROWERS,
    BORROWING_KEYWORDS,
    LOGGING_METHODS,
    RESOURCE_CALLS,
    dotted,
    find,
)
from memlint.fixes.context import FixContext
from memlint.fixes.mentions import is_store
from memlint.fixes.table import (
    ATTACHED_METHODS,
    DETACHING_ATTRIBUTES,
    DETACHING_METHODS,
    EAGER_CONSUMERS,
    LOCKING_CALLS,
    MANAGEABLE,
)

NESTED_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda, cst.GeneratorExp)
# Literals built around a value on its way into a call: ``Thread(args=(f,))``.
CONTAINERS = (cst.Element, cst.StarredElement, cst.Tuple, cst.List, cst.Set, cst.DictElement, cst.Dict)


def is_release_call(found: cst.CSTNode, path: Tuple[cst.CSTNode, ...], releases: Set[str], fx: FixContext) -> bool:
    parent = path[-1] if path else None
    grand = path[-2] if len(path) > 1 else None
    if isinstance(parent, cst.Attribute) and parent.value is found and parent.attr.value in releases:
        # ``f.close`` not called closes nothing: a plain use (``atexit.register(f.close)``
        # hands the method to a call, which refuses the fix as a hand-off).
        return isinstance(grand, cst.Call) and grand.func is parent
    if isinstance(parent, cst.Arg) and isinstance(grand, cst.Call):
        qualified = fx.resolve(grand.func)
        last = qualified.rsplit(".", 1)[-1]
        if qualified in ANY_RELEASE_FUNCS or last in ("closing", "aclosing", "enter_context", "enter_async_context", "callback", "register", "finalize"):
            return True
    return isinstance(parent, cst.WithItem)


def is_detached(
    found: cst.CSTNode,
    path: Tuple[cst.CSTNode, ...],
    fx: FixContext,
    extra: FrozenSet[str] = frozenset(),
    vanishing: FrozenSet[str] = frozenset(),
) -> bool:
    """The value of the expression around this mention holds no reference to the resource:
    ``f.read()``, ``conn.execute(q).fetchall()``, ``json.load(f)``, ``db[key]``, ``s.name``
    (unless ``name`` is in ``vanishing``: a path that closing removes), ``helper(f)`` for a
    module function that only reads its parameter."""
    parent = path[-1] if path else None
    grand = path[-2] if len(path) > 1 else None
    if isinstance(parent, cst.Attribute) and parent.value is found:
        current: cst.CSTNode = found
        depth = len(path)
        # Walk up a chain of method calls: one detaching call makes the rest plain data.
        while depth >= 2:
            attribute, call = path[depth - 1], path[depth - 2]
            if not (isinstance(attribute, cst.Attribute) and attribute.value is current):
                break
            if not (isinstance(call, cst.Call) and call.func is attribute):
                if attribute.attr.value in DETACHING_ATTRIBUTES - vanishing:
                    # ``f.name``, and a plain value read off a result: ``conn.getresponse().status``.
                    return True
                # ``proc.stdout.readline()``: step over a plain attribute.
                current = attribute
                depth -= 1
                continue
            method = attribute.attr.value
            if (method in DETACHING_METHODS or method in extra) and not _streams(call):
                return True
            current = call
            depth -= 2
        return False
    if isinstance(parent, cst.Arg) and isinstance(grand, cst.Call) and parent.value is found:
        return fx.resolve(grand.func) in EAGER_CONSUMERS or helper_borrows(fx, grand, parent)
    if isinstance(parent, cst.Subscript) and parent.value is found:
        return True
    if isinstance(parent, cst.For) and parent.iter is found:
        return True
    if isinstance(parent, (cst.Comparison, cst.ComparisonTarget)):
        return True
    if isinstance(parent, (cst.If, cst.While)) and parent.test is found:
        return True
    return False


def handed_to_unknown_call(found: cst.CSTNode, path: Tuple[cst.CSTNode, ...], fx: FixContext) -> bool:
    """``register(x)``, ``self.set_socket(x)``, ``Thread(args=(x,))``: a call that may keep
    ``x`` after the ``with`` closed it. Readers that only borrow it (``json.load``,
    ``shutil.copyfileobj``, ``print(file=x)``, logging, a module function that only reads its
    parameter) are fine; a lazy one (``csv.reader``) taints its result."""
    depth = len(path)
    node = found
    # ``f(x)``, and ``f((x, y))``, ``f(args=[x])``: a container built for the call.
    while depth >= 1 and isinstance(path[depth - 1], CONTAINERS):
        node = path[depth - 1]
        depth -= 1
    parent = path[depth - 1] if depth >= 1 else None
    grand = path[depth - 2] if depth >= 2 else None
    if not (isinstance(parent, cst.Arg) and parent.value is node and isinstance(grand, cst.Call)):
        return False
    qualified = fx.resolve(grand.func)
    last = qualified.rsplit(".", 1)[-1] if qualified else ""
    if qualified in EAGER_CONSUMERS or qualified in BORROWERS or qualified.startswith(BORROWER_PREFIXES):
        return False
    if node is found and helper_borrows(fx, grand, parent):
        return False
    return last not in LOGGING_METHODS


# Callables that keep what they are given as ``file=`` for later (the fault handler writes
# to it when a signal comes, a pickler for each ``dump``): not lent, whatever the keyword
# says. Resource constructors (``zipfile.ZipFile(file=f)``) keep it in their result.
KEEPS_FILE_KEYWORD = ("faulthandler.", "pickle.Pickler", "pickle.Unpickler", "_pickle.")


def lent_by_keyword(found: cst.CSTNode, path: Tuple[cst.CSTNode, ...], fx: FixContext) -> bool:
    """``api.upload(file=f)``: given to a call the fixer does not know under a keyword that
    the analysis takes as a loan (``file=``). Uploads and writers read or write it while
    they run, but nothing proves that this callee keeps no reference: its fix is unsafe."""
    parent = path[-1] if path else None
    grand = path[-2] if len(path) > 1 else None
    if not (isinstance(parent, cst.Arg) and parent.value is found and isinstance(grand, cst.Call)):
        return False
    if parent.keyword is None or parent.keyword.value not in BORROWING_KEYWORDS:
        return False
    qualified = fx.resolve(grand.func)
    return not (qualified.startswith(KEEPS_FILE_KEYWORD) or qualified in RESOURCE_CALLS or qualified in MANAGEABLE)


def reach(
    found: cst.CSTNode, path: Tuple[cst.CSTNode, ...], vanishing: FrozenSet[str]
) -> Tuple[cst.CSTNode, Tuple[cst.CSTNode, ...], bool]:
    """The expression around a mention that still reaches the resource, the path above it,
    and whether it went through a ``vanishing`` attribute (a path that closing removes).

    ``f.readline`` and ``proc.stdout`` (attributes not called) and ``f.fileno()`` (a
    descriptor that dies with the object) reach it; a called method stops the climb (its
    result is judged by ``is_detached``), and so does a detaching attribute like ``f.mode``.
    """
    node = found
    depth = len(path)
    through_vanishing = False
    while depth >= 1:
        parent = path[depth - 1]
        if not (isinstance(parent, cst.Attribute) and parent.value is node):
            break
        attribute = parent.attr.value
        grand = path[depth - 2] if depth >= 2 else None
        if isinstance(grand, cst.Call) and grand.func is parent:
            if attribute not in ATTACHED_METHODS:
                break
            node, depth = grand, depth - 2
            continue
        if attribute in vanishing:
            through_vanishing = True
        elif attribute in DETACHING_ATTRIBUTES:
            break
        node, depth = parent, depth - 1
    return node, path[:depth], through_vanishing


def takes_lock(node: cst.CSTNode, path: Tuple[cst.CSTNode, ...], fx: FixContext) -> bool:
    """``fcntl.flock(f, ...)``, ``fcntl.lockf(fd, ...)``: a lock that lasts as long as the file is open."""
    parent = path[-1] if path else None
    grand = path[-2] if len(path) > 1 else None
    return (
        isinstance(parent, cst.Arg)
        and parent.value is node
        and isinstance(grand, cst.Call)
        and fx.resolve(grand.func) in LOCKING_CALLS
    )


def _streams(call: cst.Call) -> bool:
    """``session.get(url, stream=True)``: the response reads from the session later."""
    return any(arg.keyword is not None and arg.keyword.value == "stream" for arg in call.args)


def small_of(path: Tuple[cst.CSTNode, ...]) -> Optional[cst.CSTNode]:
    for node in reversed(path):
        if isinstance(node, cst.BaseSmallStatement):
            return node
    return None


def bound_targets(small: cst.CSTNode) -> Optional[List[str]]:
    """Plain names bound by an assignment; None if some target is not a plain name."""
    if isinstance(small, cst.Assign):
        targets = [t.target for t in small.targets]
    elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
        targets = [small.target]
    else:
        return None
    names: List[str] = []
    for target in targets:
        if isinstance(target, cst.Name):
            names.append(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)) and all(isinstance(e.value, cst.Name) for e in target.elements):
            names.extend(e.value.value for e in target.elements)  # type: ignore[attr-defined]
        else:
            return None
    return names


class Refused(Exception):
    """The range cannot be covered by ``with`` without changing behaviour."""


@dataclass
class Tracking:
    """What following the uses of one resource through a block has found so far."""

    # The resource's own name.
    name: str
    # Names that hold the resource or something that dies with it (a descriptor, a method).
    held: Set[str]
    # Methods of this kind whose result holds nothing of it (``Manageable.detaching``).
    extra: FrozenSet[str] = frozenset()
    # Attributes naming what closing removes (``NamedTemporaryFile().name``).
    vanishing: FrozenSet[str] = frozenset()
    # Some use needs the resource open as long as the code gave it (a lock taken on it, a
    # path copied out): the ``with`` must end where the scope ends.
    pinned: bool = False
    # Some use hands it to a call that may keep it (``register(f)``).
    handed: bool = False
    # Some use lends it to an unknown call as ``file=`` (``lent_by_keyword``).
    lent: bool = False


def follow(statement: cst.CSTNode, state: Tracking, fx: FixContext) -> bool:
    """Whether ``statement`` mentions the resource (or what holds it); grows ``state``.
    Raises ``Refused`` for a use ``with`` cannot keep."""
    seen: Set[int] = set()
    mentioned = False
    # What a statement binds from the resource may be used later in the same statement (a
    # loop body, the next iteration): repeat until no new name holds it.
    while True:
        before = len(state.held)
        for found, path in fx.mention_index.of(statement, state.held):
            if id(found) in seen:
                continue
            seen.add(id(found))
            mentioned = True
            check_use(found, path, state, fx)
        if len(state.held) == before:
            return mentioned


def check_use(found: cst.CSTNode, path: Tuple[cst.CSTNode, ...], state: Tracking, fx: FixContext) -> None:
    """Check one use of the resource (or of a name holding it); add the names it binds."""
    if any(isinstance(p, NESTED_SCOPES) for p in path):
        raise Refused("used in a nested function, class or generator")
    if is_store(found, path):
        if dotted(found) == state.name:  # type: ignore[arg-type]
            raise Refused("rebound")
        # A name holding something derived from it, (re)bound: it stays held, to be safe.
        return
    node, path, vanishing = reach(found, path, state.vanishing)
    if takes_lock(node, path, fx):
        state.pinned = True
        return
    if vanishing:
        # A path that closing deletes: the code deleted it when the function's locals died,
        # wherever the path went; a ``with`` to the end of the function deletes it there too.
        state.pinned = True
        return
    if is_detached(node, path, fx, state.extra, state.vanishing):
        return
    if lent_by_keyword(node, path, fx):
        state.lent = True
        # Taken as borrowed for the call only, as the analysis does (an unsafe fix).
        return
    small = small_of(path)
    if isinstance(small, (cst.Return,)) or any(isinstance(p, (cst.Yield, cst.Return)) for p in path):
        raise Refused("returned or yielded while it may still be needed")
    if handed_to_unknown_call(node, path, fx):
        # It may be kept: only a release later in the block, which closes it where the
        # ``with`` would on every path that reaches it, allows a fix (``bound_plan``).
        state.handed = True
    with_item = next((p for p in reversed(path) if isinstance(p, cst.WithItem)), None)
    if with_item is not None:
        if with_item.asname is None or not isinstance(with_item.asname.name, cst.Name):
            raise Refused("managed by another with")
        state.held.add(with_item.asname.name.value)
        return
    named = next((p for p in reversed(path) if isinstance(p, cst.NamedExpr)), None)
    if named is not None:
        raise Refused("bound by a walrus")
    if isinstance(small, cst.Expr):
        return
    if small is None:
        # A compound statement's header: ``if``/``while`` tests and ``for`` iterables are
        # consumed by the statement itself.
        header = next((p for p in reversed(path) if isinstance(p, cst.BaseCompoundStatement)), None)
        if isinstance(header, cst.For) and any(p is header.iter for p in path):
            return
        if isinstance(header, (cst.If, cst.While)) and any(p is header.test for p in path):
            return
        raise Refused("used in a statement header")
    targets = bound_targets(small)
    if targets is None:
        raise Refused("stored somewhere the fixer cannot follow")
    state.held.update(targets)


# -- plain helpers -------------------------------------------------------------------


def helper_borrows(fx: FixContext, call: cst.Call, arg: cst.Arg) -> bool:
    """Whether ``call`` is a call of a plain function of this module that only uses the
    parameter ``arg`` is passed to while it runs (reads it, passes it to borrowers), so
    that nothing of the resource outlives the call."""
    if not isinstance(call.func, cst.Name) or arg.star:
        return False
    function = fx.functions.get(call.func.value)
    if function is None or function.decorators or function.asynchronous is not None:
        return False
    parameter = _parameter_for(function, call, arg)
    if parameter is None:
        return False
    key = (call.func.value, parameter)
    known = fx.borrowing.get(key)
    if known is None:
        # A helper that calls itself is not assumed to borrow while it is being judged.
        fx.borrowing[key] = False
        fx.borrowing[key] = known = _only_borrows(fx, function, parameter)
    return known


def _parameter_for(function: cst.FunctionDef, call: cst.Call, arg: cst.Arg) -> Optional[str]:
    """The name of the parameter that receives ``arg`` in ``call``, or None."""
    params = function.params
    if arg.keyword is not None:
        named = [p.name.value for p in list(params.params) + list(params.kwonly_params)]
        return arg.keyword.value if arg.keyword.value in named else None
    positional = list(params.posonly_params) + list(params.params)
    index = 0
    for candidate in call.args:
        if candidate.star:
            return None
        if candidate is arg:
            return positional[index].name.value if index < len(positional) else None
        if candidate.keyword is None:
            index += 1
    return None


def _only_borrows(fx: FixContext, function: cst.FunctionDef, parameter: str) -> bool:
    """Follow ``parameter`` through the function body as the fixer follows a resource."""
    body = function.body
    if not isinstance(body, cst.IndentedBlock):
        return False
    if find(body, (cst.Yield, cst.Global, cst.Nonlocal)):
        # A generator reads the parameter after the call returns; a global keeps it.
        return False
    state = Tracking(parameter, {parameter})
    try:
        for statement in body.body:
            follow(statement, state, fx)
    except Refused:
        return False
    return not (state.pinned or state.handed or state.lent)

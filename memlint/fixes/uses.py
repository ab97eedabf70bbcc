"""How one use of a resource (or of a name holding it) constrains the ``with`` around it."""

from __future__ import annotations

from typing import FrozenSet, List, Optional, Set, Tuple

import libcst as cst

from memlint.fixes._analysis_view import (
    ANY_RELEASE_FUNCS,
    BORROWER_PREFIXES,
    BORROWERS,
    LOGGING_METHODS,
    dotted,
)
from memlint.fixes.context import FixContext
from memlint.fixes.mentions import is_store, mentions
from memlint.fixes.table import DETACHING_ATTRIBUTES, DETACHING_METHODS, EAGER_CONSUMERS

NESTED_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda, cst.GeneratorExp)


def is_release_call(found: cst.CSTNode, path: Tuple[cst.CSTNode, ...], releases: Set[str], fx: FixContext) -> bool:
    parent = path[-1] if path else None
    grand = path[-2] if len(path) > 1 else None
    if isinstance(parent, cst.Attribute) and parent.value is found and parent.attr.value in releases:
        return True
    if isinstance(parent, cst.Arg) and isinstance(grand, cst.Call):
        qualified = fx.resolve(grand.func)
        last = qualified.rsplit(".", 1)[-1]
        if qualified in ANY_RELEASE_FUNCS or last in ("closing", "aclosing", "enter_context", "enter_async_context", "callback", "register", "finalize"):
            return True
    return isinstance(parent, cst.WithItem)


def is_detached(
    found: cst.CSTNode, path: Tuple[cst.CSTNode, ...], fx: FixContext, extra: FrozenSet[str] = frozenset()
) -> bool:
    """The value of the expression around this mention holds no reference to the resource:
    ``f.read()``, ``conn.execute(q).fetchall()``, ``json.load(f)``, ``db[key]``, ``s.name``."""
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
                if current is found and attribute.attr.value in DETACHING_ATTRIBUTES:
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
        return fx.resolve(grand.func) in EAGER_CONSUMERS
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
    """``register(x)``, ``self.set_socket(x)``: a call that may keep ``x`` after the ``with``
    closed it. Readers that only borrow it (``json.load``, ``shutil.copyfileobj``,
    ``print(file=x)``, logging) are fine; a lazy one (``csv.reader``) taints its result."""
    parent = path[-1] if path else None
    grand = path[-2] if len(path) > 1 else None
    if not (isinstance(parent, cst.Arg) and parent.value is found and isinstance(grand, cst.Call)):
        return False
    qualified = fx.resolve(grand.func)
    last = qualified.rsplit(".", 1)[-1] if qualified else ""
    if qualified in EAGER_CONSUMERS or qualified in BORROWERS or qualified.startswith(BORROWER_PREFIXES):
        return False
    return last not in LOGGING_METHODS


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


def follow(
    statement: cst.CSTNode, tainted: Set[str], name: str, fx: FixContext, extra: FrozenSet[str]
) -> Tuple[bool, Set[str]]:
    """Whether ``statement`` mentions the resource (or what holds it), and the names that
    hold it after the statement. Raises ``Refused`` for a use ``with`` cannot keep."""
    grown = set(tainted)
    seen: Set[int] = set()
    mentioned = False
    # What a statement binds from the resource may be used later in the same statement (a
    # loop body, the next iteration): repeat until no new name holds it.
    while True:
        before = len(grown)
        for found, path in mentions(statement, set(grown)):
            if id(found) in seen:
                continue
            seen.add(id(found))
            mentioned = True
            check_use(statement, found, path, name, grown, fx, extra)
        if len(grown) == before:
            return mentioned, grown


def check_use(
    statement: cst.CSTNode,
    found: cst.CSTNode,
    path: Tuple[cst.CSTNode, ...],
    name: str,
    grown: Set[str],
    fx: FixContext,
    extra: FrozenSet[str],
) -> None:
    """Check one use of the resource (or of a name holding it); add the names it binds."""
    if any(isinstance(p, NESTED_SCOPES) for p in path):
        raise Refused("used in a nested function, class or generator")
    if is_store(found, path):
        if dotted(found) == name:  # type: ignore[arg-type]
            raise Refused("rebound")
        # A name holding something derived from it, (re)bound: it stays held, to be safe.
        return
    if is_detached(found, path, fx, extra):
        return
    small = small_of(path)
    if isinstance(small, (cst.Return,)) or any(isinstance(p, (cst.Yield, cst.Return)) for p in path):
        raise Refused("returned or yielded while it may still be needed")
    if handed_to_unknown_call(found, path, fx):
        raise Refused("passed to a call that may keep it")
    with_item = next((p for p in reversed(path) if isinstance(p, cst.WithItem)), None)
    if with_item is not None:
        if with_item.asname is None or not isinstance(with_item.asname.name, cst.Name):
            raise Refused("managed by another with")
        grown.add(with_item.asname.name.value)
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
    grown.update(targets)

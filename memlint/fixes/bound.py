"""The ``bound`` fix: ``x = acquire()`` followed by its uses (and maybe ``x.close()``) -> ``with``.

Several bound resources acquired one after the other whose ranges nest and end together
become one ``with a as x, b as y:`` (``merge``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, FrozenSet, List, Optional, Sequence, Set, Tuple

import libcst as cst

from memlint.fixes._analysis_view import Acquisition, Defect, dotted, find
from memlint.fixes.context import SMALL, Block, FixContext
from memlint.fixes.model import Manageable, WithItemPlan, WithRewrite
from memlint.fixes.stacks import entries_never_swallow, leaves_early
from memlint.fixes.uses import Refused, Tracking, follow, is_release_call

# The longest header merged into one ``with a as x, b as y:`` line.
MAX_HEADER = 80
EFFECTS = (cst.Call, cst.Await, cst.Yield)
# Categories where the release, if any, sits in the acquisition's own block.
BOUND_CATEGORIES = frozenset({"never", "return", "raise", "loop-exit", "error", "branch"})
# What ``with`` itself does, besides the kind's release methods: never a plain use.
ALWAYS_RELEASES = frozenset({"close", "aclose", "__exit__", "__aexit__", "detach", "release", "cleanup"})


@dataclass
class BoundPlan:
    """A range of one block that a ``with`` can cover for one named resource."""

    defect: Defect
    block: Block
    start: int
    end: int
    name: str
    call: cst.CSTNode
    manageable: Manageable
    release: Optional[cst.CSTNode]
    safe: bool
    # Statements at indexes inside the range that the rewrite removes.
    drops: Set[int] = field(default_factory=set)


def bound_plan(fx: FixContext, defect: Defect) -> Optional[BoundPlan]:
    """The range a ``with`` covers for ``x = acquire()`` (or ``lock.acquire()``), or None."""
    acquisition = defect.acquisition
    if acquisition is None or defect.category not in BOUND_CATEGORIES or len(acquisition.names) != 1:
        return None
    scope = acquisition.scope
    statement = acquisition.statement
    if scope is None or statement is None:
        return None
    name = acquisition.names[0]
    header = _lock_header(acquisition, statement, name)
    if header is not None:
        call, manageable = header, LOCK
    else:
        found = _assigned_call(fx, acquisition, statement, name)
        if found is None:
            return None
        call, manageable = found
    if manageable.is_async and not (isinstance(scope, cst.FunctionDef) and scope.asynchronous is not None):
        return None
    located = fx.block_of_statement(scope, statement)
    if located is None:
        return None
    block, start = located
    line = block.statements[start]
    if not isinstance(line, SMALL) or len(line.body) != 1:
        return None
    releases = set(manageable.releases) | set(acquisition.spec.release) | ALWAYS_RELEASES
    if manageable is LOCK:
        releases |= {"acquire"}
    vanishing = _vanishing(manageable, call)
    if vanishing is None:
        return None
    owned = _owned_names(manageable, call)
    state = Tracking(name, {name} | owned, manageable.detaching, vanishing)
    seen = fx.mention_index
    seen.focus(scope)
    end = start
    release_index: Optional[int] = None
    release_node: Optional[cst.CSTNode] = None
    kept_release = False
    try:
        for index in range(start + 1, len(block.statements)):
            item = block.statements[index]
            if _deletes(item, name) and state.held == {name}:
                # ``del f``: the last reference goes, and CPython closes the file right there.
                release_node, release_index, end = item, index, index
                break
            own = seen.of(item, (name,))
            if any(is_release_call(m[0], m[1], releases, fx) for m in own) or _finishes(item, name, manageable):
                release_node = plain_release(item, name, manageable)
                if len(own) != 1:
                    return None
                if release_node is None:
                    if not _finishes(item, name, manageable):
                        return None
                    # ``out, err = proc.communicate()``: kept, and the ``with`` ends with it.
                    kept_release = True
                release_index = end = index
                break
            if follow(item, state, fx):
                end = index
    except Refused:
        return None
    if manageable.lasting and release_index is None and not is_quiet(manageable, call):
        state.pinned = True
    if state.pinned and release_index is None:
        # Held for as long as the function runs (a lock taken on it, its path in use): the
        # ``with`` ends where the function's locals die, not earlier.
        if not (block.top and isinstance(scope, cst.FunctionDef)):
            return None
        end = len(block.statements) - 1
    if end == start or (release_index is not None and release_index == start + 1 and not kept_release):
        # Nothing between acquiring and releasing (``o = BZ2File(p); del o`` in a test of
        # ``__del__``): a ``with ...: pass`` would say something else.
        return None
    if state.handed and (
        release_index is None or _deletes(release_node, name) or leaves_early(block.statements[start + 1 : release_index])
    ):
        # Given to a call that may keep it: the ``with`` closes it where the code did only
        # when every path that does not raise runs to the release (``del x`` then closes
        # nothing: the call's reference keeps it open).
        return None
    in_range = list(block.statements[start : end + 1])
    for held in state.held if release_index is None else {name}:
        outside = seen.count([scope], held) - seen.count(in_range, held)
        if held in owned:
            # ``fd = os.open(p)`` before ``os.fdopen(fd)`` is fine; only later uses count.
            outside = seen.count([scope], held) - seen.count(block.statements[: end + 1], held)
        elif release_index is not None:
            # The ``with`` binds the name when the code did and closes where it did on the
            # normal path, the only path that reaches the rest of the block: later
            # statements (``tmp.name``, ``proc.returncode``, ``f = open(other)``) see what
            # they saw. Earlier ones too, unless a loop brings them back after an error.
            outside -= seen.count(block.statements[end + 1 :], held)
            if not block.in_loop:
                outside -= seen.count(block.statements[:start], held)
        if outside:
            return None
    # A lock never released was held on purpose, or is a bug whose fix is a decision.
    explicit = release_index is not None
    safe = manageable.safe and (
        explicit or is_quiet(manageable, call) or (manageable is not LOCK and _nothing_observes_after(block, end))
    )
    if state.lent:
        safe = False
    if manageable.holds_exits and not entries_never_swallow(
        fx, in_range[1:], name, frozenset(releases), released=release_index is not None
    ):
        safe = False
    drops = {start} | ({release_index} if release_index is not None and not kept_release else set())
    return BoundPlan(defect, block, start, end, name, call, manageable, release_node, safe, drops)


def _vanishing(manageable: Manageable, call: cst.CSTNode) -> Optional[FrozenSet[str]]:
    """The attributes of this acquisition that name what closing removes; None when the
    ``with`` would remove it at another moment than the code does (``delete_on_close``)."""
    if not manageable.vanishing or not isinstance(call, cst.Call):
        return manageable.vanishing
    keywords = {arg.keyword.value: arg.value for arg in call.args if arg.keyword is not None}
    if "delete_on_close" in keywords or any(arg.star for arg in call.args):
        return None
    delete = keywords.get("delete")
    if isinstance(delete, cst.Name) and delete.value == "False":
        return frozenset()
    return manageable.vanishing


def _owned_names(manageable: Manageable, call: cst.CSTNode) -> Set[str]:
    """Plain names passed where the acquisition takes ownership (``os.fdopen(fd)``)."""
    if not manageable.owns or not isinstance(call, cst.Call):
        return set()
    positional = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
    keywords = {arg.keyword.value: arg.value for arg in call.args if arg.keyword is not None}
    names: Set[str] = set()
    for position, keyword in manageable.owns:
        value = positional[position] if position < len(positional) else keywords.get(keyword)
        if value is not None:
            names.update(node.value for node, _ in find(value, (cst.Name,), stop=()))  # type: ignore[attr-defined]
    return names


def _finishes(statement: cst.CSTNode, name: str, manageable: Manageable) -> bool:
    """``name.communicate(...)`` or ``rc = name.wait()`` alone on its line (for ``finishing``)."""
    if not manageable.finishing or not isinstance(statement, SMALL) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    if isinstance(small, cst.Expr):
        value = small.value
    elif isinstance(small, cst.Assign):
        value = small.value
    else:
        return False
    return (
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Attribute)
        and dotted(value.func.value) == name
        and value.func.attr.value in manageable.finishing
    )


# ``lock.acquire()`` ... ``lock.release()`` -> ``with lock:``.
LOCK = Manageable(frozenset({"release"}), stem="lock")


def _lock_header(acquisition: Acquisition, statement: cst.CSTNode, name: str) -> Optional[cst.CSTNode]:
    """The lock expression of a blocking ``lock.acquire()`` statement, or None."""
    if acquisition.spec.kind != "lock" or not isinstance(statement, cst.Expr):
        return None
    call = statement.value
    if not isinstance(call, cst.Call) or call.args or not isinstance(call.func, cst.Attribute):
        return None
    if call.func.attr.value != "acquire" or dotted(call.func.value) != name:
        return None
    return call.func.value


def _assigned_call(
    fx: FixContext, acquisition: Acquisition, statement: cst.CSTNode, name: str
) -> Optional[Tuple[cst.CSTNode, Manageable]]:
    """For ``x = call()`` (or ``x = await call()``) of a manageable kind: the call and its kind."""
    if not isinstance(statement, cst.Assign) or len(statement.targets) != 1:
        return None
    target = statement.targets[0].target
    if not isinstance(target, cst.Name) or target.value != name:
        return None
    manageable = fx.manageable(acquisition)
    if manageable is None:
        return None
    value = statement.value
    if manageable.awaited != isinstance(value, cst.Await):
        return None
    call = value.expression if isinstance(value, cst.Await) else value
    if call is not acquisition.call and value is not acquisition.call:
        return None
    return call, manageable


def plain_release(statement: cst.CSTNode, name: str, manageable: Manageable) -> Optional[cst.CSTNode]:
    """``x.close()`` alone on its line, with no argument and its value unused."""
    if not isinstance(statement, SMALL) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if not isinstance(small, cst.Expr):
        return None
    value = small.value
    if manageable.is_async:
        if not isinstance(value, cst.Await):
            return None
        value = value.expression
    if not isinstance(value, cst.Call) or value.args or not isinstance(value.func, cst.Attribute):
        return None
    func = value.func
    if dotted(func.value) != name or func.attr.value not in manageable.releases:
        return None
    return statement


def _deletes(statement: Optional[cst.CSTNode], name: str) -> bool:
    """``del name`` alone on its line."""
    if statement is None or not isinstance(statement, SMALL) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    return isinstance(small, cst.Del) and isinstance(small.target, cst.Name) and small.target.value == name


def is_quiet(manageable: Manageable, call: cst.CSTNode) -> bool:
    """Whether closing this resource earlier than the code did is invisible to later code."""
    if not manageable.quiet or not isinstance(call, cst.Call):
        return False
    positional = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
    modes = [positional[i] for i in manageable.mode_args if i < len(positional)]
    modes += [arg.value for arg in call.args if arg.keyword is not None and arg.keyword.value == "mode"]
    if any(arg.star for arg in call.args) and manageable.mode_args:
        return False
    for mode in modes:
        if not isinstance(mode, cst.SimpleString):
            return False
        if set(str(mode.evaluated_value)) & set("wax+"):
            return False
    return True


def _nothing_observes_after(block: Block, end: int) -> bool:
    """With no release call to stand in for, ``with`` closes at the end of the range where the
    code closed at the end of the function (or never). Only when nothing that runs later
    can look (no call at all) is that the same behaviour."""
    if not block.top:
        return False
    for statement in block.statements[end + 1 :]:
        if any(True for _ in find(statement, EFFECTS, stop=())):
            return False
    return True


def rewrite_for_plans(fx: FixContext, plans: Sequence[BoundPlan]) -> Optional[WithRewrite]:
    """One ``with`` for one plan, or for several plans whose ranges nest and end together."""
    outer = plans[0]
    drops: Set[int] = set()
    items: List[WithItemPlan] = []
    needs_import = False
    for plan in plans:
        drops |= plan.drops
        found = fx.wrapper_for(plan.manageable)
        if found is None:
            return None
        wrapper, added = found
        needs_import = needs_import or added
        items.append(WithItemPlan(plan.call, "" if plan.manageable is LOCK else plan.name, wrapper))
    names = ", ".join(f"`{plan.name}`" for plan in plans)
    statements = outer.block.statements
    rewrite = WithRewrite(
        message=f"use `{'async ' if outer.manageable.is_async else ''}with` for {names}",
        safe=all(plan.safe for plan in plans),
        first=statements[outer.start],
        last=statements[outer.end],
        items=tuple(items),
        is_async=outer.manageable.is_async,
        drop=tuple(statements[index] for index in sorted(drops) if index != outer.start),
        indent_step=outer.block.step,
    )
    return fx.with_import(rewrite) if needs_import else rewrite


def merge(plans: List[BoundPlan], code: Callable[[cst.CSTNode], str]) -> List[List[BoundPlan]]:
    """Group plans of one block acquired back to back whose ranges end together.

    ``fin = open(a)`` / ``fout = open(b)`` / ... / ``fout.close()`` / ``fin.close()``
    becomes ``with open(a) as fin, open(b) as fout:``; the closes must come in reverse
    order of acquisition, as ``with`` releases them.
    """
    by_start = {plan.start: plan for plan in plans}
    groups: List[List[BoundPlan]] = []
    used: Set[int] = set()
    for plan in sorted(plans, key=lambda p: p.start):
        if id(plan) in used:
            continue
        group = [plan]
        used.add(id(plan))
        while True:
            follower = by_start.get(group[-1].start + 1)
            if follower is None or id(follower) in used or follower.manageable.is_async != plan.manageable.is_async:
                break
            dropped = _drops(group)
            # Only the releases of the outer ones may follow the inner range.
            if follower.end > plan.end or any(i not in dropped for i in range(follower.end + 1, plan.end + 1)):
                break
            if sum(len(code(p.call)) + len(p.name) + 6 for p in group + [follower]) > MAX_HEADER:
                # One long line reads worse than nested withs (and 3.9 has no parentheses).
                break
            group.append(follower)
            used.add(id(follower))
        groups.append(group)
    return groups


def _drops(group: List[BoundPlan]) -> Set[int]:
    found: Set[int] = set()
    for plan in group:
        found |= plan.drops
    return found

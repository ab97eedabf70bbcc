"""The ``handoff`` fix: close a resource when the code before its hand-off raises (MEM003).

``x = acquire()``, a few statements that use ``x`` (and may raise), then one statement that
hands ``x`` on: ``return Wrapper(x)``, ``self.x = x``, ``logger.addHandler(x)``,
``stack.enter_context(x)``. From there on ``x`` belongs to someone else, so no ``with`` is
right (it would close what the receiver now holds). What the finding asks for is a release
on the error path only::

    x = acquire()
    try:
        ...            # the statements before the hand-off, as written
    except BaseException:
        x.close()
        raise
    logger.addHandler(x)

On the normal path nothing changes (a ``try`` that raises nothing does nothing); on the
error path the resource is closed before the same exception goes on. The builder refuses
unless every use of ``x`` before the hand-off leaves nothing of it behind (the ``with``
fix's own test, ``memlint.fixes.uses``), every statement the analysis names as raising lies
in the guarded range, none of them releases ``x`` already, the hand-off is a plain statement that names ``x`` itself (a return,
an argument, the value stored into an attribute or item), and ``close()`` is what both the
fixer's table and the analysis know as the kind's release.
"""

from __future__ import annotations

from typing import FrozenSet, Optional, Sequence

import libcst as cst

from memlint.fixes._analysis_view import Defect, find
from memlint.fixes.context import SMALL, FixContext
from memlint.fixes.model import WithRewrite
from memlint.fixes.bound import ALWAYS_RELEASES
from memlint.fixes.uses import CONTAINERS, Refused, Tracking, follow, is_release_call

RELEASE = "close"


def handoff_rewrite(fx: FixContext, defect: Defect) -> Optional[WithRewrite]:
    """A ``try``/``except BaseException`` guard up to the hand-off of ``x``, or None."""
    acquisition = defect.acquisition
    if defect.code != "MEM003" or defect.category != "error" or acquisition is None:
        return None
    if len(acquisition.names) != 1 or acquisition.scope is None or acquisition.statement is None:
        return None
    name = acquisition.names[0]
    statement = acquisition.statement
    if not _assigns_call(statement, name, acquisition.call):
        return None
    manageable = fx.manageable(acquisition)
    if manageable is None or not manageable.safe or manageable.is_async or manageable.holds_exits:
        return None
    if RELEASE not in manageable.releases or RELEASE not in acquisition.spec.release:
        return None
    located = fx.block_of_statement(acquisition.scope, statement)
    if located is None:
        return None
    block, start = located
    statements = block.statements
    if not isinstance(statements[start], SMALL) or len(statements[start].body) != 1:  # type: ignore[attr-defined]
        return None
    fx.mention_index.focus(acquisition.scope)
    state = Tracking(name, {name}, manageable.detaching)
    handoff: Optional[int] = None
    for index in range(start + 1, len(statements)):
        try:
            follow(statements[index], state, fx)
        except Refused:
            handoff = index
            break
        if state.handed or state.lent or state.pinned or state.held != {name}:
            handoff = index
            break
    if handoff is None or handoff == start + 1 or not _hands_on(statements[handoff], name):
        return None
    guarded = statements[start + 1 : handoff]
    if not _covers(guarded, defect.line_refs) or _releases(fx, guarded, name, manageable.releases | acquisition.spec.release):
        return None
    return WithRewrite(
        message=f"close `{name}` if the code before its hand-off raises",
        safe=True,
        first=guarded[0],
        last=guarded[-1],
        items=(),
        comment_to_header=False,
        indent_step=block.step,
        guard=f"{name}.{RELEASE}()",
    )


def _releases(fx: FixContext, guarded: Sequence[cst.CSTNode], name: str, releases: FrozenSet[str]) -> bool:
    """Whether a guarded statement releases ``x`` itself (``if bad: x.close(); raise ...``):
    the guard would release it a second time, which some kinds refuse (pymysql raises)."""
    wanted = set(releases) | ALWAYS_RELEASES
    for statement in guarded:
        if any(is_release_call(found, path, wanted, fx) for found, path in fx.mention_index.of(statement, (name,))):
            return True
    return False


def _assigns_call(statement: cst.CSTNode, name: str, call: cst.CSTNode) -> bool:
    """``name = call(...)``, the acquisition itself (not awaited, not unpacked)."""
    if not isinstance(statement, cst.Assign) or len(statement.targets) != 1:
        return False
    target = statement.targets[0].target
    return isinstance(target, cst.Name) and target.value == name and statement.value is call and isinstance(call, cst.Call)


def _hands_on(line: cst.CSTNode, name: str) -> bool:
    """One plain statement that gives ``name`` itself away: ``return ...name...``, a call
    with ``name`` among its arguments (its result bound or not), or ``obj.attr = name`` /
    ``obj[k] = name``."""
    if not isinstance(line, SMALL) or len(line.body) != 1:
        return False
    small = line.body[0]
    if isinstance(small, cst.Return):
        return small.value is not None and _names(small.value, name)
    if isinstance(small, cst.Expr):
        value = small.value.expression if isinstance(small.value, cst.Await) else small.value
        return isinstance(value, cst.Call) and any(_argument_names(arg.value, name) for arg in value.args)
    if isinstance(small, cst.Assign):
        if isinstance(small.value, cst.Call):
            # ``w = Wrapper(x)``: what the call builds holds ``x`` from here on.
            return any(_argument_names(arg.value, name) for arg in small.value.args)
        stored = all(isinstance(t.target, (cst.Attribute, cst.Subscript)) for t in small.targets)
        return stored and isinstance(small.value, cst.Name) and small.value.value == name
    return False


def _argument_names(value: cst.CSTNode, name: str) -> bool:
    """``f(x)``, ``f((x, y))``, ``f(args=[x])``: the name itself, or inside a literal built for the call."""
    if isinstance(value, cst.Name):
        return value.value == name
    if isinstance(value, CONTAINERS):
        return _names(value, name)
    return False


def _names(node: cst.CSTNode, name: str) -> bool:
    return any(found.value == name for found, _ in find(node, (cst.Name,), stop=()))  # type: ignore[attr-defined]


def _covers(guarded: Sequence[cst.CSTNode], raising: Sequence[cst.CSTNode]) -> bool:
    """Whether each node the analysis names as raising is, or lies inside, a guarded statement."""
    inside = {id(statement) for statement in guarded}
    for statement in guarded:
        inside.update(id(node) for node, _ in find(statement, (cst.CSTNode,), stop=()))
    return bool(raising) and all(id(node) in inside for node in raising)

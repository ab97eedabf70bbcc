"""The fix for ``with sqlite3.connect(p) as conn:``: a connection whose own ``with`` only
commits or rolls back (``exit = "commits-only"`` in the knowledge) and is never closed.

``with contextlib.closing(sqlite3.connect(p)) as conn:`` + ``with conn:`` inside keeps the
transaction exactly as it was and closes the connection after it. The fix is offered only
when nothing can notice the close: neither the connection nor a cursor the body takes
from it is used after the statement, and the body neither returns, yields, stores on an
object nor hands the connection to a call (a cursor returned or kept would be closed).
"""

from __future__ import annotations

from typing import Optional, Set

import libcst as cst

from memlint.fixes._analysis_view import Defect, find
from memlint.fixes.context import FixContext
from memlint.fixes.mentions import mentions
from memlint.fixes.model import WithItemPlan, WithRewrite


def commits_only_rewrite(fx: FixContext, defect: Defect) -> Optional[WithRewrite]:
    acquisition = defect.acquisition
    statement = acquisition.statement if acquisition is not None else None
    if acquisition is None or not isinstance(statement, cst.With) or acquisition.spec.exit != "commits-only":
        return None
    if statement.asynchronous is not None or len(statement.items) != 1 or len(acquisition.names) != 1:
        return None
    item = statement.items[0]
    name = acquisition.names[0]
    if item.item is not acquisition.call or not (
        isinstance(item.asname, cst.AsName) and isinstance(item.asname.name, cst.Name) and item.asname.name.value == name
    ):
        return None
    scope = acquisition.scope
    located = fx.block_of_statement(scope, statement) if scope is not None else None
    closing = fx.closing_reference()
    if located is None or closing is None or not _body_keeps_nothing(statement, name):
        return None
    block, _start = located
    if _used_outside(scope, statement, {name} | _cursors_bound_in(statement.body, name)):
        return None
    wrapper, needs_import = closing
    rewrite = WithRewrite(
        message=f"close `{name}` with `contextlib.closing` (its own `with` only ends the transaction)",
        safe=True,
        first=statement,
        last=statement,
        items=(WithItemPlan(acquisition.call, name, wrapper),),
        # The old header becomes ``with conn:``: the transaction stays as it was.
        substitutions=((item, name),),
        comment_to_header=False,
        indent_step=block.step,
    )
    return fx.with_import(rewrite) if needs_import else rewrite


def _body_keeps_nothing(statement: cst.With, name: str) -> bool:
    """No return, yield, store on an object, or call given the connection itself."""
    for node, path in find(statement.body, (cst.Return, cst.Yield, cst.Global, cst.Nonlocal, cst.Assign, cst.AugAssign, cst.AnnAssign, cst.Arg)):
        if isinstance(node, (cst.Return, cst.Yield, cst.Global, cst.Nonlocal)):
            return False
        if isinstance(node, cst.Arg):
            if isinstance(node.value, cst.Name) and node.value.value == name:
                return False
            continue
        targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]  # type: ignore[attr-defined]
        if any(not isinstance(target, cst.Name) for target in targets):
            return False
    return True


def _cursors_bound_in(body: cst.CSTNode, name: str) -> Set[str]:
    """Names the body binds to something that needs the connection open: a cursor
    (``cur = conn.cursor()``, ``cur = conn.execute(q)``) or anything bound by ``with`` or
    ``for`` over it. ``rows = conn.execute(q).fetchall()`` holds plain rows."""
    names: Set[str] = set()
    for node, _path in find(body, (cst.Assign, cst.AnnAssign, cst.For, cst.AsName)):
        if isinstance(node, cst.AsName) and isinstance(node.name, cst.Name):
            names.add(node.name.value)
        elif isinstance(node, cst.For) and isinstance(node.target, cst.Name) and _on_connection(node.iter, name):
            names.add(node.target.value)
        elif isinstance(node, (cst.Assign, cst.AnnAssign)) and node.value is not None and _on_connection(node.value, name):
            targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
            names.update(t.value for t in targets if isinstance(t, cst.Name))
    return names


def _on_connection(value: cst.BaseExpression, name: str) -> bool:
    """``conn`` itself or a method of it called directly (a cursor or the connection)."""
    if isinstance(value, cst.Name):
        return value.value == name
    return (
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Attribute)
        and isinstance(value.func.value, cst.Name)
        and value.func.value.value == name
    )


def _used_outside(scope: cst.CSTNode, statement: cst.With, names: Set[str]) -> bool:
    """Mentioned anywhere in the scope but inside the statement (a loop may come back to
    an earlier line, a nested function may run later)."""
    return any(statement not in path for _node, path in mentions(scope, names))

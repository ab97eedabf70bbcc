"""The MEM041 fix: ``x = acquire()`` + ``try: body finally: x.close()`` -> ``with acquire() as x: body``."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from memlint.fixes._analysis_view import Defect
from memlint.fixes.bound import plain_release
from memlint.fixes.context import SMALL, FixContext
from memlint.fixes.mentions import is_store, mentions
from memlint.fixes.model import WithItemPlan, WithRewrite


def try_finally_rewrite(fx: FixContext, defect: Defect) -> Optional[WithRewrite]:
    """``x = acquire()`` + ``try: body finally: x.close()`` -> ``with acquire() as x: body``."""
    acquisition = defect.acquisition
    if acquisition is None or defect.category != "prefer-with" or len(acquisition.names) != 1:
        return None
    statement = acquisition.statement
    manageable = fx.manageable(acquisition)
    scope = acquisition.scope
    if not isinstance(statement, cst.Assign) or manageable is None or scope is None:
        return None
    if manageable.awaited != isinstance(statement.value, cst.Await):
        return None
    if manageable.is_async and not (isinstance(scope, cst.FunctionDef) and scope.asynchronous is not None):
        return None
    name = acquisition.names[0]
    located = fx.block_of_statement(scope, statement)
    if located is None:
        return None
    block, start = located
    if start + 1 >= len(block.statements):
        return None
    line, follower = block.statements[start], block.statements[start + 1]
    if not isinstance(line, SMALL) or len(line.body) != 1 or not isinstance(follower, cst.Try):
        return None
    if follower.handlers or follower.orelse is not None or follower.finalbody is None:
        return None
    if not isinstance(follower.body, cst.IndentedBlock) or not isinstance(follower.finalbody.body, cst.IndentedBlock):
        return None
    final = follower.finalbody.body.body
    if len(final) != 1 or plain_release(final[0], name, manageable) is None:
        return None
    # ``finally`` closes whatever ``x`` holds by then; ``with`` closes what it acquired.
    for found, path in mentions(follower.body, {name}):
        if is_store(found, path):
            return None
    value = statement.value
    call = value.expression if isinstance(value, cst.Await) else value
    found = fx.wrapper_for(manageable)
    if found is None:
        return None
    wrapper, needs_import = found
    rewrite = WithRewrite(
        message=f"replace the `try`/`finally` with `{'async ' if manageable.is_async else ''}with` for `{name}`",
        # An exit stack's ``with`` shows its exits the exception ``finally`` hid from them.
        safe=manageable.safe and not manageable.holds_exits,
        first=line,
        last=follower,
        items=(WithItemPlan(call, name, wrapper),),
        is_async=manageable.is_async,
        unwrap=follower,
        indent_step=block.step,
    )
    return fx.with_import(rewrite) if needs_import else rewrite

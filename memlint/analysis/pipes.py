"""The pipes a process object owns: ``proc = Popen(cmd, stdout=PIPE)`` also opens a pipe,
kept at ``proc.stdout``. ``proc.wait()`` reaps the child and leaves the pipe open (Python
warns about the unclosed file); ``proc.communicate()``, ``with proc:`` and
``proc.stdout.close()`` close it. Each piped stream is followed by the path interpreter as
its own resource, named ``proc.stdout``, whose holder is ``proc`` (the knowledge:
``piped_streams``, ``pipe_model`` and ``pipes_closed_by`` of the process model).
"""

from __future__ import annotations

from typing import List, Tuple

import libcst as cst

from memlint.analysis.facts import ModuleContext, Scope
from memlint.analysis.names import iter_statements
from memlint.analysis.resources import PIPED_STREAMS, ResourceSpec

PIPE_CONSTANTS = frozenset({"subprocess.PIPE"})


def piped_streams(ctx: ModuleContext, scope: Scope, call: cst.Call) -> Tuple[List[str], "ResourceSpec | None", frozenset]:
    """The streams ``call`` opens a pipe for (``["stdout"]``), the pipe's spec, and the
    methods of the process object that close them."""
    known = PIPED_STREAMS.get(ctx.resolve(call.func) or "")
    if known is None:
        return [], None, frozenset()
    streams, spec, closed_by = known
    piped = [
        arg.keyword.value
        for arg in call.args
        if arg.keyword is not None and arg.keyword.value in streams and _may_be_pipe(ctx, scope, arg.value)
    ]
    return piped, spec, closed_by


def _may_be_pipe(ctx: ModuleContext, scope: Scope, value: cst.BaseExpression) -> bool:
    """``subprocess.PIPE``, or a local name that the scope sets to it somewhere
    (``stdout = subprocess.PIPE`` in one branch)."""
    if (ctx.resolve(value) or "") in PIPE_CONSTANTS:
        return True
    if not isinstance(value, cst.Name):
        return False
    for statement in iter_statements(list(scope.body), into_functions=False):
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if (
                isinstance(small, cst.Assign)
                and any(isinstance(t.target, cst.Name) and t.target.value == value.value for t in small.targets)
                and (ctx.resolve(small.value) or "") in PIPE_CONSTANTS
            ):
                return True
    return False


def holder_release(found: cst.CSTNode, path: Tuple[cst.CSTNode, ...], methods: frozenset) -> bool:
    """``proc.communicate()``: a method of the holder that releases the followed pipe."""
    if len(path) < 2 or not methods:
        return False
    attribute, call = path[-1], path[-2]
    return (
        isinstance(attribute, cst.Attribute)
        and attribute.value is found
        and attribute.attr.value in methods
        and isinstance(call, cst.Call)
        and call.func is attribute
    )

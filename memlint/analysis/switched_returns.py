"""Local factories that hand back their resource only under a switch parameter (realcode
TUNING-NOTES 64.2; the sibling of ``enabling_parameters``, which asks where the acquiring
calls sit).

``def check_output(args, ..., return_popen=False)`` starts a ``Popen`` on every call, waits for
it and returns the output; only ``if return_popen: return proc`` gives the process back. A
call that leaves ``return_popen`` out (or passes ``False``/``None``/``0``/``""``) gets a string,
not a process. So when every ``return`` that can give the resource (a name bound to an
acquiring call, an acquiring call, a tuple holding either) sits in the body of an ``if``
testing the truth of one parameter whose default is a falsy literal and that the function
never binds, that parameter is the factory's switch (``ResourceSpec.only_when_given``), the
same fact ``enabling_parameters`` finds for acquiring calls.
"""

from __future__ import annotations

from typing import List, Set

import libcst as cst

from memlint.analysis.classify import acquisition_spec
from memlint.analysis.facts import ModuleContext, Scope
from memlint.analysis.walk import find


def resource_returns(ctx: ModuleContext, scope: Scope, function: cst.FunctionDef) -> List[cst.Return]:
    """The ``return`` statements of ``function`` (nested scopes left out) that may give a
    resource it acquired: ``return proc``, ``return open(p)``, ``return proc, out``."""
    names: Set[str] = set()
    for assign, _ in find(function.body, (cst.Assign,)):
        value = assign.value.expression if isinstance(assign.value, cst.Await) else assign.value  # type: ignore[attr-defined]
        if not (isinstance(value, cst.Call) and acquisition_spec(ctx, value, scope) is not None):
            continue
        for target in assign.targets:  # type: ignore[attr-defined]
            names.update(n.value for n, _ in find(target.target, (cst.Name,), stop=()))
    found = []
    for ret, _ in find(function.body, (cst.Return,)):
        value = ret.value.expression if isinstance(ret.value, cst.Await) else ret.value  # type: ignore[attr-defined]
        if value is None:
            continue
        items = [e.value for e in value.elements] if isinstance(value, cst.Tuple) else [value]
        for item in items:
            if (isinstance(item, cst.Name) and item.value in names) or (
                isinstance(item, cst.Call) and acquisition_spec(ctx, item, scope) is not None
            ):
                found.append(ret)
                break
    return found  # type: ignore[return-value]

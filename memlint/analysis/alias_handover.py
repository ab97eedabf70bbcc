"""A resource acquired again while another name still holds the previous one.

``next_fd = os.open(part, dir_fd=dir_fd); os.close(dir_fd); dir_fd = next_fd`` in a loop:
when the acquisition runs again, ``next_fd`` is rebound, but the descriptor it held is still
named by ``dir_fd``, which the function releases (``os.close(dir_fd)`` in the next turn and
in the ``finally``). Rebinding one name of an object that another name still holds loses
nothing; the previous object goes with the alias, and the new one is followed under the
acquisition's own names from there on (so a new object that is never handed to the alias is
still reported). Only an alias that the function releases somewhere, by a release call of
the resource's kind given that name or a release method called on it, takes the previous
object over; an alias that is only read or overwritten does not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence, Set

import libcst as cst

from memlint.analysis.names import dotted
from memlint.analysis.walk import find

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ModuleContext
    from memlint.analysis.flow import Tracker


def releasing_aliases(ctx: "ModuleContext", tracker: "Tracker", own_names: Set[str], body: Sequence[cst.CSTNode]) -> Set[str]:
    """The names other than ``own_names`` that now hold the followed resource and that
    ``body`` releases somewhere."""
    aliases = {name for name in tracker.names - own_names if "." not in name}
    if not aliases:
        return set()
    spec = tracker.spec
    released: Set[str] = set()
    for statement in body:
        for call, _path in find(statement, (cst.Call,), stop=()):
            func = call.func  # type: ignore[attr-defined]
            if isinstance(func, cst.Attribute) and func.attr.value in spec.release:
                name = dotted(func.value)
                if name in aliases:
                    released.add(name)
            elif (ctx.resolve(func) or "") in spec.release_funcs:
                for arg in call.args:  # type: ignore[attr-defined]
                    if isinstance(arg.value, cst.Name) and arg.value.value in aliases:
                        released.add(arg.value.value)
    return released

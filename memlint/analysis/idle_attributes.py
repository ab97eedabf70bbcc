"""An object kept on ``self`` that its module never gives work to holds nothing.

A ``ThreadPoolExecutor()`` starts its worker threads only when work is submitted to it
(``[idle-objects] started_by`` of ``calls.toml``: ``submit``, ``map``). A class that keeps
one on ``self.<attr>`` and never submits to it leaves nothing to shut down: MEM004 does not
ask for a release (superlinked's ``GcsBlobHandler``, patronus's ``AsyncPatronus``).

Only a private attribute (``self._executor``) is judged, since a public one is there for
other modules to use (gpt-researcher's ``WorkerPool.executor`` is submitted to elsewhere);
a class that releases it anyway keeps it as owned (MEM042 still asks it for ``with``).
"Never gives work" is read from the whole module, on every object, so that another class
or a function using ``obj.<attr>`` counts too: each mention of ``.<attr>`` must be what an
assignment binds (``del`` included) or the receiver of another method or attribute
(``self._executor.shutdown()``, ``self._executor._max_workers``). A mention handed to
anything (``loop.run_in_executor(self._executor, fn)``, ``pool = self._executor``, a
``with``, a ``return``), a call of a starting method on it, or the attribute's name in a
string (``getattr(self, "_executor")``) keeps the finding. A subclass in another module
that submits to the inherited private attribute is not seen: the module is all memlint
reads here.
"""

from __future__ import annotations

from typing import FrozenSet

import libcst as cst

from memlint.analysis.facts import ModuleContext
from memlint.analysis.model import Acquisition
from memlint.analysis.names import is_binding_target
from memlint.analysis.resources import KNOWLEDGE
from memlint.analysis.walk import find


def never_given_work(ctx: ModuleContext, attr: str, acquisition: Acquisition) -> bool:
    """Whether the object ``acquisition`` made, kept on ``self.<attr>``, starts nothing
    because no code of the module gives it work."""
    call = acquisition.call
    if not isinstance(call, cst.Call) or not attr.startswith("_") or attr.startswith("__") and attr.endswith("__"):
        return False  # a public attribute may be given work by any module of the project
    starting = KNOWLEDGE.idle_until.get(ctx.resolve(call.func) or "")
    if not starting:
        return False
    for node, path in find(ctx.module, (cst.Attribute, cst.SimpleString), stop=()):
        if isinstance(node, cst.SimpleString):
            if attr in node.value:  # type: ignore[attr-defined]
                return False  # ``getattr(self, "_executor")``: reached by name
            continue
        if node.attr.value != attr:  # type: ignore[attr-defined]
            continue
        if not _left_idle(node, path, starting):
            return False
    return True


def _left_idle(node: cst.CSTNode, path: tuple, starting: FrozenSet[str]) -> bool:
    """The mention ``x.<attr>`` binds the attribute, deletes it, or only reads one of its
    own attributes or methods other than the starting ones."""
    if is_binding_target(node, path):
        return True
    parent = path[-1] if path else None
    if isinstance(parent, cst.Del):
        return True
    if isinstance(parent, cst.Attribute) and parent.value is node:
        return parent.attr.value not in starting
    return False

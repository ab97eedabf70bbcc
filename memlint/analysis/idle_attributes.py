"""Resources kept on ``self`` that hold nothing because nothing ever uses them.

Some resources acquire what they hold only when first used: a ``ThreadPoolExecutor``
starts its threads in ``submit()``, a ``ProcessPoolExecutor`` its processes (the
knowledge's ``idle_until_used``). Stored on ``self`` and never read again anywhere in the
module (no method calls it, passes it on or returns it), such an object never held a
thread or a process, so a class that never shuts it down leaks nothing (MEM004).

A read in another module (a subclass there, or a caller reading a public attribute) is
out of sight: that needs the whole program, and is the one way this can be wrong.
"""

from __future__ import annotations

from typing import Optional, Set

import libcst as cst

from memlint.analysis.facts import ModuleContext
from memlint.analysis.model import Acquisition
from memlint.analysis.resources import KNOWLEDGE


class IdleAttributes:
    """Answers, for one module, which stored resources were never used (read lazily, once)."""

    def __init__(self, ctx: ModuleContext) -> None:
        self._ctx = ctx
        self._read: Optional[Set[str]] = None

    def never_used(self, attr: str, acquisition: Acquisition) -> bool:
        """Whether ``self.<attr>`` holds an idle-until-used resource the module never reads."""
        model = KNOWLEDGE.models.get(acquisition.spec.model or "")
        if model is None or not model.idle_until_used:
            return False
        if self._read is None:
            collector = _Reads()
            self._ctx.module.visit(collector)
            self._read = collector.read
        return attr not in self._read


class _Reads(cst.CSTVisitor):
    def __init__(self) -> None:
        self.read: Set[str] = set()
        self._targets: Set[int] = set()

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._targets.add(id(node.target))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._targets.add(id(node.target))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if id(node) not in self._targets:
            self.read.add(node.attr.value)

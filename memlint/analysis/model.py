"""The results of the resource-lifetime analysis, shared by the rules and the fixer.

An ``Acquisition`` is one call that creates a resource, with where its result goes; a
``Defect`` is one thing wrong with one resource (or one class, or one context manager),
already carrying the rule code, the node to blame and the message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import libcst as cst

from memlint.analysis.resources import ResourceSpec


@dataclass(eq=False)
class Acquisition:
    """A call that creates a resource."""

    call: cst.CSTNode  # the call (or ``await`` of it) whose value is the resource
    spec: ResourceSpec
    label: str  # how the call reads in messages: "`socket.create_connection()`"
    # The statement holding the call, and the names its result is bound to (empty when it is
    # not bound to a local name).
    statement: Optional[cst.CSTNode] = None
    names: Tuple[str, ...] = ()
    # The function (or module) whose body holds it.
    scope: Optional[cst.CSTNode] = None


@dataclass(eq=False)
class Defect:
    """One finding-to-be: rule code, blamed node, message (``{L0}`` etc. name lines)."""

    code: str
    node: cst.CSTNode
    message: str
    category: str
    line_refs: Tuple[cst.CSTNode, ...] = ()
    acquisition: Optional[Acquisition] = None
    # Nodes the fixer needs: the statement that releases the resource, when there is one.
    release_statements: Tuple[cst.CSTNode, ...] = ()


@dataclass
class ModuleAnalysis:
    """Everything the rules read about one module."""

    defects: List[Defect] = field(default_factory=list)
    acquisitions: List[Acquisition] = field(default_factory=list)

    def for_code(self, code: str) -> List[Defect]:
        return [defect for defect in self.defects if defect.code == code]

"""The resource-lifetime analysis that MEM001, MEM003, MEM004 and MEM041 report from."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # pragma: no cover
    import libcst as cst

    from memlint.analysis.model import ModuleAnalysis
    from memlint.rules.base import RuleOptions


def analyze_module(
    module: "cst.Module", source: str, options: "RuleOptions", tree: Optional[ast.Module] = None
) -> "ModuleAnalysis":
    """Analyse one parsed module once; every rule reads the same result. With the ``ast``
    tree of the same source, functions whose text names no resource are skipped unread."""
    from memlint.analysis.module import analyze_module as run

    return run(module, source, options, tree)

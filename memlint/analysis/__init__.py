"""The resource-lifetime analysis: the facts MEM001, MEM003, MEM004 and MEM041 judge.

The stages and the data between them are described in ``pipeline`` and in
docs/architecture.md.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # pragma: no cover
    import libcst as cst

    from memlint.analysis.model import ModuleAnalysis
    from memlint.options import RuleOptions


def analyze_module(
    module: "cst.Module", source: str, options: "RuleOptions", tree: Optional[ast.Module] = None, growth: bool = True
) -> "ModuleAnalysis":
    """Analyse one parsed module once; every rule reads the same result. With the ``ast``
    tree of the same source, functions whose text names no resource are skipped unread."""
    from memlint.analysis.pipeline import analyze_module as run

    return run(module, source, options, tree, growth)

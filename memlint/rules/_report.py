"""What the analysis rules share: turning the analysis's defects of one code into reports."""

from __future__ import annotations

from typing import Iterator

from memlint.rules.base import FileContext, Report


def defect_reports(ctx: FileContext, code: str) -> Iterator[Report]:
    for defect in ctx.analysis.for_code(code):
        yield Report(defect.node, defect.message, fix=getattr(defect, "fix", None), line_refs=defect.line_refs)

"""What the analysis rules share: turning the analysis's defects of one code into reports."""

from __future__ import annotations

from typing import Dict, Iterator

from memlint.rules.base import FileContext, Report

_FIXES_KEY = "memlint.fixes"


def defect_reports(ctx: FileContext, code: str) -> Iterator[Report]:
    defects = ctx.analysis.for_code(code)
    fixes = _fixes(ctx) if defects else {}
    for defect in defects:
        yield Report(defect.node, defect.message, fix=fixes.get(id(defect)), line_refs=defect.line_refs)


def _fixes(ctx: FileContext) -> Dict[int, object]:
    """Node-level fixes for every defect of the file, built once and shared by the rules
    (one ``with`` may fix a MEM001 and a MEM003 finding together)."""
    cached = ctx.cache.get(_FIXES_KEY)
    if cached is None:
        from memlint.fixes import build_fixes

        try:
            cached = build_fixes(ctx.module, ctx.analysis.defects, ctx.options.resources)
        except Exception as error:  # noqa: BLE001 - a fixer bug must not cost the findings
            cached = {}
            ctx.cache["memlint.fixes.error"] = f"{type(error).__name__}: {error}"
        ctx.cache[_FIXES_KEY] = cached
    return cached

"""MEM041 (off by default): a hand-written try/finally that `with` would say better (rules/MEM041.md)."""

from __future__ import annotations

from typing import Iterable

from memlint.rules._report import defect_reports
from memlint.rules.base import FileContext, Report, Rule


class PreferWith(Rule):
    code = "MEM041"

    starts_from_resources = True

    def check(self, ctx: FileContext) -> Iterable[Report]:
        return defect_reports(ctx, self.code)

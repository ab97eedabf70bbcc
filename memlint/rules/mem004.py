"""MEM004: context-manager hygiene of classes and context managers (rules/MEM004.md)."""

from __future__ import annotations

from typing import Iterable

from memlint.rules._report import defect_reports
from memlint.rules.base import FileContext, Report, Rule


class ContextManagerHygiene(Rule):
    code = "MEM004"

    starts_from_resources = True

    def check(self, ctx: FileContext) -> Iterable[Report]:
        return defect_reports(ctx, self.code)

"""MEM001: a resource is, on some path, neither released nor handed on (rules/MEM001.md)."""

from __future__ import annotations

from typing import Iterable

from memlint.rules._report import defect_reports
from memlint.rules.base import FileContext, Report, Rule


class UnreleasedResource(Rule):
    code = "MEM001"

    starts_from_resources = True

    def check(self, ctx: FileContext) -> Iterable[Report]:
        return defect_reports(ctx, self.code)

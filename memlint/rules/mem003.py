"""MEM003: a resource released on the normal path but not when an exception is raised (rules/MEM003.md)."""

from __future__ import annotations

from typing import Iterable

from memlint.rules._report import defect_reports
from memlint.rules.base import FileContext, Report, Rule


class ReleaseSkippedOnError(Rule):
    code = "MEM003"

    starts_from_resources = True

    def check(self, ctx: FileContext) -> Iterable[Report]:
        return defect_reports(ctx, self.code)

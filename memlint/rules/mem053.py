"""MEM053: a logging handler added each time a function runs (rules/MEM053.md).

The whole judgement: every ``RepeatedHandlerAddition`` (the stage has left out additions
behind a guard, with a matching ``removeHandler``, in ``main()`` or on a logger of the
function's own).
"""

from __future__ import annotations

from typing import Iterable

from memlint.analysis.growth import RepeatedHandlerAddition
from memlint.analysis.model import Defect
from memlint.rules._growth_fixes import handler_guard_fix
from memlint.rules._report import AnalysisRule, defect_reports
from memlint.rules.base import FileContext, Report


class HandlerAccumulation(AnalysisRule):
    code = "MEM053"

    def check(self, ctx: FileContext) -> Iterable[Report]:
        return defect_reports(ctx, self.code, handler_guard_fix)

    def judge(self, fact: object) -> Iterable[Defect]:
        if not isinstance(fact, RepeatedHandlerAddition):
            return ()
        name = fact.function.name.value
        message = (
            f"`{fact.receiver}.addHandler()` in `{name}()` adds one more handler every time `{name}()` runs "
            "(each log line written once more; for a file handler, one more open file) and nothing removes it: "
            "add it once (at module level, or behind `if not logger.handlers:`)"
        )
        return [Defect(self.code, fact.call, message, "handler")]

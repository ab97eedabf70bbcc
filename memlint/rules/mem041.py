"""MEM041 (off by default): a hand-written try/finally that `with` would say better
(rules/MEM041.md).

The whole judgement: every ``HandWrittenRelease`` fact (``x = acquire()`` directly
followed by a ``try`` whose ``finally`` only releases ``x``) is a finding.
"""

from __future__ import annotations

from typing import Iterable

from memlint.analysis.model import Defect, Fact, HandWrittenRelease
from memlint.rules._report import AnalysisRule


class PreferWith(AnalysisRule):
    code = "MEM041"

    def judge(self, fact: Fact) -> Iterable[Defect]:
        if not isinstance(fact, HandWrittenRelease):
            return ()
        message = f"`{fact.name}` is released by a hand-written `try`/`finally`: `with` says the same in one line"
        return [Defect(self.code, fact.acquisition.call, message, "prefer-with", acquisition=fact.acquisition)]

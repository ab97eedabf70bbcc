"""MEM052: a long-lived container that only grows (rules/MEM052.md).

The whole judgement: every ``Accumulation`` (the stage has already left out what is bounded,
handed on, filled at set-up or by a registering function).
"""

from __future__ import annotations

from typing import Iterable

from memlint.analysis.growth import Accumulation
from memlint.analysis.model import Defect
from memlint.rules._growth_words import container_phrase
from memlint.rules._report import AnalysisRule


class UnboundedAccumulation(AnalysisRule):
    code = "MEM052"

    def judge(self, fact: object) -> Iterable[Defect]:
        if not isinstance(fact, Accumulation):
            return ()
        container = fact.container
        scope = "module" if container.where == "module" else "class"
        message = (
            f"{container_phrase(container)} grows in `{fact.function.name.value}()` ({fact.how}) and nothing in "
            f"the {scope} removes from it, trims or resets it: it grows for as long as the "
            f"{'process' if container.where != 'instance' else 'object'} lives; bound it "
            "(`collections.deque(maxlen=...)`, trim after a length check, `memlint.runtime.ConversationMemory`)"
        )
        return [Defect(self.code, fact.growth, message, "accumulation", (container.node,))]

"""MEM061: an asyncio task nothing keeps a reference to (rules/MEM061.md).

The whole judgement: every ``DanglingTask`` (the stage has left out tasks that are awaited,
kept, passed on or returned, and ``create_task`` on anything but an event loop).
"""

from __future__ import annotations

from typing import Iterable

from memlint.analysis.model import Defect
from memlint.analysis.tasks import DanglingTask
from memlint.rules._report import AnalysisRule

_WHY = "the event loop holds tasks only weakly, so it can be collected before it finishes and its exception is lost"
_INSTEAD = "keep it (in a set, with `add_done_callback(set.discard)`), await it, or use an `asyncio.TaskGroup`"


class DanglingAsyncioTask(AnalysisRule):
    code = "MEM061"

    def judge(self, fact: object) -> Iterable[Defect]:
        if not isinstance(fact, DanglingTask):
            return ()
        if fact.runner is not None:
            message = (
                f"the task from {fact.label} is dropped: `{fact.runner}()` runs the lambda and throws away "
                f"the task it returns; {_WHY}; {_INSTEAD}"
            )
        elif fact.name is None:
            message = f"the task from {fact.label} is dropped: {_WHY}; {_INSTEAD}"
        else:
            where = f"`{fact.function}()`" if fact.function else "the function"
            held = ""
            if fact.methods_used:
                held = " and ".join(f"`{method}()`" for method in fact.methods_used) + " keeps nothing; "
            message = (
                f"`{fact.name}`, the task from {fact.label}, is let go when {where} returns "
                f"({held}it is not awaited, cancelled, stored or handed on): {_WHY}; {_INSTEAD}"
            )
        return [Defect(self.code, fact.call, message, "task")]

"""MEM051: a cache that keeps everything it is given (rules/MEM051.md).

The whole judgement: a ``CacheDecorator`` on an instance method (bounded or not: the cache
belongs to the class and keeps each ``self``), an unbounded one on a function with
arguments (one entry per distinct call, for ever), and every ``UnevictedMemo``.
"""

from __future__ import annotations

from typing import Iterable

import libcst as cst

from memlint.analysis.growth import CacheDecorator, UnevictedMemo
from memlint.analysis.model import Defect
from memlint.rules._growth_words import container_phrase
from memlint.rules._growth_fixes import cache_bound_fix
from memlint.rules._report import AnalysisRule, defect_reports
from memlint.rules.base import FileContext, Report


class UnboundedCache(AnalysisRule):
    code = "MEM051"

    def check(self, ctx: FileContext) -> Iterable[Report]:
        return defect_reports(ctx, self.code, cache_bound_fix)

    def judge(self, fact: object) -> Iterable[Defect]:
        if isinstance(fact, CacheDecorator):
            return self._decorator(fact)
        if isinstance(fact, UnevictedMemo):
            container = fact.container
            message = (
                f"{container_phrase(container)} is a memo that `{fact.function.name.value}()` fills and "
                f"nothing in the {_scope(container.where)} ever evicts from: it keeps every key for the life of "
                "the process; bound it (`functools.lru_cache(maxsize=...)`, `cachetools.LRUCache`) or evict"
            )
            return [Defect(self.code, fact.store, message, "memo", (container.node,))]
        return ()

    def _decorator(self, fact: CacheDecorator) -> Iterable[Defect]:
        name = fact.function.name.value
        params = fact.function.params
        skipped = 1 if (fact.method or fact.classmethod) else 0
        has_arguments = bool(
            list(params.posonly_params) + list(params.params)[skipped:]
            or params.kwonly_params
            or isinstance(params.star_arg, cst.Param)
            or isinstance(params.star_kwarg, cst.Param)
        )
        if fact.method:
            keeps = "every `self`" + (" and argument set" if fact.unbounded else "")
            bound = "" if fact.unbounded else " (up to its `maxsize` of them)"
            message = (
                f"{fact.label} on the method `{name}()` keeps {keeps} it is called with alive{bound}: the cache "
                "belongs to the class, not the instance; cache a module-level function of the values it needs, "
                "or keep a cache on the instance"
            )
            return [Defect(self.code, fact.decorator, message, "method-cache")]
        if fact.unbounded and has_arguments:
            message = (
                f"{fact.label} on `{name}()` has no bound: every distinct argument set and its result are kept "
                "for the life of the process; give it a `maxsize`"
            )
            return [Defect(self.code, fact.decorator, message, "unbounded-cache")]
        return ()


def _scope(where: str) -> str:
    return "module" if where == "module" else "class"

"""MEM042: a class that owns a resource and can release it, but cannot be used in ``with``
(rules/MEM042.md).

The whole judgement, on ``OwnerClass`` facts: the class has a release method (``close()``,
``shutdown()``, ... from calls.toml [releasing] class_methods), something it owns is
released by one of its methods, and it has no ``__enter__``/``__exit__`` pair, nor
``__aenter__``/``__aexit__``; a base defined in another module may supply them, so
such a class is not reported. When the release method is asynchronous (``async def close``,
or ``aclose()``), the pair asked for is ``__aenter__``/``__aexit__``.

This is an API rule, not a leak: it was part of MEM004 and has its own code so that users can
treat it apart from resources that really stay open.
"""

from __future__ import annotations

from typing import Iterable

from memlint.analysis.model import Defect, Fact, OwnerClass
from memlint.knowledge import knowledge
from memlint.rules._report import AnalysisRule
from memlint.rules._words import with_article


class ReleasableWithoutWith(AnalysisRule):
    code = "MEM042"

    def judge(self, fact: Fact) -> Iterable[Defect]:
        if not isinstance(fact, OwnerClass) or not fact.owned:
            return ()
        release_methods = [m for m in knowledge().class_release_methods if m in fact.methods]
        if not release_methods:
            return ()
        if {"__enter__", "__exit__"} <= fact.methods or {"__aenter__", "__aexit__"} <= fact.methods:
            return ()
        if fact.has_external_base:
            return ()
        if not any(owned.releasing_methods for owned in fact.owned):
            # A ``cleanup()`` that releases none of what the class owns is not its release:
            # the premise (the class can release it) fails, and MEM004 reports each leak.
            return ()
        first = min(fact.owned, key=lambda owned: owned.attr)
        release = release_methods[0]
        asynchronous = release == "aclose" or release in fact.async_methods
        pair = "`__aenter__`/`__aexit__`" if asynchronous else "`__enter__`/`__exit__`"
        statement = "async with" if asynchronous else "with"
        message = (
            f"`{fact.name}` owns {with_article(first.acquisition.spec.kind)} (`self.{first.attr}`) and has "
            f"`{release}()` but no {pair}, so it cannot be used in `{statement}`"
        )
        return [Defect(self.code, fact.name_node, message, "class-no-with")]

"""MEM004: context-manager hygiene of classes and context managers (rules/MEM004.md).

The whole judgement, on three kinds of fact:

- ``OwnerClass``: a class that keeps a resource on ``self``
  when no method of the class (or of its bases in the module) releases it. (A class that
  can release it but cannot be used in ``with`` is MEM042's.)
- ``GeneratorContextManager``: cleanup after the ``yield`` of a ``@contextmanager`` that is
  skipped when the ``with`` body raises (not in a ``finally``).
- ``ExitMethod``: an ``__exit__`` that returns True unconditionally, swallowing every
  exception of the ``with`` body.

Confidence (rules/MEM004.md, Figures): low for a resource known only by its release and for
cleanup after ``yield``.
"""

from __future__ import annotations

from typing import Iterable, Iterator

from memlint.analysis.model import Defect, ExitMethod, Fact, GeneratorContextManager, OwnerClass
from memlint.rules._report import AnalysisRule
from memlint.rules._words import with_article

# "closed" -> "closes": the verb of a kind as "no method of `C` ..." needs it.
_THIRD_PERSON = (
    ("closed", "closes"), ("removed", "removes"), ("waited for", "waits for"), ("shut down", "shuts down"),
    ("released", "releases"), ("cleaned up", "cleans up"), ("quit", "quits"), ("stopped", "stops"), ("killed", "kills"),
)


class ContextManagerHygiene(AnalysisRule):
    code = "MEM004"

    def judge(self, fact: Fact) -> Iterable[Defect]:
        if isinstance(fact, OwnerClass):
            return self._owner(fact)
        if isinstance(fact, GeneratorContextManager) and fact.unprotected_yield is not None:
            message = (
                f"cleanup after `yield` in context manager `{fact.function.name.value}` is skipped when the "
                f"`with` body raises: put it in a `finally` block"
            )
            # Whether the code after ``yield`` undoes something that matters or only keeps
            # books (pops a frame, stops a span) is read from the names it calls: low.
            return [Defect(self.code, fact.unprotected_yield, message, "cm-cleanup", confidence="low")]
        if isinstance(fact, ExitMethod) and fact.always_returns_true:
            name = fact.function.name.value
            message = f"`{name}` returns True unconditionally and so swallows every exception raised in the `with` body"
            return [Defect(self.code, fact.function.name, message, "exit-swallows")]
        return ()

    def _owner(self, fact: OwnerClass) -> Iterator[Defect]:
        for owned in fact.owned:
            if owned.releasing_methods:
                continue
            spec = owned.acquisition.spec
            message = (
                f"`self.{owned.attr}` holds {with_article(spec.kind)} from {owned.acquisition.label} "
                f"that no method of `{fact.name}` {_third_person(spec.verb)}"
            )
            if "__del__" in fact.methods:
                message += " (`__del__` runs only if and when the object is collected)"
            # A resource known only by its release may not be one.
            confidence = "low" if spec.inferred else "high"
            yield Defect(self.code, owned.node, message, "class-never-released", acquisition=owned.acquisition,
                         confidence=confidence)


def _third_person(verb: str) -> str:
    for past, present in _THIRD_PERSON:
        verb = verb.replace(past, present)
    return verb

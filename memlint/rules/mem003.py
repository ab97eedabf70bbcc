"""MEM003: a resource released on the normal path but not when an exception is raised
(rules/MEM003.md).

The whole judgement: a ``Lifetime`` whose only way of leaving the resource held is an
exception (category "error": a call, ``await``, ``yield`` or ``assert`` between
acquisition and release that may raise, or an exception re-raised by a handler), and an
``UnboundInFinally``: a ``finally`` that releases a name its ``try`` may not have bound
(always low confidence: judged right only about half the time, TUNING-NOTES §66).
"""

from __future__ import annotations

from typing import Iterable

from memlint.analysis.model import Defect, Fact, Lifetime, UnboundInFinally
from memlint.rules._report import AnalysisRule
from memlint.rules._words import raise_phrase, subject


def _confidence(fact: Lifetime) -> str:
    """Low when nothing but the want of knowing better says the named call can raise (a
    method of some other object, a library function no model lists), or when the resource
    is known only by its release: on judged real code those were wrong about half the time.
    Low too when the exception is one a handler re-raises: the path needs the handler to be
    reached with the resource held, and the analysis cannot tell which calls raise what the
    handler catches (often only calls before the acquisition); judged right about two times
    in three (benchmarks/realcode/tiers.py)."""
    if fact.indirect_witness or fact.spec.inferred or fact.witness_kind == "reraise":
        return "low"
    return "high"


class ReleaseSkippedOnError(AnalysisRule):
    code = "MEM003"

    def judge(self, fact: Fact) -> Iterable[Defect]:
        if isinstance(fact, Lifetime) and fact.category == "error":
            if fact.is_lock:
                who, verb = f"`{fact.name}` (acquired by {fact.acquisition.label})", "released"
            else:
                who, verb = subject(fact.name, fact.spec, fact.acquisition.label, fact.in_container), fact.spec.verb
            message = f"{who} is not {verb} {raise_phrase(fact.witness, fact.witness_kind, fact.witness_label)}"
            refs = (fact.witness,) if fact.witness is not None and "{L0}" in message else ()
            return [Defect(self.code, fact.acquisition.call, message, "error", refs, fact.acquisition, fact.release_nodes,
                           confidence=_confidence(fact))]
        if isinstance(fact, UnboundInFinally):
            name, label = fact.name, fact.acquisition.label
            message = (
                f"`{name}` may be unbound in the `finally` at line {{L0}} if {label} raises: "
                f"bind `{name} = None` before `try`, or acquire before it"
            )
            # Low: the path needs the acquisition itself to raise and the `finally` to be reached
            # with the name unbound; judged right 20 times in 35 at first sight (57 %, TUNING-NOTES §66).
            return [Defect(self.code, fact.acquisition.call, message, "unbound-in-finally", (fact.release,), fact.acquisition,
                           confidence="low")]
        return ()

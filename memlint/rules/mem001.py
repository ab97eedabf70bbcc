"""MEM001: a resource is, on some path, neither released nor handed on (rules/MEM001.md).

The whole judgement: which facts of the analysis are MEM001 findings, and their words.

- ``UnnamedUse``: a resource used without ever being named (``open(p).read()``) or thrown
  away is never released.
- ``Lifetime`` on a normal path: no path releases it ("never"), or a ``return``, an explicit
  ``raise``, a ``break``/``continue``, a rebinding, or a branch leaves it held. Not a finding:
  a unique path made in a directory the caller chose and never removed (``mkstemp(dir=d)``:
  keeping it is usually the point), or a lock no path releases (another method does).
- ``LockNeverReleased``: a module-global lock taken by a function that then goes on working.

Confidence (rules/MEM001.md, Figures): low for temporary paths, for locks released on some
paths, and for the "branch", "rebind" and "return" verdicts.
"""

from __future__ import annotations

from typing import Iterable, Iterator

from memlint.analysis.model import Defect, Fact, Lifetime, LockNeverReleased, UnnamedUse
from memlint.rules._report import AnalysisRule
from memlint.rules._words import non_closing_with_words, subject

# The normal-path verdicts of the path interpreter ("error" is MEM003's).
NORMAL_PATH = ("never", "return", "raise", "rebind", "loop-exit", "branch")


class UnreleasedResource(AnalysisRule):
    code = "MEM001"

    def judge(self, fact: Fact) -> Iterable[Defect]:
        if isinstance(fact, UnnamedUse):
            return [self._unnamed(fact)]
        if isinstance(fact, Lifetime) and fact.category in NORMAL_PATH:
            if fact.spec.inferred:
                # Known only by a release the code makes: a path that skips it is more often
                # a deliberate choice (closed only when done, kept in a branch) than a leak.
                # MEM003 still reports the exception paths.
                return ()
            return self._lock(fact) if fact.is_lock else self._lifetime(fact)
        if isinstance(fact, LockNeverReleased):
            message = f"`{fact.name}` is acquired by {fact.acquisition.label} and never released"
            return [Defect(self.code, fact.acquisition.call, message, "never", acquisition=fact.acquisition)]
        return ()

    def _unnamed(self, fact: UnnamedUse) -> Defect:
        acquisition = fact.acquisition
        spec, label = acquisition.spec, acquisition.label
        if fact.how == "dropped":
            message = f"{spec.kind} from {label} is discarded and never {spec.verb}"
        else:
            # A tuple of resources (``os.pipe()``) is named after its first part.
            kind = spec.parts[0][1].kind if spec.parts else spec.kind
            verb = spec.parts[0][1].verb if spec.parts else spec.verb
            message = f"{kind} from {label} is {_use_words(fact.use, fact.use_name)} and never {verb}"
        confidence = "low" if acquisition.spec.is_path else "high"
        return Defect(self.code, acquisition.call, message, fact.how, acquisition=acquisition, confidence=confidence)

    def _lifetime(self, fact: Lifetime) -> Iterator[Defect]:
        if fact.category == "never" and fact.in_chosen_directory:
            return
        who = subject(fact.name, fact.spec, fact.acquisition.label, fact.in_container)
        verb = fact.spec.verb
        witness = fact.witness
        if fact.category == "never":
            message = f"{who} is never {verb}"
            if fact.non_closing_with is not None:
                message += ": " + non_closing_with_words(fact.spec)
        elif fact.category == "return":
            message = f"{who} is not {verb} when the function returns at line {{L0}}"
        elif fact.category == "raise":
            message = f"{who} is not {verb} when the `raise` at line {{L0}} leaves the function"
        elif fact.category == "rebind":
            if witness is fact.acquisition.call:
                if fact.in_loop:
                    message = f"{who} is not {verb} before the next loop iteration acquires it again"
                else:
                    message = f"{who} is not {verb} before it is acquired again"
                witness = None
            else:
                message = f"{who} is rebound at line {{L0}} before it is {verb}"
        elif fact.category == "loop-exit":
            message = f"{who} is not {verb} when `{fact.witness_kind}` at line {{L0}} skips the release"
        else:
            message = f"{who} is not {verb} on every path"
        yield self._defect(fact, message, witness)

    def _lock(self, fact: Lifetime) -> Iterator[Defect]:
        if fact.category == "never":
            return  # a helper that only takes the lock; its partner method releases it
        who = f"`{fact.name}` (acquired by {fact.acquisition.label})"
        if fact.category == "return":
            message = f"{who} is not released when the function returns at line {{L0}}"
        elif fact.category == "raise":
            message = f"{who} is not released when the `raise` at line {{L0}} leaves the function"
        elif fact.category == "loop-exit":
            message = f"{who} is not released when `{fact.witness_kind}` at line {{L0}} skips the release"
        else:
            message = f"{who} is not released on every path"
        yield self._defect(fact, message, fact.witness)

    def _defect(self, fact: Lifetime, message: str, witness: object) -> Defect:
        refs = (witness,) if witness is not None and "{L0}" in message else ()
        return Defect(self.code, fact.acquisition.call, message, fact.category, refs, fact.acquisition,  # type: ignore[arg-type]
                      fact.release_nodes, confidence=_confidence(fact))


# Path-dependent verdicts whose path is often one that cannot happen: released on every
# path but one that a flag or a condition the analysis does not correlate rules out ("branch"),
# rebound where a condition says the first one was never made ("rebind"), or a ``return``
# reached only when the resource was not made, was already released under the same
# condition, or goes out inside the returned value ("return": the analysis follows each
# path it can see, not whether the path is possible; judged right about two times in three,
# benchmarks/realcode/tiers.py).
_UNSURE_PATHS = frozenset({"branch", "rebind", "return"})


def _confidence(fact: Lifetime) -> str:
    """Low for the verdicts that judged real code showed wrong a third of the time or more:
    a temporary path (a string whose hand-offs, moved, registered or returned inside another
    value, are not followed), a lock released on some paths (its partner method or a flag
    releases it on the others), and the unsure paths above. A resource no path releases, an
    explicit ``raise``, a ``break`` or ``continue`` that leaves it held stays high."""
    if fact.spec.is_path or (fact.is_lock and fact.category != "never"):
        return "low"
    if fact.category in _UNSURE_PATHS and fact.witness_kind != "loop-rebind":
        # A rebinding found where a ``break`` or ``continue`` carried the resource on
        # (``flow._verdict``) is as sure as that jump was.
        return "low"
    return "high"


def _use_words(use: str, name: str) -> str:
    """How an unnamed resource is used, as the message says it."""
    if use == "passed-to":
        return f"passed to `{name}()`"
    if use == "method-call":
        return f"used for `.{name}()`"
    if use == "attribute":
        return f"used for `.{name}`"
    if use == "indexed":
        return "indexed, dropping the rest"
    if use == "iterated-stoppable":
        return "iterated by a loop that can stop early"
    if use == "iterated":
        return "iterated over"
    if use == "yielded-from":
        return "yielded from"
    return "discarded"

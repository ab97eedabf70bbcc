"""Automatic fixes: rewrite leaked resources into ``with`` statements, safely.

Three layers, each usable alone:

- ``build_fixes(module, defects)``: node-level rewrites for the analysis's defects
  (``memlint.fixes.builders``); called by the rules through ``memlint.rules._report``;
- ``to_fix``: the engine turns a rewrite into a ``Fix`` with text ``Edit``s once it knows
  positions (``memlint.fixes.text``);
- ``apply_fixes(source, findings, unsafe=False)`` applies the fixes of one round, and
  ``fix_text(source, check, unsafe=False)`` repeats check-and-apply until nothing is left to
  fix (a ``with`` inside another is fixed in the round after the outer one), checking that
  every round's result still parses.

A fix is "safe" when the code does the same thing on its normal path and only releases
the resource on the paths that leaked it; the rule specs in ``rules/`` list the cases.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Callable, Iterable, List, Optional

from memlint.diagnostics import Finding, Fix
from memlint.fixes.builders import build_fixes
from memlint.fixes.collector import collector_paused
from memlint.fixes.model import WithRewrite
from memlint.fixes.text import apply_edits, to_fix

__all__ = ["FixOutcome", "WithRewrite", "apply_fixes", "build_fixes", "fix_text", "selected_fixes", "to_fix"]

# Each round fixes at least one more level of nesting; real code nests far fewer resources.
MAX_ROUNDS = 8
PARSE_ERROR = "MEM000"


def selected_fixes(findings: Iterable[Finding], unsafe: bool = False) -> List[Fix]:
    """The fixes of ``findings`` that may be applied: safe ones, and unsafe ones if asked."""
    return [f.fix for f in findings if f.fix is not None and f.fix.edits and (f.fix.safe or unsafe)]


def apply_fixes(source: str, findings: Iterable[Finding], unsafe: bool = False) -> str:
    """``source`` with one round of fixes applied (overlapping fixes wait for a later round)."""
    text, _applied = apply_edits(source, selected_fixes(findings, unsafe))
    return text


@dataclass
class FixOutcome:
    """The result of fixing one file's text."""

    text: str
    # Findings whose fix was applied, from every round.
    fixed: List[Finding] = field(default_factory=list)
    # Findings of the final text.
    remaining: List[Finding] = field(default_factory=list)
    # Why fixing stopped early, when it did (a round whose output did not parse).
    problem: Optional[str] = None

    @property
    def changed(self) -> bool:
        return bool(self.fixed)


def fix_text(
    source: str,
    check: Callable[[str], List[Finding]],
    unsafe: bool = False,
    findings: Optional[List[Finding]] = None,
    parsed_by_check: Optional[Callable[[str], bool]] = None,
) -> FixOutcome:
    """Check, apply the fixes, and check again until no fix is left to apply.

    ``check`` returns the findings of a text (with the caller's configuration). A file with
    a syntax error (``MEM000``) is returned unchanged. A round whose output does not parse
    (with ``ast``, as the running interpreter reads it) is discarded, and fixing stops there
    with ``problem`` set. ``findings``, when given, are ``check(source)`` already computed
    (by the run that found the file needed fixing): the first round uses them instead of
    checking the same text a second time. ``parsed_by_check(text)``, when given, says
    whether the last ``check(text)`` parsed that text with ``ast`` without error
    (``memlint.engine.accepted_by_python``): such a text is not parsed a second time.
    """
    text = source
    if findings is None:
        findings = _check(check, text)
    outcome = FixOutcome(text)
    if any(finding.code == PARSE_ERROR for finding in findings):
        outcome.remaining = findings
        return outcome
    for _round in range(MAX_ROUNDS):
        fixes = selected_fixes(findings, unsafe)
        if not fixes:
            break
        new_text, applied = apply_edits(text, fixes)
        if new_text == text:
            break
        # Checked first when the check can tell that it parsed the text: one parse, not two.
        new_findings: Optional[List[Finding]] = None
        if parsed_by_check is not None:
            new_findings = _check(check, new_text)
        if parsed_by_check is None or not parsed_by_check(new_text):
            try:
                ast.parse(new_text)
            except (SyntaxError, ValueError) as error:
                outcome.problem = f"a fix produced invalid code and was not applied: {error}"
                break
        applied_ids = {id(fix) for fix in applied}
        outcome.fixed.extend(f for f in findings if f.fix is not None and id(f.fix) in applied_ids)
        text = new_text
        findings = new_findings if new_findings is not None else _check(check, text)
    outcome.text = text
    outcome.remaining = findings
    return outcome


def _check(check: Callable[[str], List[Finding]], text: str) -> List[Finding]:
    """``check(text)`` with the garbage collector paused, and one collection afterwards
    (``memlint.fixes.collector``)."""
    with collector_paused(collect_after=True):
        return check(text)

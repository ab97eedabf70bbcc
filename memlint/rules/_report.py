"""What the analysis rules share: facts in, defects out, fixes once per file.

An ``AnalysisRule`` implements ``judge``: from one fact of the analysis, the defects of
its code (usually none). The defects of every analysis rule are made once per file, in
the order of the facts, so that the fixer sees them all (one ``with`` may fix a MEM001
and a MEM003 finding together) whichever rules are selected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, ClassVar, Dict, Iterable, Iterator, List, Optional

from memlint.rules.base import FileContext, Report, Rule

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.model import Defect, Fact, ModuleAnalysis

_DEFECTS_KEY = "memlint.defects"
_FIXES_KEY = "memlint.fixes"


class AnalysisRule(Rule):
    """A rule that judges the facts of the resource analysis."""

    # They can only report in a file that calls a resource-creating callable or defines a
    # context manager, which lets the engine skip libcst for the other files.
    starts_from_resources: ClassVar[bool] = True

    def judge(self, fact: "Fact") -> Iterable["Defect"]:  # pragma: no cover - interface
        raise NotImplementedError

    def check(self, ctx: FileContext) -> Iterable[Report]:
        return defect_reports(ctx, self.code)


def analysis_rules() -> List[AnalysisRule]:
    """One instance of every registered analysis rule, in registry order."""
    from memlint.rules import RULE_CLASSES, load_rule

    rules = []
    for code in RULE_CLASSES:
        rule_class = load_rule(code)
        if issubclass(rule_class, AnalysisRule):
            rules.append(rule_class())
    return rules


def defects_of(analysis: "ModuleAnalysis") -> List["Defect"]:
    """Every analysis rule's defects for one module, in the order of the facts."""
    rules = analysis_rules()
    defects: List["Defect"] = []
    for fact in analysis.facts:
        for rule in rules:
            defects.extend(rule.judge(fact))
    return defects


def defect_reports(
    ctx: FileContext, code: str, own_fix: Optional[Callable[[FileContext, "Defect"], object]] = None
) -> Iterator[Report]:
    """The reports of ``code``; ``own_fix`` builds the fix of a defect the ``with`` fixer has none for."""
    defects = [defect for defect in _defects(ctx) if defect.code == code]
    fixes = _fixes(ctx) if defects else {}
    for defect in defects:
        fix = fixes.get(id(defect))
        if fix is None and own_fix is not None:
            fix = own_fix(ctx, defect)
        yield Report(defect.node, defect.message, fix=fix, line_refs=defect.line_refs, confidence=defect.confidence)


def _defects(ctx: FileContext) -> List["Defect"]:
    cached = ctx.cache.get(_DEFECTS_KEY)
    if cached is None:
        cached = ctx.cache[_DEFECTS_KEY] = defects_of(ctx.analysis)
    return cached  # type: ignore[no-any-return]


def _fixes(ctx: FileContext) -> Dict[int, object]:
    """Node-level fixes for every defect of the file, built once and shared by the rules."""
    cached = ctx.cache.get(_FIXES_KEY)
    if cached is None:
        from memlint.fixes import build_fixes

        try:
            cached = build_fixes(ctx.module, _defects(ctx), ctx.options.resources)
        except Exception as error:  # noqa: BLE001 - a fixer bug must not cost the findings
            cached = {}
            ctx.cache["memlint.fixes.error"] = f"{type(error).__name__}: {error}"
        ctx.cache[_FIXES_KEY] = cached
    return cached

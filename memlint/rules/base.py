"""The contract between the engine and a rule.

A rule is a small class with a ``code`` and a ``check`` method. It receives a parsed file
(``FileContext``) and yields ``Report``s that point at libcst nodes. Rules never parse,
walk directories, locate positions or print: the engine does all of that, once per file.
A rule's metadata (name, summary, default on/off, fixability) lives in its spec in
``rules/<CODE>.md``, the single source shared with ``memlint rule`` and the SARIF output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Dict, Iterable, Optional, Tuple

from memlint.options import RuleOptions

if TYPE_CHECKING:  # pragma: no cover - typing only; libcst is imported by the engine
    import libcst as cst

    from memlint.analysis.model import ModuleAnalysis


@dataclass(frozen=True)
class Report:
    """What a rule hands back: the node to blame, the message, and an optional fix.

    ``fix`` is produced by the fix machinery (``memlint.fixes``); rules that cannot fix
    leave it ``None``. A message may name other places by line: ``{L0}``, ``{L1}`` ... stand
    for the start lines of ``line_refs[0]``, ``line_refs[1]`` ..., filled in by the engine
    (rules never compute positions).
    """

    node: "cst.CSTNode"
    message: str
    fix: Optional[Any] = None
    line_refs: Tuple["cst.CSTNode", ...] = ()
    # "high" or "low" (``memlint.diagnostics.CONFIDENCE_LEVELS``).
    confidence: str = "high"


class FileContext:
    """One parsed file, shared by every rule that runs on it."""

    def __init__(
        self, path: str, source: str, module: "cst.Module", options: RuleOptions, tree: Optional[Any] = None
    ) -> None:
        self.path = path
        self.source = source
        self.module = module
        self.options = options
        # The ``ast`` tree of the same source (the engine has it): line spans for free.
        self.tree = tree
        self._analysis: Optional["ModuleAnalysis"] = None
        # Anything a rule wants to share with the others for this file only.
        self.cache: Dict[str, Any] = {}
        # Whether the memory-growth stage runs (the engine says no when none of its rules does).
        self.growth = True

    @property
    def analysis(self) -> "ModuleAnalysis":
        """The resource-lifetime analysis of the module, computed once on first use."""
        if self._analysis is None:
            from memlint.analysis import analyze_module

            self._analysis = analyze_module(self.module, self.source, self.options, self.tree, self.growth)
        return self._analysis


__all__ = ["FileContext", "Report", "Rule", "RuleOptions"]


class Rule:
    """Base class of every rule; subclasses set ``code`` and implement ``check``."""

    code: ClassVar[str] = ""
    # True for the rules that read the resource analysis: they can only report in a file
    # that calls a resource-creating callable or defines a context manager, which lets the
    # engine skip libcst for the other files.
    starts_from_resources: ClassVar[bool] = False
    # True for a rule that reads the whole module (not only what its triggers reach by
    # name): the engine then has libcst parse whole files (``memlint.regions``).
    reads_whole_module: ClassVar[bool] = False

    def check(self, ctx: FileContext) -> Iterable[Report]:  # pragma: no cover - interface
        raise NotImplementedError

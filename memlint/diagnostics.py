"""What a check produces: plain, frozen records that every layer after the rules passes along.

Columns are 1-based everywhere a person or a tool reads them (all output formats); the
rules never deal in positions at all, they report nodes and the engine locates them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Tuple


@dataclass(frozen=True)
class Edit:
    """Replace the text between two 1-based (line, column) positions with ``content``."""

    line: int
    column: int
    end_line: int
    end_column: int
    content: str


@dataclass(frozen=True)
class Fix:
    """A rewrite that removes a finding. ``safe`` fixes never change behaviour (see rules/)."""

    message: str
    safe: bool
    edits: Tuple[Edit, ...] = ()


# How sure a rule is of a finding, surest first. "low": the evidence is of a kind that was
# often wrong when findings on real projects were judged (each rule spec's Figures); such findings
# are shown only when asked for (``--confidence low``).
CONFIDENCE_LEVELS = ("high", "low")


def confident_enough(confidence: str, least: str) -> bool:
    """Whether a finding of ``confidence`` is reported when ``least`` is asked for."""
    return CONFIDENCE_LEVELS.index(confidence) <= CONFIDENCE_LEVELS.index(least)


@dataclass(frozen=True, order=True)
class Finding:
    """One defect at one place in one file."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    code: str
    message: str
    fix: Optional[Fix] = field(default=None, compare=False)
    confidence: str = field(default="high", compare=False)

    @property
    def name(self) -> str:
        """The rule's name (``unreleased-resource``), the ``name`` of the JSON output; the
        code itself for a code without a spec."""
        # Imported here: the specs are read only by callers that ask for a name.
        from memlint.specs import load_specs

        spec = load_specs().get(self.code)
        return spec.name if spec is not None else self.code

    def sort_key(self) -> Tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.code)

"""``RuleOptions``: the part of the configuration that the rules and the analysis read.

Its own module so that the analysis (which reads it) and the rule contract (which hands
it over) do not import each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Tuple


@dataclass(frozen=True)
class RuleOptions:
    """Options from ``[tool.memlint]`` that rules read (never the rest of the config)."""

    # Extra resource-creating calls from ``[tool.memlint.resources]``: "dotted.name" -> the
    # release method, or the table of model fields normalised by
    # ``memlint.knowledge.parse_configured``.
    resources: Mapping[str, Any] = field(default_factory=dict)
    # Facts of the project index (``memlint.analysis.project_index``) for this one file:
    # (name as the file resolves it, summary) for what other modules of the project make.
    project_resources: Tuple[Tuple[str, str], ...] = ()

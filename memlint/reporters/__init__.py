"""Output formats: one module per format, each a pure ``render(findings, context) -> str``.

Reporters only format; they never decide what is reported or how the run exits. The
modules are imported on demand so that choosing one format does not load the others.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from memlint.diagnostics import Finding

OUTPUT_FORMATS = ("full", "concise", "json", "sarif", "github")


@dataclass(frozen=True)
class ReportContext:
    """What a reporter may need besides the findings."""

    # Display path -> decoded source text, for files that have findings (caret lines).
    sources: Mapping[str, str] = field(default_factory=dict)
    # Whether to emit ANSI colour (the caller decides: TTY and NO_COLOR).
    color: bool = False
    # The folder that relative paths are relative to (SARIF's %SRCROOT%).
    root: str = ""
    # Whether the run applies unsafe fixes: ``[*]`` marks only the findings it would fix.
    unsafe_fixes: bool = False


def render(output_format: str, findings: Sequence[Finding], context: ReportContext) -> str:
    """Render ``findings`` in ``output_format`` (one of ``OUTPUT_FORMATS``)."""
    if output_format not in OUTPUT_FORMATS:
        raise ValueError(f"unknown output format {output_format!r}; expected one of {', '.join(OUTPUT_FORMATS)}")
    module = importlib.import_module(f"memlint.reporters.{output_format}")
    text: str = module.render(findings, context)
    return text

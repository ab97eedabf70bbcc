"""``concise``: one line per finding, ``path:line:col: CODE message``."""

from __future__ import annotations

from typing import Sequence

from memlint.diagnostics import Finding
from memlint.reporters import ReportContext

BOLD = "\x1b[1m"
RED = "\x1b[31m"
CYAN = "\x1b[36m"
RESET = "\x1b[0m"


def header(finding: Finding, color: bool, unsafe_fixes: bool = False) -> str:
    """The first line of a finding; ``[*]`` marks one that ``--fix`` (with ``unsafe_fixes``:
    ``--fix --unsafe-fixes``) would fix, as in ruff."""
    applies = finding.fix is not None and bool(finding.fix.edits) and (finding.fix.safe or unsafe_fixes)
    fixable = "[*] " if applies else ""
    location = f"{finding.path}:{finding.line}:{finding.column}:"
    if not color:
        return f"{location} {finding.code} {fixable}{finding.message}"
    return f"{BOLD}{location}{RESET} {BOLD}{RED}{finding.code}{RESET} {CYAN}{fixable}{RESET}{finding.message}"


def render(findings: Sequence[Finding], context: ReportContext) -> str:
    return "".join(header(finding, context.color, context.unsafe_fixes) + "\n" for finding in findings)

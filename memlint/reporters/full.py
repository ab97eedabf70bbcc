"""``full`` (the default): the concise line, then the source line with a caret under the
reported span, and the fix's description when there is one."""

from __future__ import annotations

from typing import Dict, List, Sequence

from memlint.diagnostics import Finding
from memlint.reporters import ReportContext
from memlint.reporters.concise import BOLD, CYAN, RED, RESET, header

TAB_WIDTH = 4


def _snippet(finding: Finding, line_text: str, color: bool) -> List[str]:
    number = str(finding.line)
    gutter = " " * len(number)
    shown = line_text.expandtabs(TAB_WIDTH)
    start = len(line_text[: finding.column - 1].expandtabs(TAB_WIDTH))
    if finding.end_line == finding.line and finding.end_column > finding.column:
        end = len(line_text[: finding.end_column - 1].expandtabs(TAB_WIDTH))
    else:
        end = len(shown.rstrip())  # a multi-line span: underline to the end of its first line
    carets = "^" * max(end - start, 1)
    bar = f"{CYAN}|{RESET}" if color else "|"
    if color:
        carets = f"{BOLD}{RED}{carets} {finding.code}{RESET}"
        number = f"{CYAN}{number}{RESET}"
    else:
        carets = f"{carets} {finding.code}"
    return [f"{gutter} {bar}", f"{number} {bar} {shown}".rstrip(), f"{gutter} {bar} {' ' * start}{carets}", f"{gutter} {bar}"]


def render(findings: Sequence[Finding], context: ReportContext) -> str:
    lines_by_path: Dict[str, List[str]] = {}
    out: List[str] = []
    for finding in findings:
        out.append(header(finding, context.color, context.unsafe_fixes))
        source = context.sources.get(finding.path)
        if source is not None:
            lines = lines_by_path.get(finding.path)
            if lines is None:
                lines = lines_by_path[finding.path] = source.splitlines()
            if 1 <= finding.line <= len(lines):
                out.extend(_snippet(finding, lines[finding.line - 1], context.color))
        if finding.fix is not None:
            kind = "safe" if finding.fix.safe else "unsafe"
            out.append(f"  = help: {finding.fix.message} ({kind} fix)")
        out.append("")
    return "".join(line + "\n" for line in out)

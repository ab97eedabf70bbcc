"""``github``: GitHub Actions workflow commands, shown as annotations on the pull request.

``::error title=memlint (CODE),file=PATH,line=L,col=C,endLine=EL,endColumn=EC::CODE message``

Escaping follows the Actions toolkit: in the message ``%``, CR and LF become ``%25``,
``%0D`` and ``%0A``; property values additionally escape ``:`` and ``,`` as ``%3A`` and
``%2C``.
"""

from __future__ import annotations

from typing import Sequence

from memlint.diagnostics import Finding
from memlint.reporters import ReportContext


def escape_data(text: str) -> str:
    """Escape a workflow command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property value."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(findings: Sequence[Finding], context: ReportContext) -> str:
    lines = []
    for finding in findings:
        properties = ",".join(
            f"{key}={escape_property(str(value))}"
            for key, value in (
                ("title", f"memlint ({finding.code})"),
                ("file", finding.path),
                ("line", finding.line),
                ("col", finding.column),
                ("endLine", finding.end_line),
                ("endColumn", finding.end_column),
            )
        )
        lines.append(f"::error {properties}::{escape_data(f'{finding.code} {finding.message}')}\n")
    return "".join(lines)

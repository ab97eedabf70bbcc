"""``json``: a list of finding objects (the schema is documented in the README and stable).

Each object: ``code``, ``name`` (the rule's symbol), ``message``, ``path``, ``line``,
``column``, ``end_line``, ``end_column`` (1-based columns), ``confidence`` (``"high"`` or
``"low"``: shown only with ``--confidence low``) and ``fix``: ``null`` or
``{"message", "applicability": "safe"|"unsafe", "edits": [{"line", "column", "end_line",
"end_column", "content"}]}``.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Optional, Sequence

from memlint.diagnostics import Finding, Fix
from memlint.reporters import ReportContext


def fix_to_dict(fix: Optional[Fix]) -> Optional[Dict[str, Any]]:
    """The JSON shape of a fix (``None`` stays ``None``)."""
    if fix is None:
        return None
    return {
        "message": fix.message,
        "applicability": "safe" if fix.safe else "unsafe",
        "edits": [
            {
                "line": edit.line,
                "column": edit.column,
                "end_line": edit.end_line,
                "end_column": edit.end_column,
                "content": edit.content,
            }
            for edit in fix.edits
        ],
    }


def finding_to_dict(finding: Finding, name: Optional[str] = None) -> Dict[str, Any]:
    """The JSON shape of one finding (``name`` defaults to ``finding.name``)."""
    return {
        "code": finding.code,
        "name": finding.name if name is None else name,
        "message": finding.message,
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "end_line": finding.end_line,
        "end_column": finding.end_column,
        "confidence": finding.confidence,
        "fix": fix_to_dict(finding.fix),
    }


def render(findings: Sequence[Finding], context: ReportContext) -> str:
    items = [finding_to_dict(finding) for finding in findings]
    return json.dumps(items, indent=2, ensure_ascii=False) + "\n"

"""``--statistics``: how many findings each code has, most frequent first."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Dict, List, Sequence

from memlint.diagnostics import Finding
from memlint.specs import load_specs


def count(findings: Sequence[Finding]) -> List[Dict[str, Any]]:
    """One entry per code: ``code``, ``name``, ``count``, ``fixable`` (any has a fix)."""
    specs = load_specs()
    counts = Counter(finding.code for finding in findings)
    fixable = {finding.code for finding in findings if finding.fix is not None}
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [
        {
            "code": code,
            "name": specs[code].name if code in specs else code,
            "count": number,
            "fixable": code in fixable,
        }
        for code, number in ordered
    ]


def render(findings: Sequence[Finding], as_json: bool = False) -> str:
    """A table ``count  code  [*] name`` (``[*]``: some have a fix), or the same as JSON."""
    rows = count(findings)
    if as_json:
        return json.dumps(rows, indent=2) + "\n"
    if not rows:
        return ""
    width = max(len(str(row["count"])) for row in rows)
    code_width = max(len(row["code"]) for row in rows)
    return "".join(
        f"{row['count']:>{width}}  {row['code']:<{code_width}}  {'[*] ' if row['fixable'] else ''}{row['name']}\n"
        for row in rows
    )

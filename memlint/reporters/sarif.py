"""``sarif``: SARIF 2.1.0 for code-scanning services (GitHub code scanning and others).

Rule metadata (id, name, descriptions, help) comes from the specs in ``rules/``; the
rule's whole text is in ``help.markdown``, so a viewer needs no link to explain a finding.
``helpUri`` is given only when the installed package declares a public ``Project-URL:
Rules``: a local ``file://`` path would only work on the machine that wrote the report.
Result locations are URIs relative to ``%SRCROOT%``, the folder memlint ran in (the
repository root in CI), with 1-based lines and columns counted in Unicode code points.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence
from urllib.parse import quote

from memlint.__about__ import __version__
from memlint.diagnostics import Finding, Fix
from memlint.reporters import ReportContext
from memlint.specs import RuleSpec, load_specs

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"


def _rules_base_url() -> Optional[str]:
    """A web location for rule docs, from the package's ``Project-URL: Rules`` if declared."""
    try:
        from importlib.metadata import PackageNotFoundError, metadata
    except ImportError:  # pragma: no cover - Python < 3.8 is not supported anyway
        return None
    try:
        urls = metadata("memlint").get_all("Project-URL") or []
    except PackageNotFoundError:
        return None
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "rules" and url.strip():
            return url.strip().rstrip("/")
    return None


def help_uri(spec: RuleSpec, base_url: Optional[str]) -> Optional[str]:
    """The web page of the rule when the package declares one, else ``None``."""
    if base_url is not None:
        return f"{base_url}/{spec.code}.md"
    return None


def _rule(spec: RuleSpec, uri: Optional[str]) -> Dict[str, Any]:
    rule: Dict[str, Any] = {
        "id": spec.code,
        "name": spec.name,
        "shortDescription": {"text": spec.summary},
        "fullDescription": {"text": spec.description},
        "help": {"text": spec.body, "markdown": spec.body},
    }
    if uri is not None:
        rule["helpUri"] = uri
    rule["defaultConfiguration"] = {"enabled": spec.default, "level": "error"}
    rule["properties"] = {"fixable": spec.fixable}
    return rule


def artifact_location(path: str, root: str) -> Dict[str, Any]:
    """A SARIF artifactLocation: relative to %SRCROOT% when possible, else a file URI."""
    if os.path.isabs(path):
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(path.replace(os.sep, "/")), "uriBaseId": SRCROOT}


def _region(line: int, column: int, end_line: int, end_column: int) -> Dict[str, int]:
    return {"startLine": line, "startColumn": column, "endLine": end_line, "endColumn": end_column}


def _fix(fix: Fix, location: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "description": {"text": fix.message},
        "artifactChanges": [
            {
                "artifactLocation": location,
                "replacements": [
                    {
                        "deletedRegion": _region(edit.line, edit.column, edit.end_line, edit.end_column),
                        "insertedContent": {"text": edit.content},
                    }
                    for edit in fix.edits
                ],
            }
        ],
    }


def build(findings: Sequence[Finding], root: str) -> Dict[str, Any]:
    """The SARIF log as a JSON-ready dict."""
    specs = load_specs()
    base_url = _rules_base_url()
    rules: List[Dict[str, Any]] = []
    index: Dict[str, int] = {}
    for spec in specs.values():
        index[spec.code] = len(rules)
        rules.append(_rule(spec, help_uri(spec, base_url)))
    results = []
    for finding in findings:
        location = artifact_location(finding.path, root)
        result: Dict[str, Any] = {
            "ruleId": finding.code,
            "level": "error",
            "message": {"text": finding.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": location,
                        "region": _region(finding.line, finding.column, finding.end_line, finding.end_column),
                    }
                }
            ],
        }
        if finding.code in index:
            result["ruleIndex"] = index[finding.code]
        # SARIF has no field for it; "properties" is the bag the standard leaves to tools.
        result["properties"] = {"confidence": finding.confidence}
        if finding.fix is not None and finding.fix.edits:
            result["fixes"] = [_fix(finding.fix, location)]
        results.append(result)
    driver: Dict[str, Any] = {"name": "memlint", "version": __version__, "semanticVersion": __version__}
    if base_url is not None:
        driver["informationUri"] = base_url
    driver["rules"] = rules
    run: Dict[str, Any] = {
        "tool": {"driver": driver},
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    if root:
        run["originalUriBaseIds"] = {SRCROOT: {"uri": Path(root).resolve().as_uri() + "/"}}
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(findings: Sequence[Finding], context: ReportContext) -> str:
    return json.dumps(build(findings, context.root), indent=2, ensure_ascii=False) + "\n"

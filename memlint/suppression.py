"""Suppression comments, applied to a file's findings after the engine has run.

- ``# noqa`` on the reported line suppresses every finding on that line;
- ``# noqa: MEM001`` / ``# noqa: MEM001, MEM003`` suppresses only those codes there;
- ``# memlint: noqa`` (optionally ``: CODES``) on a line of its own suppresses for the file.

Only real comments count (the source is tokenized), so ``"# noqa"`` inside a string does
nothing. ``MEM000`` and ``MEM900`` say the file was not fully checked and are never
suppressed. With ``MEM100`` enabled, directives that suppressed nothing are reported; bare
``# noqa`` and other tools' codes are left alone since other linters share them.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass
from typing import AbstractSet, Dict, List, Optional, Sequence, Set, Tuple

from memlint.config import ALWAYS_REPORTED
from memlint.diagnostics import Finding
from memlint.specs import load_specs

UNUSED_NOQA = "MEM100"

_CODE = r"[A-Za-z]+[0-9]+"
_CODES = rf"(?P<codes>{_CODE}(?:\s*,\s*{_CODE}|\s+{_CODE})*)"
_LINE_RE = re.compile(rf"#\s*noqa(?![A-Za-z0-9_])(?:(?P<colon>\s*:)\s*{_CODES}?)?", re.IGNORECASE)
_FILE_RE = re.compile(rf"#\s*memlint\s*:\s*noqa(?![A-Za-z0-9_])(?:(?P<colon>\s*:)\s*{_CODES}?)?", re.IGNORECASE)
_SPLIT_RE = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class Directive:
    """One suppression comment. ``codes`` is ``None`` for a blanket (code-less) directive."""

    line: int
    column: int
    end_column: int
    codes: Optional[Tuple[str, ...]]
    file_level: bool


def _parse_codes(match: "re.Match[str]") -> Tuple[bool, Optional[Tuple[str, ...]]]:
    """(valid, codes): a colon with no codes after it is not a valid directive."""
    if match.group("colon") is None:
        return True, None
    if match.group("codes") is None:
        return False, None
    return True, tuple(code.upper() for code in _SPLIT_RE.split(match.group("codes").strip()) if code)


def parse_directives(source: str) -> List[Directive]:
    """Every suppression directive in ``source``; ``[]`` if it cannot be tokenized."""
    directives: List[Directive] = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return []
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        line, column = token.start
        own_line = not token.line[:column].strip()
        file_match = _FILE_RE.match(token.string)
        if file_match is not None:
            valid, codes = _parse_codes(file_match)
            if valid and own_line:
                directives.append(Directive(line, column + 1, column + 1 + file_match.end(), codes, True))
            continue
        line_match = _LINE_RE.search(token.string)
        if line_match is not None:
            valid, codes = _parse_codes(line_match)
            if valid:
                start = column + 1 + line_match.start()
                directives.append(Directive(line, start, column + 1 + line_match.end(), codes, False))
    return directives


def might_have_directives(source: str) -> bool:
    """A cheap test that lets files without any ``noqa`` skip tokenizing."""
    return "noqa" in source.lower()


def apply_suppressions(
    findings: Sequence[Finding],
    directives: Sequence[Directive],
    enabled: AbstractSet[str],
    path: str,
) -> List[Finding]:
    """``findings`` without the suppressed ones, plus ``MEM100`` findings if enabled.

    ``enabled`` is the set of codes enabled for this file; it decides whether MEM100 is
    reported and which listed codes count as 'not enabled'.
    """
    by_line: Dict[int, List[Directive]] = {}
    file_level: List[Directive] = []
    for directive in directives:
        (file_level if directive.file_level else by_line.setdefault(directive.line, [])).append(directive)
    used: Dict[Directive, Set[str]] = {directive: set() for directive in directives}

    kept: List[Finding] = []
    for finding in findings:
        if finding.code in ALWAYS_REPORTED:
            kept.append(finding)
            continue
        suppressed = False
        for directive in file_level + by_line.get(finding.line, []):
            if directive.codes is None or finding.code in directive.codes:
                used[directive].add(finding.code)
                suppressed = True
        if not suppressed:
            kept.append(finding)

    if UNUSED_NOQA in enabled:
        kept.extend(_unused(directives, used, enabled, path))
        kept.sort(key=Finding.sort_key)
    return kept


def _unused(
    directives: Sequence[Directive],
    used: Dict[Directive, Set[str]],
    enabled: AbstractSet[str],
    path: str,
) -> List[Finding]:
    findings: List[Finding] = []
    if any(d.file_level and d.codes is not None and UNUSED_NOQA in d.codes for d in directives):
        return findings  # `# memlint: noqa: MEM100` keeps every directive in the file
    for directive in directives:
        if directive.codes is not None and UNUSED_NOQA in directive.codes:
            continue  # the author asked for this directive to stay
        if directive.codes is None:
            if not directive.file_level or used[directive]:
                continue  # bare line-level noqa is shared with other linters
            message = "unused `# memlint: noqa`: nothing in this file needed suppressing"
        else:
            ours = [code for code in directive.codes if code.startswith("MEM")]
            unused = [code for code in ours if code not in used[directive]]
            if not unused:
                continue
            known = load_specs()
            unknown = [code for code in unused if code not in known]
            not_enabled = [code for code in unused if code in known and code not in enabled]
            idle = [code for code in unused if code in enabled]
            parts = []
            if idle:
                parts.append(f"unused: {', '.join(idle)}")
            if not_enabled:
                parts.append(f"not enabled: {', '.join(not_enabled)}")
            if unknown:
                parts.append(f"unknown code{'' if len(unknown) == 1 else 's'}: {', '.join(unknown)}")
            kind = "`# memlint: noqa`" if directive.file_level else "`# noqa`"
            message = f"unused {kind} directive ({'; '.join(parts)})"
        findings.append(
            Finding(path, directive.line, directive.column, directive.line, directive.end_column, UNUSED_NOQA, message)
        )
    return findings

"""The rules document's own Python examples, checked against MEM001/MEM003/MEM004.

Every ```python block of ``../shared/seed/memory-management-rules.md`` (relative to the
repository root) is either presented as correct (marked ✅ / "Example - Correct", or an
unmarked pattern block) and must draw no finding, or is the ❌ violation and must draw
MEM001 on its ``open(`` line and nothing else.

The document is UTF-8; its emoji were at some point re-encoded, so besides the real marks the
mis-decoded forms ("âœ…", "âŒ") and the English labels next to them are recognised too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Tuple

import pytest

import memlint

REPO_ROOT = Path(__file__).resolve().parents[1]
SEED = REPO_ROOT.parent / "shared" / "seed" / "memory-management-rules.md"
RULE_CODES = frozenset({"MEM001", "MEM003", "MEM004"})
ENGINE_ERROR_CODES = frozenset({"MEM000", "MEM900"})

# "✅" read through cp1252 is "âœ…"; "❌" is "â", an undefined byte (dropped or U+009D), "Œ".
_BAD_MARKS = ("\u274c", "\u00e2\u0152", "\u00e2\u009d\u0152", "NEVER DO THIS", "Example - Violation")
_GOOD_MARKS = ("\u2705", "\u00e2\u0153\u2026", "CORRECT", "Example - Correct")

_FENCE_OPEN = re.compile(r"^```python\s*$")
_FENCE_CLOSE = re.compile(r"^```\s*$")
_FENCE_ANY = re.compile(r"^```\S+")
_HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*$")


@dataclass(frozen=True)
class Block:
    """One ```python block: where it starts in the document, its label and its code."""

    doc_line: int
    heading: str
    label: str  # the marker text the block was classified by ("" for an unmarked block)
    bad: bool
    code: str

    @property
    def ident(self) -> str:
        slug = re.sub(r"[^A-Za-z0-9]+", "-", self.heading).strip("-")
        return f"L{self.doc_line}-{slug}-{'bad' if self.bad else 'ok'}"


def extract_blocks(text: str) -> List[Block]:
    """The python blocks of the document, classified by the text just above and inside them."""
    lines = text.splitlines()
    blocks: List[Block] = []
    heading = ""
    index = 0
    while index < len(lines):
        line = lines[index]
        title = _HEADING.match(line)
        if title:
            heading = title.group("title")
        if _FENCE_ANY.match(line) and not _FENCE_OPEN.match(line):
            # Another language's block: skip it whole, its "#" lines are not headings.
            index += 1
            while index < len(lines) and not _FENCE_CLOSE.match(lines[index]):
                index += 1
            index += 1
            continue
        if not _FENCE_OPEN.match(line):
            index += 1
            continue
        start = index
        index += 1
        body: List[str] = []
        while index < len(lines) and not _FENCE_CLOSE.match(lines[index]):
            body.append(lines[index])
            index += 1
        if index >= len(lines):
            raise ValueError(f"unterminated ```python block at line {start + 1} of {SEED}")
        index += 1
        context = _lead_in(lines, start) + "\n" + "\n".join(body)
        bad_label = next((mark for mark in _BAD_MARKS if mark in context), "")
        good_label = next((mark for mark in _GOOD_MARKS if mark in context), "")
        blocks.append(
            Block(
                doc_line=start + 1,
                heading=heading,
                label=bad_label or good_label,
                bad=bool(bad_label),
                code="\n".join(body) + "\n",
            )
        )
    return blocks


def _lead_in(lines: List[str], fence: int) -> str:
    """The last non-blank line before a fence (a label such as "**Example - Violation**:")."""
    for back in range(fence - 1, -1, -1):
        if lines[back].strip():
            if lines[back].startswith("```"):
                return ""
            return lines[back]
    return ""


def _load_blocks() -> List[Block]:
    if not SEED.is_file():
        return []
    return extract_blocks(SEED.read_text(encoding="utf-8"))


BLOCKS = _load_blocks()
_SKIP_ABSENT = pytest.mark.skipif(not SEED.is_file(), reason=f"rules document not present at {SEED}")


def _findings(block: Block) -> List[Tuple[int, str, str]]:
    path = f"seed_{block.ident}.py"
    return sorted(
        (f.line, f.code, f.message)
        for f in memlint.check_source(block.code, path)
        if f.code in RULE_CODES or f.code in ENGINE_ERROR_CODES
    )


def _show(block: Block, findings: List[Tuple[int, str, str]]) -> str:
    code_lines = block.code.splitlines()
    shown = [
        f"  block line {line} (document line {block.doc_line + line}): {code}: {message}\n"
        f"      | {code_lines[line - 1].strip() if 0 < line <= len(code_lines) else ''}"
        for line, code, message in findings
    ]
    return f"block at document line {block.doc_line} ({block.heading!r}, label {block.label!r}):\n" + "\n".join(
        shown
    )


@_SKIP_ABSENT
def test_document_has_the_expected_shape() -> None:
    """Guards the classification itself: one violation block, the rest presented as correct."""
    bad = [b for b in BLOCKS if b.bad]
    good = [b for b in BLOCKS if not b.bad]
    assert len(bad) == 1, [b.ident for b in bad]
    assert "open(" in bad[0].code
    assert len(good) >= 10, [b.ident for b in good]
    assert any(b.label for b in good), "no block was recognised as marked correct"
    assert any("connection = None" in b.code for b in good)


@_SKIP_ABSENT
@pytest.mark.parametrize("block", [b for b in BLOCKS if not b.bad], ids=lambda b: b.ident)
def test_correct_example_draws_no_finding(block: Block) -> None:
    findings = _findings(block)
    assert findings == [], _show(block, findings)


@_SKIP_ABSENT
@pytest.mark.parametrize("block", [b for b in BLOCKS if b.bad], ids=lambda b: b.ident)
def test_violation_example_draws_mem001_on_the_open(block: Block) -> None:
    open_lines = [n for n, text in enumerate(block.code.splitlines(), start=1) if "open(" in text]
    assert len(open_lines) == 1, open_lines
    findings = _findings(block)
    got = [(line, code) for line, code, _ in findings]
    assert got == [(open_lines[0], "MEM001")], _show(block, findings)


def test_block_extraction_and_labels() -> None:
    """The extractor on a small document written here, with real and mis-decoded marks."""
    doc = "\n".join(
        [
            "## A",
            "**Example - Correct**:",
            "```python",
            "# \u2705 CORRECT",
            "x = 1",
            "```",
            "```python",
            "# \u00e2\u0152 NEVER DO THIS",
            "f = open('a')",
            "```",
            "### Pattern",
            "```python",
            "y = 2",
            "```",
            "```bash",
            "# not a heading",
            "```",
            "```python",
            "z = 3",
            "```",
        ]
    )
    blocks = extract_blocks(doc)
    assert [(b.bad, b.heading, b.code) for b in blocks] == [
        (False, "A", "# \u2705 CORRECT\nx = 1\n"),
        (True, "A", "# \u00e2\u0152 NEVER DO THIS\nf = open('a')\n"),
        (False, "Pattern", "y = 2\n"),
        (False, "Pattern", "z = 3\n"),
    ]
    assert blocks[1].label == "\u00e2\u0152"
    assert blocks[2].label == ""

"""Rule specs: one Markdown file per rule, the single source of rule metadata.

Each ``rules/<CODE>.md`` starts with a front-matter block of plain ``key: value`` lines
between ``---`` lines (``code``, ``name``, ``summary``, ``default``, ``fixable``), followed by
the rule's documentation in the sections of ruff's rule docs. ``memlint rule``, the SARIF
rule metadata and the README rule table all come from here, so the set of known codes is
whatever files exist; nothing else lists them.

In an installed wheel the specs live in ``memlint/_rules``; in a source checkout (including
an editable install) they are read from ``<repo>/rules``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple

REQUIRED_KEYS = ("code", "name", "summary", "default", "fixable")
FIXABLE_VALUES = ("never", "sometimes", "always")
REQUIRED_SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead", "Fix safety", "References")
OPTIONAL_SECTIONS = ("Known problems", "Options", "Figures")

_CODE_RE = re.compile(r"^[A-Z]+[0-9]+$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_FENCE_RE = re.compile(r"^```([A-Za-z0-9_+-]*)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


class SpecError(ValueError):
    """A rule spec file is malformed; the message names the file and the problem."""


@dataclass(frozen=True)
class RuleSpec:
    """The parsed contents of one ``rules/<CODE>.md``."""

    code: str
    name: str
    summary: str
    default: bool
    fixable: str
    # The Markdown after the front matter, starting with the ``# CODE: name`` heading.
    body: str
    # Section title -> its Markdown text (without the heading), in file order.
    sections: Mapping[str, str] = field(default_factory=dict)
    source: str = ""

    def code_blocks(self, section: str, language: str = "python") -> List[str]:
        """The fenced code blocks of ``language`` inside ``section`` (empty if none)."""
        text = self.sections.get(section, "")
        return [match.group(2) for match in _FENCE_RE.finditer(text) if match.group(1) == language]

    @property
    def description(self) -> str:
        """The 'What it does' section as one paragraph of plain text."""
        return " ".join(self.sections.get("What it does", self.summary).split())


def parse_spec(text: str, source: str = "<spec>") -> RuleSpec:
    """Parse one spec file's text; raise ``SpecError`` naming ``source`` on any problem."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise SpecError(f"{source}: a rule spec must start with a '---' front-matter line")
    try:
        end = next(index for index in range(1, len(lines)) if lines[index].strip() == "---")
    except StopIteration:
        raise SpecError(f"{source}: the front matter is not closed by a '---' line") from None
    meta: Dict[str, str] = {}
    for number, line in enumerate(lines[1:end], start=2):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep or not key:
            raise SpecError(f"{source}:{number}: expected 'key: value' in the front matter, got {line!r}")
        if key not in REQUIRED_KEYS:
            raise SpecError(f"{source}:{number}: unknown front-matter key {key!r}")
        if key in meta:
            raise SpecError(f"{source}:{number}: front-matter key {key!r} given twice")
        meta[key] = value.strip()
    missing = [key for key in REQUIRED_KEYS if key not in meta]
    if missing:
        raise SpecError(f"{source}: front matter lacks {', '.join(missing)}")
    code, name = meta["code"], meta["name"]
    if not _CODE_RE.match(code):
        raise SpecError(f"{source}: code {code!r} is not like MEM001")
    if not _NAME_RE.match(name):
        raise SpecError(f"{source}: name {name!r} is not a kebab-case symbol")
    if meta["default"] not in ("on", "off"):
        raise SpecError(f"{source}: default must be 'on' or 'off', not {meta['default']!r}")
    if meta["fixable"] not in FIXABLE_VALUES:
        raise SpecError(f"{source}: fixable must be one of {', '.join(FIXABLE_VALUES)}, not {meta['fixable']!r}")
    if not meta["summary"]:
        raise SpecError(f"{source}: summary is empty")

    body = "\n".join(lines[end + 1 :]).strip() + "\n"
    heading = f"# {code}: {name}"
    if body.splitlines()[0].strip() != heading:
        raise SpecError(f"{source}: the text must start with the heading {heading!r}")
    sections = _split_sections(body)
    missing_sections = [title for title in REQUIRED_SECTIONS if title not in sections]
    if missing_sections:
        raise SpecError(f"{source}: missing section(s): {', '.join(missing_sections)}")
    unknown = [title for title in sections if title not in REQUIRED_SECTIONS + OPTIONAL_SECTIONS]
    if unknown:
        raise SpecError(f"{source}: unknown section(s): {', '.join(unknown)}")
    return RuleSpec(
        code=code,
        name=name,
        summary=meta["summary"],
        default=meta["default"] == "on",
        fixable=meta["fixable"],
        body=body,
        sections=sections,
        source=source,
    )


def _split_sections(body: str) -> Dict[str, str]:
    sections: Dict[str, str] = {}
    title: Optional[str] = None
    chunk: List[str] = []
    in_fence = False
    for line in body.splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
        if not in_fence and line.startswith("## "):
            if title is not None:
                sections[title] = "\n".join(chunk).strip()
            title, chunk = line[3:].strip(), []
        elif title is not None:
            chunk.append(line)
    if title is not None:
        sections[title] = "\n".join(chunk).strip()
    return sections


def spec_dir() -> Path:
    """Where the spec files are: inside the installed package, else the checkout's ``rules/``."""
    package_dir = Path(__file__).resolve().parent
    bundled = package_dir / "_rules"
    if bundled.is_dir():
        return bundled
    return package_dir.parent / "rules"


_CACHE: Dict[str, Tuple[RuleSpec, ...]] = {}


def load_specs(directory: Optional[Path] = None) -> Dict[str, RuleSpec]:
    """Every spec, keyed by code in code order. Raises ``SpecError`` on a malformed file."""
    folder = directory if directory is not None else spec_dir()
    key = str(folder)
    if key not in _CACHE:
        if not folder.is_dir():
            raise SpecError(f"rule specs not found: {folder} is not a directory")
        specs = []
        for path in sorted(folder.glob("*.md")):
            spec = parse_spec(path.read_text(encoding="utf-8"), str(path))
            if spec.code != path.stem:
                raise SpecError(f"{path}: code {spec.code!r} does not match the file name")
            specs.append(spec)
        if not specs:
            raise SpecError(f"rule specs not found: no *.md files in {folder}")
        _CACHE[key] = tuple(specs)
    return {spec.code: spec for spec in _CACHE[key]}


def rule_table_markdown(specs: Mapping[str, RuleSpec]) -> str:
    """The README's rule table, generated from the specs (a test keeps them equal)."""
    rows = ["| Code | Name | Summary | Default | Fixable |", "|---|---|---|---|---|"]
    for spec in specs.values():
        default = "on" if spec.default else "off"
        rows.append(f"| {spec.code} | {spec.name} | {spec.summary} | {default} | {spec.fixable} |")
    return "\n".join(rows) + "\n"

"""Knowledge files made of sections of string lists (``growth.toml``, ``tasks.toml``): read
and checked the same way, one-line errors naming the file, the section and the field."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, FrozenSet, Mapping, Tuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python < 3.11
    import tomli as tomllib

from memlint.knowledge.loader import KnowledgeError


@dataclass(frozen=True)
class SectionLists:
    """The lists of one such file, by ``section.field``."""

    lists: Mapping[str, FrozenSet[str]]

    def __getitem__(self, key: str) -> FrozenSet[str]:
        return self.lists[key]


def read_document(path: Path) -> Dict[str, Any]:
    """The parsed TOML of ``path`` (``KnowledgeError`` when it cannot be read)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise KnowledgeError(f"{path.name}: cannot be read: {error}") from None


def parse_section_lists(document: Mapping[str, Any], fields: Mapping[str, Tuple[str, ...]], where: str,
                        non_empty: bool = False) -> Dict[str, FrozenSet[str]]:
    """Every section and field of ``document`` known (``fields``), every value a list of
    strings (non-empty ones with ``non_empty``), by ``section.field``."""
    unknown = sorted(set(document) - set(fields))
    if unknown:
        raise KnowledgeError(f"{where}: unknown section(s) {unknown}; expected {sorted(fields)}")
    wanted = "a list of non-empty strings" if non_empty else "a list of strings"
    lists: Dict[str, FrozenSet[str]] = {}
    for section, names in fields.items():
        table = document.get(section, {})
        if not isinstance(table, Mapping):
            raise KnowledgeError(f"{where}: [{section}] must be a table")
        extra = sorted(set(table) - set(names))
        if extra:
            raise KnowledgeError(f"{where}: [{section}] unknown field(s) {extra}; known: {list(names)}")
        for name in names:
            value = table.get(name, [])
            if not isinstance(value, list) or not all(isinstance(item, str) and (item or not non_empty) for item in value):
                raise KnowledgeError(f"{where}: [{section}] {name} must be {wanted}")
            lists[f"{section}.{name}"] = frozenset(value)
    return lists

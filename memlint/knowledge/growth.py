"""What the memory-growth rules (MEM051-MEM053) know, as data: ``memory-growth/growth.toml``.

Kept in a folder of its own so that the resource loader (``loader.py``), which reads every
``*.toml`` beside it as resource models, never sees it. ``growth_knowledge()`` reads it once
per process and checks every field; ``growth_trigger_names()`` gives the prefilter the words
a file must contain to be worth analysing for these rules.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, FrozenSet, Mapping

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python < 3.11
    import tomli as tomllib

from memlint.knowledge.loader import KnowledgeError

GROWTH_FILE = Path(__file__).resolve().parent / "memory-growth" / "growth.toml"

_FIELDS: Dict[str, tuple] = {
    "caches": ("unbounded", "maxsize_bounded"),
    "containers": (
        "dicts", "lists", "sets", "bounded", "appending_methods", "keyed_methods", "removing_methods",
        "growing_functions", "shrinking_functions", "reading_functions", "registering_prefixes",
        "long_lived_class_suffixes",
    ),
    "handlers": ("adding", "removing", "guards", "fresh_loggers"),
}


@dataclass(frozen=True)
class GrowthKnowledge:
    """The lists of ``growth.toml``, by ``section.field``."""

    lists: Mapping[str, FrozenSet[str]]

    def __getitem__(self, key: str) -> FrozenSet[str]:
        return self.lists[key]


def parse_growth(document: Mapping[str, Any], where: str) -> GrowthKnowledge:
    """Check a parsed ``growth.toml``: every section and field known, every value a list of strings."""
    unknown = sorted(set(document) - set(_FIELDS))
    if unknown:
        raise KnowledgeError(f"{where}: unknown section(s) {unknown}; expected {sorted(_FIELDS)}")
    lists: Dict[str, FrozenSet[str]] = {}
    for section, fields in _FIELDS.items():
        table = document.get(section, {})
        if not isinstance(table, Mapping):
            raise KnowledgeError(f"{where}: [{section}] must be a table")
        extra = sorted(set(table) - set(fields))
        if extra:
            raise KnowledgeError(f"{where}: [{section}] unknown field(s) {extra}; known: {list(fields)}")
        for name in fields:
            value = table.get(name, [])
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise KnowledgeError(f"{where}: [{section}] {name} must be a list of strings")
            lists[f"{section}.{name}"] = frozenset(value)
    return GrowthKnowledge(lists)


@functools.lru_cache(maxsize=1)
def growth_knowledge() -> GrowthKnowledge:
    """The built-in growth knowledge (read once per process)."""
    try:
        document = tomllib.loads(GROWTH_FILE.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise KnowledgeError(f"{GROWTH_FILE.name}: cannot be read: {error}") from None
    return parse_growth(document, GROWTH_FILE.name)


def growth_trigger_names() -> FrozenSet[str]:
    """Words one of which a file must contain for MEM051-MEM053 to find anything in it: the
    cache decorators, the handler method, the growing methods and functions. (Subscript
    stores and ``+=`` are no words: the prefilter matches those apart.)"""
    known = growth_knowledge()
    names = set()
    for key in ("caches.unbounded", "caches.maxsize_bounded", "containers.growing_functions"):
        names.update(name.rsplit(".", 1)[-1] for name in known[key])
    for key in ("containers.appending_methods", "containers.keyed_methods", "handlers.adding"):
        names.update(known[key])
    return frozenset(names)

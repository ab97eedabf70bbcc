"""What the memory-growth rules (MEM051-MEM053) know, as data: ``memory-growth/growth.toml``.

Kept in a folder of its own so that the resource loader (``loader.py``), which reads every
``*.toml`` beside it as resource models, never sees it. ``growth_knowledge()`` reads it once
per process and checks every field; ``growth_trigger_names()`` gives the prefilter the words
a file must contain to be worth analysing for these rules.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Dict, FrozenSet, Mapping, Tuple

from memlint.knowledge.sections import SectionLists, parse_section_lists, read_document

GROWTH_FILE = Path(__file__).resolve().parent / "memory-growth" / "growth.toml"

_FIELDS: Dict[str, Tuple[str, ...]] = {
    "caches": ("unbounded", "maxsize_bounded"),
    "containers": (
        "dicts", "lists", "sets", "bounded", "appending_methods", "keyed_methods", "removing_methods",
        "growing_functions", "shrinking_functions", "reading_functions", "registering_prefixes",
        "long_lived_class_suffixes",
    ),
    "handlers": ("adding", "removing", "guards", "fresh_loggers"),
}


# The lists of ``growth.toml``, by ``section.field``.
GrowthKnowledge = SectionLists


def parse_growth(document: Mapping[str, Any], where: str) -> GrowthKnowledge:
    """Check a parsed ``growth.toml``: every section and field known, every value a list of strings."""
    return GrowthKnowledge(parse_section_lists(document, _FIELDS, where))


@functools.lru_cache(maxsize=1)
def growth_knowledge() -> GrowthKnowledge:
    """The built-in growth knowledge (read once per process)."""
    return parse_growth(read_document(GROWTH_FILE), GROWTH_FILE.name)


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

"""How code asks which Python runs it, as data: ``python-versions/versions.toml``.

Kept in a folder of its own so that the resource loader (``loader.py``), which reads every
``*.toml`` beside it as resource models, never sees it. ``version_knowledge()`` reads it once
per process and checks every field.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Dict, Mapping, Tuple

from memlint.knowledge.loader import KnowledgeError
from memlint.knowledge.sections import SectionLists, parse_section_lists, read_document

VERSIONS_FILE = Path(__file__).resolve().parent / "python-versions" / "versions.toml"

_FIELDS: Dict[str, Tuple[str, ...]] = {
    "flags": ("python2", "python3"),
    "version_info": ("tuples",),
}

# The lists of ``versions.toml``, by ``section.field``.
VersionKnowledge = SectionLists


def parse_versions(document: Mapping[str, Any], where: str) -> VersionKnowledge:
    """Check a parsed ``versions.toml``: every section and field known, every value a list of
    non-empty strings, no name both a Python 2 and a Python 3 flag."""
    lists = parse_section_lists(document, _FIELDS, where, non_empty=True)
    both = sorted(lists["flags.python2"] & lists["flags.python3"])
    if both:
        raise KnowledgeError(f"{where}: [flags] {both} are in both python2 and python3")
    return VersionKnowledge(lists)


@functools.lru_cache(maxsize=1)
def version_knowledge() -> VersionKnowledge:
    """The built-in version knowledge (read once per process)."""
    return parse_versions(read_document(VERSIONS_FILE), VERSIONS_FILE.name)

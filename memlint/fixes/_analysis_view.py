"""Everything the fixer takes from the analysis, in one place.

The fixer reads the analysis's model (defects, acquisitions), its knowledge of resources
(release functions, borrowers, logging methods) and its tree helpers. Importing them only
here keeps the rest of ``memlint.fixes`` independent of where the analysis keeps them.
"""

from __future__ import annotations

from memlint.analysis.model import Acquisition, Defect
from memlint.analysis.names import ImportTable, block_of, child_blocks, dotted, is_binding_target, iter_statements
from memlint.analysis.resources import (
    ANY_RELEASE_FUNCS,
    BORROWER_PREFIXES,
    BORROWERS,
    BORROWING_KEYWORDS,
    CLOSES_WHEN_EXHAUSTED,
    KNOWLEDGE,
    LOGGING_METHODS,
    RESOURCE_CALLS,
    SUBCLASS_BASES,
)
from memlint.analysis.walk import SCOPES, find, node_fields

# Modules that compatibility packages hand on under another name (``from pkg._compat import
# httplib`` is ``http.client``): the fixer resolves names the way the analysis does.
REEXPORTED_MODULES = KNOWLEDGE.reexported_modules


def import_table() -> ImportTable:
    """An import table that resolves names as the analysis's does (re-exports included)."""
    return ImportTable(REEXPORTED_MODULES)


def reports_a_kept_path(defect: Defect) -> bool:
    """Whether ``defect`` is about the path a temporary file leaves on disk (``tmp.name`` not
    removed, from ``NamedTemporaryFile(delete=False)``) rather than about the open object:
    closing does not remove that path, so a ``with`` is no fix for it. The analysis says so
    only in the message, which names ``<holder>.name``."""
    acquisition = defect.acquisition
    if acquisition is None or len(acquisition.names) != 1:
        return False
    return defect.message.startswith(f"`{acquisition.names[0]}.name`")


__all__ = [
    "ANY_RELEASE_FUNCS",
    "BORROWERS",
    "BORROWER_PREFIXES",
    "BORROWING_KEYWORDS",
    "CLOSES_WHEN_EXHAUSTED",
    "LOGGING_METHODS",
    "REEXPORTED_MODULES",
    "RESOURCE_CALLS",
    "SCOPES",
    "SUBCLASS_BASES",
    "Acquisition",
    "Defect",
    "ImportTable",
    "block_of",
    "child_blocks",
    "dotted",
    "find",
    "import_table",
    "is_binding_target",
    "iter_statements",
    "node_fields",
    "reports_a_kept_path",
]

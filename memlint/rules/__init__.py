"""The rule registry: rule code -> the class that implements it.

Kept as plain strings so that listing rules (``memlint rule --all``) imports nothing heavy;
the implementing module is imported only when a file is actually checked.
"""

from __future__ import annotations

import importlib
from typing import Dict, List, Type

from memlint.rules.base import Rule

# Codes produced by the engine itself rather than by a rule class.
ENGINE_CODES = ("MEM000", "MEM100", "MEM900")

RULE_CLASSES: Dict[str, str] = {
    "MEM001": "memlint.rules.mem001:UnreleasedResource",
    "MEM003": "memlint.rules.mem003:ReleaseSkippedOnError",
    "MEM004": "memlint.rules.mem004:ContextManagerHygiene",
    "MEM041": "memlint.rules.mem041:PreferWith",
    "MEM042": "memlint.rules.mem042:ReleasableWithoutWith",
    "MEM051": "memlint.rules.mem051:UnboundedCache",
    "MEM052": "memlint.rules.mem052:UnboundedAccumulation",
    "MEM053": "memlint.rules.mem053:HandlerAccumulation",
    "MEM061": "memlint.rules.mem061:DanglingAsyncioTask",
}


def load_rule(code: str) -> Type[Rule]:
    """Import and return the class implementing ``code``."""
    module_name, _, class_name = RULE_CLASSES[code].partition(":")
    module = importlib.import_module(module_name)
    rule_class: Type[Rule] = getattr(module, class_name)
    return rule_class


def load_rules(codes: List[str]) -> List[Rule]:
    """Instances of the rules for ``codes`` that have an implementing class."""
    return [load_rule(code)() for code in codes if code in RULE_CLASSES]

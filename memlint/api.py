"""The library API. It returns findings and never prints.

(Provisional: config, discovery and suppressions are wired in by the foundation work.)
"""

from __future__ import annotations

from typing import List, Optional, Union

from memlint.diagnostics import Finding
from memlint.engine import check_text, run_with_deep_stack
from memlint.rules import RULE_CLASSES, load_rules
from memlint.rules.base import RuleOptions


def check_source(source: Union[str, bytes], path: str = "<string>", config: Optional[object] = None) -> List[Finding]:
    """Check one piece of source text as if it were the file ``path``."""
    rules = load_rules(sorted(RULE_CLASSES))
    return run_with_deep_stack(lambda: check_text(source, path, rules, RuleOptions()))

"""Fix builders: from one defect of the analysis to a ``WithRewrite``, or to nothing.

Every builder answers "would ``with`` do exactly what the code does now on the normal
path, and release the resource on the other paths too?" and returns ``None`` whenever it
cannot show that. Refusing is always allowed; a wrong rewrite never is. The cases:

- ``bound``: ``x = acquire()`` followed in the same block by the statements that use ``x``
  and, optionally, one plain ``x.close()`` after the last use (MEM001/MEM003);
- ``inline``: ``data = open(p).read()``, ``for line in open(p):`` (MEM001);
- ``try_finally``: ``x = acquire()`` then ``try: ... finally: x.close()`` (MEM041);
- ``handoff``: ``x = acquire()``, uses that can raise, then one statement that hands ``x``
  on (``return Wrapper(x)``, ``logger.addHandler(x)``): the uses go under ``try:`` with
  ``except BaseException: x.close(); raise`` (MEM003; no ``with``: ``x`` lives on);
- ``commits_only``: ``with sqlite3.connect(p) as conn:``, whose ``with`` only commits,
  gets ``contextlib.closing`` around the call (MEM001).

Several bound resources acquired one after the other whose ranges nest and end together
become one ``with a as x, b as y:`` (``merge``).

Modules: ``context`` (what the builders share for one module), ``mentions`` and ``uses``
(how a name is used, and what a use allows), ``bound``, ``inline`` and ``prefer_with``
(the three rewrites); ``_analysis_view`` is everything taken from the analysis.
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Sequence

import libcst as cst

from memlint.fixes._analysis_view import Defect, reports_a_kept_path
from memlint.fixes.bound import BoundPlan, bound_plan, merge, rewrite_for_plans
from memlint.fixes.commits_only import commits_only_rewrite
from memlint.fixes.context import FixContext
from memlint.fixes.handoff import handoff_rewrite
from memlint.fixes.inline import inline_rewrite
from memlint.fixes.model import WithRewrite
from memlint.fixes.prefer_with import try_finally_rewrite


def build_fixes(module: cst.Module, defects: Sequence[Defect], custom: Iterable[str] = ()) -> Dict[int, WithRewrite]:
    """Fixes for the defects that have one, keyed by ``id(defect)``. ``custom`` names the
    calls configured as resources (never fixed: their ``with`` is unknown)."""
    fx = FixContext(module, custom)
    rewrites: Dict[int, WithRewrite] = {}
    plans: Dict[int, List[BoundPlan]] = {}
    for defect in defects:
        if defect.code not in ("MEM001", "MEM003", "MEM041") or reports_a_kept_path(defect):
            continue
        try:
            if defect.category == "inline":
                rewrite = inline_rewrite(fx, defect)
                if rewrite is not None:
                    rewrites[id(defect)] = rewrite
            elif defect.acquisition is not None and isinstance(defect.acquisition.statement, cst.With):
                rewrite = commits_only_rewrite(fx, defect)
                if rewrite is not None:
                    rewrites[id(defect)] = rewrite
            elif defect.category == "prefer-with":
                rewrite = try_finally_rewrite(fx, defect)
                if rewrite is not None:
                    rewrites[id(defect)] = rewrite
            else:
                plan = bound_plan(fx, defect)
                if plan is not None:
                    plans.setdefault(id(plan.block.statements), []).append(plan)
                else:
                    rewrite = handoff_rewrite(fx, defect)
                    if rewrite is not None:
                        rewrites[id(defect)] = rewrite
        except RecursionError:  # pragma: no cover - absurdly deep code: no fix, still a finding
            continue
    for block_plans in plans.values():
        for group in merge(block_plans, module.code_for_node):
            rewrite = rewrite_for_plans(fx, group)
            if rewrite is None:
                continue
            for plan in group:
                rewrites[id(plan.defect)] = rewrite
    return rewrites

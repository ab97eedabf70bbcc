"""Release-named methods of a module's class that release nothing (MEM042's premise).

MEM042 reports a class that owns a resource and has a release method (``close()``,
``cleanup()``) but no ``with`` support. guidance's ``TokenParser.cleanup()`` only finishes
its parse generator and checks the stop reason: it shuts nothing down, so the class has no
method that releases what it owns, and a ``with`` calling ``cleanup()`` would release
nothing either (what stays open is a MEM004 matter). Such methods are left out of the
class's methods in the ``OwnerClass`` fact; the judgement of "releases nothing" is
``project_inert``'s, on the ``ast`` of the class and its bases of the module.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, List, Set

from memlint.analysis.project_inert import inert_methods_in
from memlint.analysis.resources import KNOWLEDGE

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ModuleContext


def inert_release_methods(ctx: "ModuleContext", class_name: str) -> Set[str]:
    """The release-named methods the class (or a base of the module) defines that release
    nothing; empty when any class of the chain cannot be read whole."""
    chain: List[ast.ClassDef] = []
    pending, seen = [class_name], set()
    while pending:
        name = pending.pop(0)
        info = ctx.classes.get(name)
        if name in seen or info is None:
            continue
        seen.add(name)
        try:
            node = ast.parse(ctx.module.code_for_node(info.node).strip()).body[0]
        except (SyntaxError, ValueError, IndexError, RecursionError):
            return set()
        if not isinstance(node, ast.ClassDef):
            return set()
        chain.append(node)
        pending.extend(info.bases)
    candidates = {name for cls in chain for name in _method_names(cls) if name in KNOWLEDGE.class_release_methods}
    return inert_methods_in(chain, candidates)


def _method_names(cls: ast.ClassDef) -> Set[str]:
    return {item.name for item in cls.body if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))}

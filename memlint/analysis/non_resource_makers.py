"""Calls whose values hold nothing to release, though the code closes them later.

- Classes built on a standard-library parser that works in memory (``inferred.toml``
  ``in_memory_bases``: ``html.parser.HTMLParser``, the ElementTree and email feed parsers).
- Helpers of this module whose every ``return`` gives the value of such a call or of a
  callable that never makes a resource (``not_from_callables``: ``return tqdm.tqdm(...)``);
  the project index says the same of helpers in other modules (``project_inert``).

A value is taken for a resource when the scope that made it later calls ``x.close()`` on it
(``inferred.py``). For ``parser = self._Parser(...)``, where ``_Parser`` is a class written
in the body of the enclosing class and built on ``HTMLParser``, that premise fails: the
inherited ``close()`` only flushes the text still buffered and runs the handlers on it. The
class is judged here, in plain sight: every base must be one of those parsers (or
``object``), and the class must not define a release method of its own (an override may
close something the class opened; it is not read here).
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from memlint.analysis.facts import ModuleContext, Scope
from memlint.analysis.resources import KNOWLEDGE
from memlint.analysis.walk import find

# Receivers through which a method reaches a class written in its own class's body.
_CLASS_RECEIVERS = frozenset({"self", "cls"})


def made_by_in_memory_class(ctx: ModuleContext, scope: Scope, func: cst.BaseExpression) -> bool:
    """Whether ``func`` names a class built only on in-memory parsers (directly, as
    ``HTMLParser``, or a class of the enclosing class's body, as ``self._Parser``)."""
    if (ctx.resolve(func) or "") in KNOWLEDGE.inferred_in_memory_bases:
        return True
    nested = _class_in_enclosing_body(scope, func)
    return nested is not None and _built_on_in_memory_parsers(ctx, nested)


def returns_only_non_resources(ctx: ModuleContext, func: cst.BaseExpression) -> bool:
    """Whether ``func`` is a plain function of this module (not a generator, not decorated)
    whose every ``return`` gives a call of a callable that never makes a resource."""
    if not isinstance(func, cst.Name) or func.value not in ctx.functions:
        return False
    function = ctx.functions[func.value]
    if function.decorators or function.asynchronous is not None:
        return False
    found = find(function.body, (cst.Return, cst.Yield))
    if not found or any(isinstance(node, cst.Yield) for node, _path in found):
        return False
    never = KNOWLEDGE.inferred_not_from | KNOWLEDGE.inferred_in_memory_bases
    return all(
        isinstance(node.value, cst.Call) and (ctx.resolve(node.value.func) or "") in never  # type: ignore[attr-defined]
        for node, _path in found
    )


def _class_in_enclosing_body(scope: Scope, func: cst.BaseExpression) -> Optional[cst.ClassDef]:
    if scope.class_info is None or not isinstance(func, cst.Attribute) or not isinstance(func.value, cst.Name):
        return None
    if func.value.value not in _CLASS_RECEIVERS and func.value.value != scope.class_info.node.name.value:
        return None
    body = scope.class_info.node.body
    # the last definition of the name wins, as at run time; an assignment may replace it
    names = [s for s in (body.body if isinstance(body, cst.IndentedBlock) else ()) if _binds(s, func.attr.value)]
    last = names[-1] if names else None
    return last if isinstance(last, cst.ClassDef) else None


def _binds(statement: cst.CSTNode, name: str) -> bool:
    if isinstance(statement, (cst.ClassDef, cst.FunctionDef)):
        return statement.name.value == name
    if isinstance(statement, cst.SimpleStatementLine):
        for small in statement.body:
            targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else (
                [small.target] if isinstance(small, (cst.AnnAssign, cst.AugAssign)) else []
            )
            if any(isinstance(t, cst.Name) and t.value == name for t in targets):
                return True
    return False


def _built_on_in_memory_parsers(ctx: ModuleContext, node: cst.ClassDef) -> bool:
    if not node.bases or node.keywords or node.decorators:
        return False  # a metaclass or a decorator may supply or wrap methods
    on_parser = False
    for base in node.bases:
        qualified = ctx.resolve(base.value) or ""
        if qualified in KNOWLEDGE.inferred_in_memory_bases:
            on_parser = True
        elif qualified not in ("object", "builtins.object"):
            return False
    if not on_parser:
        return False
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    releases = set(KNOWLEDGE.inferred_release_verbs) | {"__exit__", "__aexit__", "__del__"}
    return not any(_binds(statement, verb) for statement in body for verb in releases)

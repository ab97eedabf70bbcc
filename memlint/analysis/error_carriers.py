"""Exceptions that carry the followed resource: in ``except HTTPError as exc`` around
``response.raise_for_status()``, ``exc.response`` IS the response (the knowledge's
``carried_by_errors``: the method raises that exception built with the resource itself).

While the path interpreter runs such a handler, ``exc.response`` is one more name of the
resource: ``exc.response.content`` reads it to the end, ``raise Error(..., response=
exc.response)`` hands it on. This holds only when every exception the handler catches is
one that carries it, and every call in the ``try`` body of a method that raises it is made
on the resource itself (another response's ``raise_for_status()`` would carry that one).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator, List, Set

import libcst as cst

from memlint.analysis.names import dotted
from memlint.analysis.resources import KNOWLEDGE
from memlint.analysis.walk import find

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ModuleContext
    from memlint.analysis.flow import Tracker


@contextmanager
def carried_by_error(ctx: "ModuleContext", tracker: "Tracker", node: cst.CSTNode, handler: cst.ExceptHandler) -> Iterator[None]:
    """For the run of ``handler`` (of the ``try`` statement ``node``), the names under which
    the caught exception holds the resource join the tracker's names."""
    added = _carried_names(ctx, tracker, node, handler) - tracker.names
    tracker.names |= added
    try:
        yield
    finally:
        tracker.names -= added


def _carried_names(ctx: "ModuleContext", tracker: "Tracker", node: cst.CSTNode, handler: cst.ExceptHandler) -> Set[str]:
    entries = KNOWLEDGE.carried_by_errors.get(tracker.spec.model or "", ())
    if not entries or handler.name is None or not isinstance(handler.name.name, cst.Name) or handler.type is None:
        return set()
    caught = _caught_names(ctx, handler.type)
    calls = [call for call, _ in find(node.body, (cst.Call,)) if isinstance(call.func, cst.Attribute)]  # type: ignore[attr-defined]
    found: Set[str] = set()
    for method, exception, attribute in entries:
        carriers = {e for m, e, a in entries if m == method and a == attribute}
        if not caught or not set(caught) <= carriers or exception not in caught:
            continue
        raisers = [call for call in calls if call.func.attr.value == method]  # type: ignore[attr-defined]
        if raisers and all(dotted(call.func.value) in tracker.names for call in raisers):  # type: ignore[attr-defined]
            found.add(f"{handler.name.name.value}.{attribute}")
    return found


def _caught_names(ctx: "ModuleContext", caught: cst.BaseExpression) -> List[str]:
    """The qualified names of the exceptions an ``except`` clause names ("" when unknown)."""
    items = [element.value for element in caught.elements] if isinstance(caught, cst.Tuple) else [caught]
    return [ctx.resolve(item) or "" for item in items]

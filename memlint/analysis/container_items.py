"""The items of a container of resources, named where the code iterates over it.

``handles = [open(p) for p in paths]`` is followed as one resource standing for all its
items. Where a ``for`` loop or a comprehension iterates over it, the loop variable is
each of those items, so what the code does with that variable (close it, hand it to a
function that loads and closes it, give it to a method that keeps it) is done to every
item: ``[self.digest(image) for image in images]`` hands each image on.

What a container's items own is followed the same way: the pipes of the processes a
function appends to ``pipeline`` are held by ``pipeline``, and in ``for p in pipeline[::-1]``
each ``p`` is one of those holders (``p.communicate()`` closes its pipes).
"""

from __future__ import annotations

import libcst as cst

from memlint.analysis.flow import Tracker
from memlint.analysis.names import dotted
from memlint.analysis.walk import find

COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)


def _mentions(tracker: Tracker, node: cst.CSTNode) -> bool:
    return any(dotted(found) in tracker.names for found, _ in find(node, (cst.Name, cst.Attribute)))  # type: ignore[arg-type]


def _mentions_holder(tracker: Tracker, node: cst.CSTNode) -> bool:
    return any(dotted(found) in tracker.holders for found, _ in find(node, (cst.Name, cst.Attribute)))  # type: ignore[arg-type]


def iterates_container(tracker: Tracker, iterable: cst.CSTNode) -> bool:
    """The loop goes over the followed container, or over the container of its holders."""
    return tracker.container and (_mentions(tracker, iterable) or _mentions_holder(tracker, iterable))


def name_loop_items(tracker: Tracker, target: cst.CSTNode, iterable: cst.CSTNode) -> None:
    """``for item in container``: ``item`` is one of the container's resources (or, over a
    container of holders, one of the holders)."""
    if not tracker.container:
        return
    if _mentions(tracker, iterable):
        for name_node, _ in find(target, (cst.Name,)):
            tracker.names.add(name_node.value)  # type: ignore[attr-defined]
    elif _mentions_holder(tracker, iterable):
        for name_node, _ in find(target, (cst.Name,)):
            tracker.holders.add(name_node.value)  # type: ignore[attr-defined]


def name_comprehension_items(tracker: Tracker, node: cst.CSTNode) -> None:
    """A plain comprehension over the container (one ``for``, no filter) makes each item
    its variable; a filtered one is left alone, since what the filter does to an item is
    not done to every item."""
    if not tracker.container:
        return
    for comprehension, _ in find(node, COMPREHENSIONS, stop=()):
        clause = comprehension.for_in  # type: ignore[attr-defined]
        if clause.ifs or clause.inner_for_in is not None:
            continue
        name_loop_items(tracker, clause.target, clause.iter)


def constant_slice(subscript: cst.Subscript) -> bool:
    """``items[::-1]``, ``items[1:]``: only slices, each bound left out or a whole number
    (a slice of a list never raises; an index or a computed bound may)."""
    return bool(subscript.slice) and all(
        isinstance(element.slice, cst.Slice)
        and all(_whole_number(bound) for bound in (element.slice.lower, element.slice.upper, element.slice.step))
        for element in subscript.slice
    )


def _whole_number(bound: "cst.BaseExpression | None") -> bool:
    if isinstance(bound, cst.UnaryOperation) and isinstance(bound.operator, cst.Minus):
        bound = bound.expression
    return bound is None or isinstance(bound, cst.Integer)

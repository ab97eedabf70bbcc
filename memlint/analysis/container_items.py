"""The items of a container of resources, named where the code iterates over it.

``handles = [open(p) for p in paths]`` is followed as one resource standing for all its
items. Where a ``for`` loop or a comprehension iterates over it, the loop variable is
each of those items, so what the code does with that variable (close it, hand it to a
function that loads and closes it, give it to a method that keeps it) is done to every
item: ``[self.digest(image) for image in images]`` hands each image on.
"""

from __future__ import annotations

import libcst as cst

from memlint.analysis.flow import Tracker
from memlint.analysis.names import dotted
from memlint.analysis.walk import find

COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)


def _mentions(tracker: Tracker, node: cst.CSTNode) -> bool:
    return any(dotted(found) in tracker.names for found, _ in find(node, (cst.Name, cst.Attribute)))  # type: ignore[arg-type]


def name_loop_items(tracker: Tracker, target: cst.CSTNode, iterable: cst.CSTNode) -> None:
    """``for item in container``: ``item`` is one of the container's resources."""
    if tracker.container and _mentions(tracker, iterable):
        for name_node, _ in find(target, (cst.Name,)):
            tracker.names.add(name_node.value)  # type: ignore[attr-defined]


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

"""Mentions of a followed resource that need more than the statement they sit in: a lambda
or a class defined in the function that refers to it, and a release that may time out.

The path interpreter (``lifetime``) asks these when it meets such a mention.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import libcst as cst

from memlint.analysis.flow import Tracker
from memlint.analysis.names import dotted
from memlint.analysis.resources import KNOWLEDGE
from memlint.analysis.walk import find


def lambda_only_uses(tracker: Tracker, found: cst.CSTNode, path: Tuple[cst.CSTNode, ...]) -> bool:
    """``retry(lambda: sock.connect(addr))``: a lambda handed to a call that only calls
    methods of the resource uses it there and then; it takes nothing over."""
    if not isinstance(found, cst.Lambda) or not path or not isinstance(path[-1], cst.Arg):
        return False
    release = tracker.spec.release | {"__exit__", "__aexit__"}
    for name_node, inner in find(found.body, (cst.Name,), stop=()):
        if name_node.value not in tracker.names:  # type: ignore[attr-defined]
            continue
        parent = inner[-1] if inner else None
        grand = inner[-2] if len(inner) > 1 else None
        if not (
            isinstance(parent, cst.Attribute)
            and parent.value is name_node
            and isinstance(grand, cst.Call)
            and grand.func is parent
            and parent.attr.value not in release
        ):
            return False
    return True


def class_leaves(body: Sequence[cst.CSTNode], class_name: str) -> bool:
    """Whether the function uses its class ``class_name`` other than by reading its attributes
    (``Job.executor``): instantiated, returned, passed or stored, it may outlive the call."""
    for name_node, path in find(cst.Module(body=list(body)), (cst.Name,), stop=()):  # type: ignore[arg-type]
        if name_node.value != class_name or not path:  # type: ignore[attr-defined]
            continue
        parent = path[-1]
        if isinstance(parent, cst.ClassDef) and parent.name is name_node:
            continue
        if not (isinstance(parent, cst.Attribute) and parent.value is name_node):
            return True
    return False


def may_time_out(tracker: Tracker, call: Optional[cst.CSTNode], open_tries: Sequence[cst.CSTNode]) -> bool:
    """A release given ``timeout=`` that can raise with the resource still held
    (``proc.communicate(timeout=5)``), unless a handler of a ``try`` around it releases it
    (kills the child and waits)."""
    if not _timed_release(tracker, call):
        return False
    for try_node in reversed(open_tries):
        for handler in try_node.handlers:  # type: ignore[attr-defined]
            if _releases_in(tracker, handler.body):
                return False
    return True


def _releases_in(tracker: Tracker, body: cst.CSTNode) -> bool:
    for found, _ in find(body, (cst.Call,)):
        func = found.func  # type: ignore[attr-defined]
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in tracker.spec.release
            and dotted(func.value) in tracker.names
            and not _timed_release(tracker, found)
        ):
            return True
    return False


def _timed_release(tracker: Tracker, call: Optional[cst.CSTNode]) -> bool:
    spec = tracker.spec
    if not isinstance(call, cst.Call) or not isinstance(call.func, cst.Attribute) or not spec.model:
        return False
    if call.func.attr.value not in KNOWLEDGE.models[spec.model].release_may_time_out:
        return False
    return any(arg.keyword is not None and arg.keyword.value == "timeout" for arg in call.args)

"""Tests that tell whether the followed resource was already released (or handed on).

- ``proc.poll() is not None`` (``proc.returncode is not None``): ``poll()`` returns the exit
  code only after it has reaped the child, so the branch where the test holds has the
  process waited for (``if proc.poll() is not None: break`` leaves the loop with nothing
  left to wait for). The methods and attributes are knowledge: a model's
  ``released_when_not_none``.
- ``response.is_closed`` (``f.closed``): true exactly when it is no longer held, so ``if not
  response.is_closed: response.close()`` releases it wherever it is still open. The
  attributes are a model's ``closed_attributes`` (``closed`` holds for every model: the
  io protocol's name).
- ``sock not in sockets`` where the function itself does ``sockets.append(sock)``: the
  append hands the socket on to the list (the interpreter's "handed on" state); on every path
  where it is still held here nothing has added it, and a resource made here was in no
  collection before, so the test holds (``in``: fails) there. ``finally: if sock not in
  sockets: sock.close()`` closes it on every path that did not hand it to the list. Only a
  collection the function adds it to by an adding method (``calls.toml`` [containers]
  adding_methods; ``insert``'s item is its second argument) counts: a list
  ``select.select()`` returned may hold a socket the code only used.
"""

from __future__ import annotations

from typing import FrozenSet, Optional, Sequence, Set, Tuple

import libcst as cst

from memlint.analysis.names import dotted
from memlint.analysis.resources import ADDING_METHODS, KNOWLEDGE, ResourceSpec
from memlint.analysis.walk import find


def model_list(spec: ResourceSpec, field: str) -> tuple:
    """The list ``field`` of the model of ``spec`` (empty for a spec of no model)."""
    model = KNOWLEDGE.models.get(spec.model) if spec.model else None
    return tuple(getattr(model, field, ())) if model is not None else ()


def none_comparison(test: cst.BaseExpression) -> Optional[Tuple[cst.BaseExpression, bool]]:
    """``(x, True)`` for ``x is None`` / ``x == None``, ``(x, False)`` for ``x is not None`` /
    ``x != None``, None for any other test."""
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    target = test.comparisons[0]
    if not (isinstance(target.comparator, cst.Name) and target.comparator.value == "None"):
        return None
    if isinstance(target.operator, (cst.Is, cst.Equal)):
        return test.left, True
    if isinstance(target.operator, (cst.IsNot, cst.NotEqual)):
        return test.left, False
    return None


def closed_attributes(spec: ResourceSpec) -> FrozenSet[str]:
    return frozenset(("closed",) + model_list(spec, "closed_attributes"))


def released_by_test(test: cst.BaseExpression, names: Set[str], spec: ResourceSpec) -> Optional[bool]:
    """True when ``test`` holds only once the resource was released (``proc.poll() is not
    None``), False when it fails only then (``proc.poll() is None``), else None."""
    compared = none_comparison(test)
    if compared is None:
        return None
    value, asks_none = compared
    holds_when_released = not asks_none
    if isinstance(value, cst.Call) and not value.args:
        value = value.func  # ``proc.poll()``; ``proc.returncode`` is read as it is
    if not isinstance(value, cst.Attribute) or dotted(value.value) not in names:
        return None
    if value.attr.value not in model_list(spec, "released_when_not_none"):
        return None
    return holds_when_released


def held_membership(test: cst.BaseExpression, names: Set[str], body: Sequence[cst.CSTNode]) -> Optional[bool]:
    """True for ``name not in collection`` (it holds wherever the resource is still held
    here), False for ``name in collection``, None for any other test."""
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    target = test.comparisons[0]
    if not isinstance(target.operator, (cst.In, cst.NotIn)) or dotted(test.left) not in names:
        return None
    collection = dotted(target.comparator)
    if collection is None or not _adds_to(body, collection, names):
        return None
    return isinstance(target.operator, cst.NotIn)


def _adds_to(body: Sequence[cst.CSTNode], collection: str, names: Set[str]) -> bool:
    for statement in body:
        for call, _ in find(statement, (cst.Call,)):
            func = call.func  # type: ignore[attr-defined]
            if not isinstance(func, cst.Attribute) or func.attr.value not in ADDING_METHODS or dotted(func.value) != collection:
                continue
            args = call.args  # type: ignore[attr-defined]
            item = args[1] if func.attr.value == "insert" and len(args) == 2 else args[0] if len(args) == 1 else None
            if item is not None and item.keyword is None and dotted(item.value) in names:
                return True
    return False

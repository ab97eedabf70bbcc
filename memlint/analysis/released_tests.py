"""Tests that tell whether the followed resource was already released.

- ``proc.poll() is not None`` (``proc.returncode is not None``): ``poll()`` returns the exit
  code only after it has reaped the child, so the branch where the test holds has the
  process waited for (``if proc.poll() is not None: break`` leaves the loop with nothing
  left to wait for). The methods and attributes are knowledge: a model's
  ``released_when_not_none``.
- ``response.is_closed`` (``f.closed``): true exactly when it is no longer held, so ``if not
  response.is_closed: response.close()`` releases it wherever it is still open. The
  attributes are a model's ``closed_attributes`` (``closed`` holds for every model: the
  io protocol's name).
"""

from __future__ import annotations

from typing import FrozenSet, Optional, Set

import libcst as cst

from memlint.analysis.names import dotted
from memlint.analysis.resources import KNOWLEDGE, ResourceSpec


def _model_list(spec: ResourceSpec, field: str) -> tuple:
    model = KNOWLEDGE.models.get(spec.model) if spec.model else None
    return tuple(getattr(model, field, ())) if model is not None else ()


def closed_attributes(spec: ResourceSpec) -> FrozenSet[str]:
    return frozenset(("closed",) + _model_list(spec, "closed_attributes"))


def released_by_test(test: cst.BaseExpression, names: Set[str], spec: ResourceSpec) -> Optional[bool]:
    """True when ``test`` holds only once the resource was released (``proc.poll() is not
    None``), False when it fails only then (``proc.poll() is None``), else None."""
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    target = test.comparisons[0]
    if not (isinstance(target.comparator, cst.Name) and target.comparator.value == "None"):
        return None
    if isinstance(target.operator, (cst.IsNot, cst.NotEqual)):
        holds_when_released = True
    elif isinstance(target.operator, (cst.Is, cst.Equal)):
        holds_when_released = False
    else:
        return None
    value = test.left
    if isinstance(value, cst.Call) and not value.args:
        value = value.func  # ``proc.poll()``; ``proc.returncode`` is read as it is
    if not isinstance(value, cst.Attribute) or dotted(value.value) not in names:
        return None
    if value.attr.value not in _model_list(spec, "released_when_not_none"):
        return None
    return holds_when_released

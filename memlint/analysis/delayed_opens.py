"""Objects told to open their resource later.

``logging.FileHandler(path, delay=True)`` opens its file only when it first emits a record.
Given the model's ``lazy_when_keyword_true`` keyword as the literal ``True``, the object is
followed as a lazy object (``ResourceSpec.held_after``): it holds something only once one of
the model's ``held_after_when_lazy`` methods was called on it, so a raise or a drop before
that leaks nothing. Anything but the literal ``True`` (a variable) may open at once.
"""

from __future__ import annotations

import dataclasses

import libcst as cst

from memlint.analysis.names import dotted
from memlint.analysis.resources import KNOWLEDGE, ResourceSpec


def opened_later(spec: ResourceSpec, call: cst.Call) -> ResourceSpec:
    """``spec``, made lazy when ``call`` asks the object to open its resource later."""
    model = KNOWLEDGE.models.get(spec.model)
    if model is None or not model.lazy_when_keyword_true or spec.held_after:
        return spec
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == model.lazy_when_keyword_true:
            if dotted(arg.value) == "True":
                return dataclasses.replace(spec, held_after=frozenset(model.held_after_when_lazy))
            return spec
    return spec

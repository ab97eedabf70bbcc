"""Objects asked to open their resource later (``FileHandler(path, delay=True)``).

Given the model's ``lazy_when_keyword_true`` keyword as the literal ``True``, the object is
followed as a lazy object (``ResourceSpec.held_after``): it holds something only once one of
the model's ``held_after_when_lazy`` methods was called on it, so a raise or a drop before
that leaks nothing. Anything but the literal ``True`` (a variable) may open at once.

Likewise a call that leaves out the model's ``lazy_without_argument`` (``smtplib.SMTP()``
without a host: the constructor connects only when given one) makes a lazy object. A
``*args`` or ``**kwargs`` may carry that argument, so it opens at once. So does a call that
spells out the default as a literal named by ``lazy_with_constant``
(``SpooledTemporaryFile(max_size=0)``: the same object as ``SpooledTemporaryFile()``).
"""

from __future__ import annotations

import dataclasses

import libcst as cst

from memlint.analysis.names import dotted
from memlint.analysis.resources import KNOWLEDGE, ResourceSpec


def opened_later(spec: ResourceSpec, call: cst.Call, qualified: str = "") -> ResourceSpec:
    """``spec``, made lazy when ``call`` (of ``qualified``) asks the object to open its resource later."""
    model = KNOWLEDGE.models.get(spec.model)
    if model is None or spec.held_after:
        return spec
    lazy = dataclasses.replace(spec, held_after=frozenset(model.held_after_when_lazy))
    # Only the library's own constructor: a project function returning one
    # (``create_spooled_temporary_file()``) chose the argument inside.
    if model.lazy_without_argument and qualified in model.acquired_by and _left_out(model.lazy_without_argument, call):
        return lazy
    if qualified in model.acquired_by and any(_given_literal(call, entry) for entry in model.lazy_with_constant):
        return lazy
    if not model.lazy_when_keyword_true:
        return spec
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == model.lazy_when_keyword_true:
            return lazy if dotted(arg.value) == "True" else spec
    return spec


def _left_out(keyword: str, call: cst.Call) -> bool:
    """No positional argument, no ``*``/``**`` unpacking and no ``keyword=`` in ``call``."""
    for arg in call.args:
        if arg.keyword is None or arg.star:
            return False
        if arg.keyword.value == keyword:
            return False
    return True


def _given_literal(call: cst.Call, entry: str) -> bool:
    """``max_size@0=0``: the call passes that literal (a number, a string, ``None``...)
    as ``max_size=`` or as its first positional argument, and unpacks nothing before it."""
    name_position, _, constant = entry.partition("=")
    name, _, position = name_position.partition("@")
    positional = []
    for arg in call.args:
        if arg.star:
            break  # ``*args`` fills the positions after it; none follow ``**kwargs``
        if arg.keyword is None:
            positional.append(arg)
    for arg in call.args:
        given = (arg.keyword is not None and arg.keyword.value == name) or (
            position.isdigit() and int(position) < len(positional) and positional[int(position)] is arg
        )
        if given:
            return _literal(arg.value) == constant
    return False


def _literal(value: cst.BaseExpression) -> str:
    """The text of a literal constant (``0``, ``"x"`` as ``x``, ``None``), else ``""``."""
    if isinstance(value, (cst.Integer, cst.Float)):
        return value.value
    if isinstance(value, cst.SimpleString):
        evaluated = value.evaluated_value
        return evaluated if isinstance(evaluated, str) else ""
    if isinstance(value, cst.Name) and value.value in ("None", "True", "False"):
        return value.value
    return ""

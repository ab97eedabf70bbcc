"""Module-local factories that acquire only when a parameter is left out.

``def dump_artifact(obj, path, filename=None)`` makes a ``mkstemp`` file only under
``if filename is None:``; given a filename it writes that named file, which is the
caller's output and nothing temporary. A call that passes the parameter a value that is
certainly not ``None`` (a literal, or a loop variable over literal strings) acquires
nothing. A value that might be ``None`` at run time (another parameter, a lookup) still
counts as an acquisition.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import libcst as cst

from memlint.analysis.walk import find

# A factory's guarding parameter: its name and its position among the positional parameters.
Guard = Tuple[str, int]


def guarding_parameter(function: cst.FunctionDef, acquiring: Sequence[cst.Call]) -> Optional[Guard]:
    """The parameter whose ``is None`` (or falsy) test every acquiring call of ``function``
    sits under (in the ``if`` body, not its ``else``), when there is one."""
    params = [param.name.value for param in function.params.params]
    guard: Optional[str] = None
    for call in acquiring:
        found = _guard_of(function, call, params)
        if found is None or (guard is not None and found != guard):
            return None
        guard = found
    if guard is None:
        return None
    return guard, params.index(guard)


def _guard_of(function: cst.FunctionDef, call: cst.Call, params: Sequence[str]) -> Optional[str]:
    for node, path in find(function.body, (cst.Call,)):
        if node is not call:
            continue
        for index, ancestor in enumerate(path):
            if isinstance(ancestor, cst.If) and index + 1 < len(path) and path[index + 1] is ancestor.body:
                name = _none_tested(ancestor.test)
                if name in params:
                    return name
        return None
    return None


def _none_tested(test: cst.BaseExpression) -> Optional[str]:
    """``name is None`` or ``not name``: the parameter the test is about."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not) and isinstance(test.expression, cst.Name):
        return test.expression.value
    if isinstance(test, cst.Comparison) and isinstance(test.left, cst.Name) and len(test.comparisons) == 1:
        target = test.comparisons[0]
        if isinstance(target.operator, cst.Is) and isinstance(target.comparator, cst.Name) and target.comparator.value == "None":
            return test.left.value
    return None


def given_a_value(guard: Guard, call: cst.Call, body: Sequence[cst.CSTNode]) -> bool:
    """Whether ``call`` passes the guarding parameter a value that is certainly not None."""
    name, position = guard
    positional = [arg for arg in call.args if arg.keyword is None]
    if any(arg.star for arg in call.args):
        return False  # ``*args``/``**kwargs``: what they hold is unknown
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return _not_none(arg.value, body)
    if position < len(positional):
        return _not_none(positional[position].value, body)
    return False


def _not_none(value: cst.BaseExpression, body: Sequence[cst.CSTNode]) -> bool:
    if isinstance(value, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString, cst.Integer, cst.Float)):
        return True
    if isinstance(value, cst.Name):
        # ``for key in ("envvars", "extravars"): dump(obj, path, key)``
        root = cst.IndentedBlock(body=tuple(body))  # type: ignore[arg-type]
        loops = [loop for loop, _ in find(root, (cst.For,)) if isinstance(loop.target, cst.Name) and loop.target.value == value.value]  # type: ignore[attr-defined]
        assignments = [
            node for node, _ in find(root, (cst.AssignTarget,)) if isinstance(node.target, cst.Name) and node.target.value == value.value  # type: ignore[attr-defined]
        ]
        return bool(loops) and not assignments and all(_literal_strings(loop.iter) for loop in loops)  # type: ignore[attr-defined]
    return False


def _literal_strings(iterable: cst.BaseExpression) -> bool:
    if not isinstance(iterable, (cst.Tuple, cst.List)) or not iterable.elements:
        return False
    return all(isinstance(element.value, cst.SimpleString) for element in iterable.elements)

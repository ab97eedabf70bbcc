"""A resource a method releases itself, in a ``finally``, is not owned by the object it
also stores it on.

``stream = vad.stream(); self._vad_stream = stream; try: ... finally: await
stream.aclose()``: the method makes the stream, lends it to the object for the time it
runs (another method may ``flush()`` it), and closes it on every way out of the ``try``.
The attribute is a borrowed alias; the class has nothing of its own to release (MEM004).
Only a ``finally`` whose ``try`` holds the acquisition or follows it counts: it runs on
every path, so the release cannot be skipped.
"""

from __future__ import annotations

from typing import FrozenSet, Sequence, Set

import libcst as cst

from memlint.analysis.walk import find


def released_in_a_later_finally(
    body: Sequence[cst.CSTNode], acquisition: cst.CSTNode, names: Set[str], releases: FrozenSet[str]
) -> bool:
    """Whether a ``finally`` around or after ``acquisition`` in ``body`` calls a release on one of
    ``names`` (``stream.aclose()``) outside any nested function or condition."""
    root = cst.IndentedBlock(body=tuple(body))  # type: ignore[arg-type]
    seen_acquisition = False
    for node, _path in find(root, (cst.Call, cst.Try)):
        if node is acquisition:
            seen_acquisition = True
            continue
        if not (isinstance(node, cst.Try) and node.finalbody is not None):
            continue
        if not (seen_acquisition or any(found is acquisition for found, _ in find(node.body, (cst.Call,)))):
            continue
        for statement in node.finalbody.body.body:  # type: ignore[union-attr]
            if _releases(statement, names, releases):
                return True
    return False


def _releases(statement: cst.CSTNode, names: Set[str], releases: FrozenSet[str]) -> bool:
    """A simple statement of the finally block itself that releases, or one under
    ``if <name> is not None:`` / ``if <name>:`` (not bound yet: nothing to release)."""
    if isinstance(statement, cst.If) and statement.orelse is None and _tests_bound(statement.test, names):
        return any(_releases(inner, names, releases) for inner in statement.body.body)
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    for small in statement.body:
        value = small.value if isinstance(small, cst.Expr) else None
        if isinstance(value, cst.Await):
            value = value.expression
        if (
            isinstance(value, cst.Call)
            and isinstance(value.func, cst.Attribute)
            and isinstance(value.func.value, cst.Name)
            and value.func.value.value in names
            and value.func.attr.value in releases
        ):
            return True
    return False


def _tests_bound(test: cst.BaseExpression, names: Set[str]) -> bool:
    """``name`` or ``name is not None``."""
    if isinstance(test, cst.Name):
        return test.value in names
    if isinstance(test, cst.Comparison) and isinstance(test.left, cst.Name) and len(test.comparisons) == 1:
        target = test.comparisons[0]
        return (
            test.left.value in names
            and isinstance(target.operator, cst.IsNot)
            and isinstance(target.comparator, cst.Name)
            and target.comparator.value == "None"
        )
    return False

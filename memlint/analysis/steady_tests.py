"""Tests whose answer cannot change while the resource is held (issue 13, seventh round).

A test on local names gives the same answer every time it is asked as long as nothing in
between binds those names again or changes the objects they hold. Two shapes follow:

- The acquisition sits in the body of ``if split:`` (or its ``else``; each operand of an
  ``and`` in the body): wherever the resource is held the test held (or failed), so a later
  ``if split: archive.close()`` is the release, not a branch that may skip it. The existing
  ``guard_flags`` knows only an acquisition that is the first line of the ``if`` body.
- ``close_file = True`` in the same block just before the acquisition: wherever the resource
  is held the flag is still ``True`` (``True`` cannot change; only a new binding can), so
  ``if close_file: file.close()`` releases it.

Sound only while the names are *steady* from that point on: local to the function (a
parameter or bound in it; a global may be changed by any call), never named by ``global`` /
``nonlocal`` (a nested function may rebind it at any time), bound nowhere after that point
nor inside a loop around the acquisition (the next turn would bind it again while the last
turn's resource is held), no ``match`` statement in the function (its patterns bind names),
and, for a test on a name's own value, the name only read by tests and comparisons after
that point (``pending.pop()`` or handing the list to a call may change its truth).
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Set, Tuple

import libcst as cst

from memlint.analysis.facts import SMALL_CONTAINERS, Scope
from memlint.analysis.names import test_key
from memlint.analysis.walk import find

_LOOPS = (cst.For, cst.While)
# Nodes whose ``target`` field binds the names in it.
_TARGET_OWNERS = (cst.AssignTarget, cst.AnnAssign, cst.AugAssign, cst.For, cst.CompFor, cst.NamedExpr, cst.Del)
# Nodes a name may sit in and still be part of a binding target (``a, *b = ...``).
_TARGET_PARTS = (cst.Tuple, cst.List, cst.StarredElement, cst.Element)
# A test that only reads the name: its truth, a negation, a comparison.
_TEST_PARTS = (cst.BooleanOperation, cst.UnaryOperation, cst.Comparison, cst.ComparisonTarget)
_LITERALS = (cst.SimpleString, cst.Integer, cst.Float)
_CONSTANT_NAMES = frozenset({"None", "True", "False"})


def steady_guards(scope: Scope, path: Tuple[cst.CSTNode, ...]) -> Set[str]:
    """Guard flags (as ``flow.Tracker.guards`` spells them) true wherever the resource
    acquired at the end of ``path`` is held."""
    if scope.is_module or not path:
        return set()
    guards = _enclosing_test_guards(scope, path)
    guards |= _preset_flag_guards(scope, path)
    return guards


def _enclosing_test_guards(scope: Scope, path: Tuple[cst.CSTNode, ...]) -> Set[str]:
    guards: Set[str] = set()
    loops = _loops_in(path)
    exclusive = _exclusive_branches(path)
    for index in range(len(path) - 2, -1, -1):
        node = path[index]
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            break
        if not isinstance(node, cst.If):
            continue
        following = path[index + 1]
        if following is node.body:
            held_when = True
        elif following is node.orelse:
            held_when = False
        else:
            continue  # the acquisition is in the test itself
        for part, part_true in _test_parts(node.test, held_when):
            key = _guard_key(part)
            if key is None:
                continue
            names = {n.value for n, _ in find(part, (cst.Name,))} - _CONSTANT_NAMES
            if names and all(
                _steady(scope, name, node, loops, reads_only_in_tests=True, exclusive=exclusive) for name in names
            ):
                guards.add(key if part_true else "!" + key)
    return guards


def _exclusive_branches(path: Tuple[cst.CSTNode, ...]) -> Tuple[cst.CSTNode, ...]:
    """The branches of the ``if`` statements around the acquisition that it is not in: no path
    that holds the resource runs them (outside a loop around both)."""
    branches: List[cst.CSTNode] = []
    for node, following in zip(path, path[1:]):
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            branches.clear()  # only the acquisition's own function counts
        if not isinstance(node, cst.If):
            continue
        if following is node.body and node.orelse is not None:
            branches.append(node.orelse)
        elif following is node.orelse:
            branches.append(node.body)
    return tuple(branches)


def _test_parts(test: cst.BaseExpression, held_when: bool) -> List[Tuple[cst.BaseExpression, bool]]:
    """The plain tests known where the branch ran: the test itself, each operand of an ``and``
    in its body, each operand of an ``or`` in its ``else``; a ``not`` turns the answer."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return _test_parts(test.expression, not held_when)
    if isinstance(test, cst.BooleanOperation):
        splits = isinstance(test.operator, cst.And) if held_when else isinstance(test.operator, cst.Or)
        if not splits:
            return []
        return _test_parts(test.left, held_when) + _test_parts(test.right, held_when)
    return [(test, held_when)]


def _guard_key(test: cst.BaseExpression) -> Optional[str]:
    """A plain local name, or one comparison of names and literals: how guards spell it."""
    if isinstance(test, cst.Name):
        return None if test.value in _CONSTANT_NAMES else test.value
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        sides = (test.left, test.comparisons[0].comparator)
        if all(isinstance(side, cst.Name) or isinstance(side, _LITERALS) for side in sides):
            return test_key(test)
    return None


def _preset_flag_guards(scope: Scope, path: Tuple[cst.CSTNode, ...]) -> Set[str]:
    """``flag = True`` among the three lines just before the acquisition's line, same block."""
    block: Sequence[cst.CSTNode] = scope.body
    line = path[0]
    for index in range(len(path) - 2, -1, -1):
        if isinstance(path[index], cst.IndentedBlock):
            block, line = path[index].body, path[index + 1]  # type: ignore[attr-defined]
            break
    statements = list(block)
    if not any(statement is line for statement in statements):
        return set()
    position = next(i for i, statement in enumerate(statements) if statement is line)
    loops = _loops_in(path)
    guards: Set[str] = set()
    for statement in statements[max(0, position - 3) : position]:
        if not isinstance(statement, SMALL_CONTAINERS):
            continue
        for small in statement.body:
            if (
                isinstance(small, cst.Assign)
                and len(small.targets) == 1
                and isinstance(small.targets[0].target, cst.Name)
                and isinstance(small.value, cst.Name)
                and small.value.value == "True"
            ):
                flag = small.targets[0].target.value
                if _steady(scope, flag, statement, loops, reads_only_in_tests=False, own_binding=small.targets[0].target):
                    guards.add(flag)
    return guards


def _loops_in(path: Tuple[cst.CSTNode, ...]) -> List[cst.CSTNode]:
    loops: List[cst.CSTNode] = []
    for node in reversed(path):
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            break
        if isinstance(node, _LOOPS):
            loops.append(node)
    return loops


def _steady(
    scope: Scope,
    name: str,
    anchor: cst.CSTNode,
    loops: List[cst.CSTNode],
    reads_only_in_tests: bool,
    own_binding: Optional[cst.CSTNode] = None,
    exclusive: Tuple[cst.CSTNode, ...] = (),
) -> bool:
    """Whether ``name`` keeps its value (and, if asked, its truth) from ``anchor`` on, on every
    path that holds the resource: what a branch in ``exclusive`` does to it does not count
    (``elif output: f = output`` beside ``else: f = open(p)``), unless a loop holds both or
    the mention sits in a function or class the branch defines."""
    wanted = (cst.Name, cst.Global, cst.Nonlocal, cst.Match, type(anchor))
    seen_anchor = False
    bound_here = name in scope.params
    for statement in scope.body:
        for node, ancestors in find(statement, wanted, stop=()):
            if node is anchor:
                seen_anchor = True
                continue
            if isinstance(node, cst.Match):
                return False
            if isinstance(node, (cst.Global, cst.Nonlocal)):
                if any(item.name.value == name for item in node.names):
                    return False
                continue
            if not isinstance(node, cst.Name) or node.value != name:
                continue
            kind = _use_of(node, ancestors)
            if kind == "other":
                continue
            in_loop = any(any(a is loop for a in ancestors) for loop in loops)
            if not in_loop and _in_exclusive(ancestors, exclusive):
                continue
            if kind == "binding":
                if node is own_binding:
                    continue
                if seen_anchor or in_loop:
                    return False
                bound_here = True
            elif reads_only_in_tests and (seen_anchor or in_loop) and kind != "test":
                return False
    return seen_anchor and bound_here


def _in_exclusive(ancestors: Tuple[cst.CSTNode, ...], exclusive: Tuple[cst.CSTNode, ...]) -> bool:
    for index, ancestor in enumerate(ancestors):
        if any(ancestor is branch for branch in exclusive):
            return not any(isinstance(a, (cst.FunctionDef, cst.ClassDef, cst.Lambda)) for a in ancestors[index:])
    return False


def _use_of(node: cst.Name, ancestors: Tuple[cst.CSTNode, ...]) -> str:
    """``binding``, ``test`` (read only for its truth or a comparison), ``read`` (any other
    read), or ``other`` (an attribute, keyword or parameter that only shares the spelling)."""
    parent = ancestors[-1] if ancestors else None
    if isinstance(parent, cst.Attribute) and parent.attr is node:
        return "other"
    if isinstance(parent, cst.Arg) and parent.keyword is node:
        return "other"
    if isinstance(parent, cst.Param) and parent.name is node:
        return "other"
    if any(isinstance(a, cst.ImportAlias) for a in ancestors):
        return "binding"
    if isinstance(parent, (cst.FunctionDef, cst.ClassDef)) and parent.name is node:
        return "binding"
    child: cst.CSTNode = node
    for ancestor in reversed(ancestors):
        if isinstance(ancestor, _TARGET_PARTS):
            child = ancestor
            continue
        if isinstance(ancestor, _TARGET_OWNERS) and getattr(ancestor, "target", None) is child:
            return "binding"
        if isinstance(ancestor, cst.AsName) and ancestor.name is child:
            return "binding"
        break
    child = node
    for ancestor in reversed(ancestors):
        if isinstance(ancestor, _TEST_PARTS) and not (
            isinstance(ancestor, cst.UnaryOperation) and not isinstance(ancestor.operator, cst.Not)
        ):
            child = ancestor
            continue
        if isinstance(ancestor, (cst.If, cst.While, cst.IfExp, cst.Assert)) and ancestor.test is child:
            return "test"
        if child is not node and isinstance(child, (cst.Comparison, cst.ComparisonTarget)):
            return "test"  # a comparison gives a new bool; it cannot change the name's object
        return "read"
    return "read"


def guard_key(test: cst.BaseExpression) -> Optional[str]:
    """A plain local name, or one comparison of names and literals, as guards spell it (None
    for any other test)."""
    return _guard_key(test)


def steady_from(scope: Scope, name: str, anchor: cst.CSTNode, reads_only_in_tests: bool) -> bool:
    """Whether the local ``name`` keeps its value (and, if asked, its truth) from ``anchor`` on
    (no loop of the caller's to account for)."""
    return _steady(scope, name, anchor, [], reads_only_in_tests)

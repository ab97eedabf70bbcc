"""The same test asked twice: a release under ``if C:`` and a later ``if C:`` (issue 13, round 15).

``if mime_type is None: media_file.close()`` and, further on, ``if mime_type is None: raise
...``: wherever the file is still held after the first ``if``, its test was false, and while
nothing binds ``mime_type`` again the second test is false there too, so the ``raise`` is
never reached with the file held. The path interpreter (``lifetime``) asks here before it
splits the paths at an ``if``.

The first ``if`` (R) counts when, on every way it was entered with the resource held, its
body leaves it no longer held at its normal end (released, handed on, or the body never
falls through); an ``else`` that does so says the test held instead. A later ``if`` (T) on the
same test then has no held path on the side the test cannot take. Narrow on purpose:

- the test is a plain local name or one comparison of names and literals, spelled the same
  (``not C`` at T turns the sides round); its names are steady from R on (``steady_tests``:
  local, never bound after R, no ``global``/``nonlocal``, no ``match``; for anything but an
  ``is``/``is not`` comparison, only read by tests after R, since a call may change a value's
  truth but never its identity);
- every path from the acquisition to T passes R: the acquisition is in R's own block before
  R, T is in R's block or an enclosing one after the statement holding R, and the blocks
  between are only ``if``/``else`` bodies (a ``try`` may resume at its handler, a ``with``
  whose ``__exit__`` swallows an error after its body, a loop at its next turn, each
  without passing R), and no loop of the function holds T.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

import libcst as cst

from memlint.analysis.flow import OPEN, Tracker
from memlint.analysis.steady_tests import guard_key, steady_from
from memlint.analysis.walk import find

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ModuleContext

_CHAIN = (cst.If, cst.Else, cst.IndentedBlock)
_LOOPS = (cst.For, cst.While)
_CONSTANTS = frozenset({"None", "True", "False"})


class SameTests:
    """What the ``if`` statements already passed say about a later one on the same test."""

    def __init__(self, ctx: "ModuleContext", tracker: Tracker) -> None:
        self.ctx = ctx
        self.tracker = tracker
        # By ``id`` of an ``if`` R: (R, its test's key, the test's value wherever the
        # resource is held after R), or None once a pass through R disagreed.
        self.deciding: Dict[int, Optional[Tuple[cst.If, str, bool]]] = {}
        self._paths: Optional[Dict[int, Tuple[cst.CSTNode, ...]]] = None
        self._body: Sequence[cst.CSTNode] = ()
        self._checked: Dict[Tuple[int, int], bool] = {}

    def note(self, node: cst.If, when_true: int, when_false: int, body_normal: int, other_normal: int) -> None:
        """After one pass through ``node``: does it decide its test wherever the resource is held?"""
        key = guard_key(node.test)
        held_when: Optional[bool] = None
        if key is not None and when_true & OPEN and not body_normal & OPEN:
            held_when = False
        elif key is not None and isinstance(node.orelse, cst.Else) and when_false & OPEN and not other_normal & OPEN:
            held_when = True
        known = self.deciding.get(id(node), ())
        if held_when is None:
            if when_true & OPEN or when_false & OPEN:
                self.deciding[id(node)] = None
            return
        if known == () or (known is not None and known[2] == held_when):
            self.deciding[id(node)] = (node, key, held_when)  # type: ignore[arg-type]
        else:
            self.deciding[id(node)] = None

    def refine(self, node: cst.If, body: Sequence[cst.CSTNode], when_true: int, when_false: int) -> Tuple[int, int]:
        """The masks of ``node``'s two sides, without the held paths an earlier ``if`` rules out."""
        if not self.deciding or not (when_true | when_false) & OPEN:
            return when_true, when_false
        test, turned = node.test, False
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            test, turned = test.expression, True
        key = guard_key(test)
        if key is None:
            return when_true, when_false
        for known in self.deciding.values():
            if known is None or known[1] != key or known[0] is node or not self._passes(known[0], node, body):
                continue
            held_when = known[2] != turned
            if held_when:
                when_false &= ~OPEN
            else:
                when_true &= ~OPEN
        return when_true, when_false

    def _passes(self, first: cst.If, later: cst.If, body: Sequence[cst.CSTNode]) -> bool:
        pair = (id(first), id(later))
        if pair not in self._checked:
            self._checked[pair] = self._every_path_passes(first, later, body) and self._steady(first)
        return self._checked[pair]

    def _steady(self, first: cst.If) -> bool:
        scope = self.ctx.scope
        if scope is None or scope.is_module:
            return False
        test = first.test
        identity = (
            isinstance(test, cst.Comparison)
            and len(test.comparisons) == 1
            and isinstance(test.comparisons[0].operator, (cst.Is, cst.IsNot))
        )
        names = {n.value for n, _ in find(test, (cst.Name,))} - _CONSTANTS  # type: ignore[attr-defined]
        return bool(names) and all(steady_from(scope, name, first, reads_only_in_tests=not identity) for name in names)

    def _every_path_passes(self, first: cst.If, later: cst.If, body: Sequence[cst.CSTNode]) -> bool:
        """Every way from the acquisition to ``later`` goes through ``first`` (module docstring)."""
        if self._paths is None or self._body is not body:
            self._body, self._paths = body, {}
            for statement in body:
                if isinstance(statement, cst.If):
                    self._paths[id(statement)] = ()
                for found, ancestors in find(statement, (cst.If,)):
                    self._paths[id(found)] = tuple(ancestors)
        first_path, later_path = self._paths.get(id(first)), self._paths.get(id(later))
        if first_path is None or later_path is None or any(isinstance(a, _LOOPS) for a in later_path):
            return False
        later_block, later_index = _block_of(later, later_path, body)
        chain = first_path + (first,)
        # The statement of ``later``'s block that holds ``first``.
        if _block_node(later_path) is None:  # ``later`` is a statement of the function's body
            start = 0
        else:
            at = next((i for i, a in enumerate(chain) if a is _block_node(later_path)), None)
            if at is None:
                return False
            start = at + 1
        holder = chain[start] if start < len(chain) else None
        index = next((i for i, s in enumerate(later_block) if s is holder), None)
        if index is None or index >= later_index:
            return False
        if not all(isinstance(a, _CHAIN) for a in chain[start:]):
            return False
        first_block, first_index = _block_of(first, first_path, body)
        acquisition = self.tracker.acquisition_statement
        return any(_holds(statement, acquisition) for statement in first_block[:first_index])


def _block_node(path: Tuple[cst.CSTNode, ...]) -> Optional[cst.CSTNode]:
    return next((a for a in reversed(path) if isinstance(a, cst.IndentedBlock)), None)


def _block_of(node: cst.CSTNode, path: Tuple[cst.CSTNode, ...], body: Sequence[cst.CSTNode]) -> Tuple[Sequence[cst.CSTNode], int]:
    """The statements of the block that holds ``node``, and its place there."""
    block = _block_node(path)
    statements: List[cst.CSTNode] = list(block.body) if isinstance(block, cst.IndentedBlock) else list(body)
    if block is not None:
        below = path[path.index(block) + 1 :] + (node,)
        node = below[0]
    index = next((i for i, s in enumerate(statements) if s is node), len(statements))
    return statements, index


def _holds(statement: cst.CSTNode, wanted: cst.CSTNode) -> bool:
    if statement is wanted:
        return True
    return any(found is wanted for found, _ in find(statement, (type(wanted),), stop=()))

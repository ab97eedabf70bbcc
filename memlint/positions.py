"""Positions of reported nodes, paid for one statement at a time.

libcst's PositionProvider regenerates the code of the whole module to learn where every
node is, which costs a good part of a parse. memlint only needs the positions of the few
nodes it reports, so it regenerates only the statements that hold them: a top-level
statement, or one statement of a top-level class body (a method), or the header of a
class. ``ast`` (already run to validate the file) says on which line each of those starts;
regenerated on its own, at the same indentation, a statement keeps its columns and moves
by a known number of lines.
"""

from __future__ import annotations

import ast
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import libcst as cst
from libcst.metadata import CodePosition, CodeRange, MetadataWrapper, PositionProvider

from memlint.analysis.walk import _FIELDS, node_fields

# (top-level index, class-body index), or -1 for the statement (a class: its header only),
# or -2 for a whole class statement.
Unit = Tuple[int, int]


class StatementPositions:
    """A ``node -> CodeRange`` lookup (``.get`` and ``[]``) computed lazily per statement."""

    def __init__(self, module: cst.Module, tree: Optional[ast.Module]) -> None:
        self._module = module
        self._starts = _starts(module, tree) if tree is not None else None
        self._owner: Optional[Dict[int, Unit]] = None
        # Per unit: positions within the regenerated unit, and the line shift to the file's.
        self._done: Dict[Unit, Tuple[Mapping[cst.CSTNode, CodeRange], int]] = {}
        self._whole: Optional[Dict[cst.CSTNode, CodeRange]] = None

    def get(self, node: cst.CSTNode, default: Optional[CodeRange] = None) -> Optional[CodeRange]:
        if self._starts is None:
            return self._full().get(node, default)
        if self._owner is None:
            self._owner = _owners(self._module)
        unit = self._owner.get(id(node))
        if unit is None:
            return default
        done = self._done.get(unit)
        if done is None:
            done = self._done[unit] = self._unit(unit)
        local, shift = done
        span = local.get(node)
        if span is None:
            return default
        if not shift:
            return span
        # Moved to the file's lines only when asked for: a unit has ~100 nodes, a finding needs few.
        return CodeRange(
            CodePosition(span.start.line + shift, span.start.column),
            CodePosition(span.end.line + shift, span.end.column),
        )

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        found = self.get(node)
        if found is None:
            raise KeyError(node)
        return found

    def _unit(self, unit: Unit) -> Tuple[Mapping[cst.CSTNode, CodeRange], int]:
        assert self._starts is not None
        top, inner = unit
        statement = self._module.body[top]
        if inner < 0:
            if inner == -1 and isinstance(statement, cst.ClassDef) and isinstance(statement.body, cst.IndentedBlock):
                # The class header alone: its body stands in as a single ``pass``.
                body = statement.body.with_changes(body=[cst.SimpleStatementLine([cst.Pass()])])
                statement = statement.with_changes(body=body)
            alone = self._module.with_changes(body=[statement], header=[], footer=[])
            offset = 1 + len(statement.leading_lines)
            start = self._starts[top][0]
        else:
            owner = statement
            assert isinstance(owner, cst.ClassDef) and isinstance(owner.body, cst.IndentedBlock)
            member = owner.body.body[inner]
            # Kept inside a one-line stand-in class so that it keeps its indentation.
            holder = cst.ClassDef(
                name=cst.Name("_"), body=owner.body.with_changes(body=[member], header=cst.TrailingWhitespace())
            )
            alone = self._module.with_changes(body=[holder], header=[], footer=[])
            offset = 2 + len(getattr(member, "leading_lines", ()))
            start = self._starts[top][1][inner]
        local = PositionProvider()._gen(MetadataWrapper(alone, unsafe_skip_copy=True))  # type: ignore[attr-defined]
        return local, start - offset

    def _full(self) -> Dict[cst.CSTNode, CodeRange]:
        if self._whole is None:
            wrapper = MetadataWrapper(self._module, unsafe_skip_copy=True)
            self._whole = dict(PositionProvider()._gen(wrapper))  # type: ignore[attr-defined]
        return self._whole


def _first_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", None)
    return decorators[0].lineno if decorators else node.lineno


def _line_up(statements: Sequence[cst.CSTNode], nodes: Sequence[ast.stmt]) -> Optional[List[Tuple[int, ast.stmt]]]:
    """For each libcst statement, the first line and the first ast statement it covers."""
    lined: List[Tuple[int, ast.stmt]] = []
    position = 0
    for statement in statements:
        if position >= len(nodes):
            return None
        first = nodes[position]
        position += len(statement.body) if isinstance(statement, (cst.SimpleStatementLine,)) else 1
        lined.append((_first_line(first), first))
    return lined if position == len(nodes) else None


def _starts(module: cst.Module, tree: ast.Module) -> Optional[List[Tuple[int, List[int]]]]:
    """Start line of each top-level statement, and of each statement of a top-level class."""
    lined = _line_up(module.body, tree.body)
    if lined is None:
        return None
    starts: List[Tuple[int, List[int]]] = []
    for statement, (line, node) in zip(module.body, lined):
        inner: List[int] = []
        if isinstance(statement, cst.ClassDef) and isinstance(statement.body, cst.IndentedBlock) and isinstance(node, ast.ClassDef):
            members = _line_up(statement.body.body, node.body)
            if members is None:
                return None
            inner = [member_line for member_line, _ in members]
        starts.append((line, inner))
    return starts


def _owners(module: cst.Module) -> Dict[int, Unit]:
    """``id(node) ->`` the unit (statement, class member or class header) that contains it."""
    owner: Dict[int, Unit] = {}
    fields = _FIELDS

    def claim(root: cst.CSTNode, unit: Unit) -> None:
        # The walk of walk.find without its bookkeeping: this runs over whole modules.
        stack: List[cst.CSTNode] = [root]
        while stack:
            node = stack.pop()
            key = id(node)
            if key not in owner:
                owner[key] = unit
            node_type = type(node)
            for name in fields.get(node_type) or node_fields(node_type):
                value = getattr(node, name)
                if isinstance(value, cst.CSTNode):
                    stack.append(value)
                elif type(value) in (list, tuple):
                    stack.extend(item for item in value if isinstance(item, cst.CSTNode))

    for index, statement in enumerate(module.body):
        if isinstance(statement, cst.ClassDef) and isinstance(statement.body, cst.IndentedBlock):
            for member_index, member in enumerate(statement.body.body):
                claim(member, (index, member_index))
            owner[id(statement)] = owner[id(statement.body)] = (index, -2)
        claim(statement, (index, -1))
    return owner

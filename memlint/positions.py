"""Positions of reported nodes, paid for one statement at a time.

libcst's PositionProvider regenerates the code of the whole module to learn where every
node is, which costs a good part of a parse. memlint only needs the positions of the few
nodes it reports, so it regenerates only the statements that hold them: a top-level
statement, or one statement of a top-level class body (a method), or the header of a
class. ``ast`` (already run to validate the file) says on which line each of those starts;
regenerated on its own, at the same indentation, a statement keeps its columns and moves
by a known number of lines.

The regeneration itself goes through ``_RangeRecorder``, a codegen state that records the
same ranges as libcst's ``PositionProvidingCodegenState`` but as plain tuples keyed by node
id, without a generator-based context manager per expression or a regex split per token:
libcst's own state made this step cost about four parses of the statement.
"""

from __future__ import annotations

import ast
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import libcst as cst
from libcst._nodes.internal import CodegenState
from libcst.metadata import CodePosition, CodeRange
from libcst.metadata.position_provider import NEWLINE_RE as _NEWLINE

from memlint.analysis.walk import _FIELDS, node_fields

# (top-level index, class-body index), or -1 for the statement (a class: its header only),
# or -2 for a whole class statement.
Unit = Tuple[int, int]
# (start line, start column, end line, end column), as libcst's CodeRange holds them.
Span = Tuple[int, int, int, int]


class _SyntacticRange:
    """What ``record_syntactic_position`` does in libcst, as a plain context manager."""

    __slots__ = ("_state", "_node", "_start_node", "_end_node", "_line", "_column")

    def __init__(self, state: "_RangeRecorder", node: cst.CSTNode, start_node: Optional[cst.CSTNode], end_node: Optional[cst.CSTNode]) -> None:
        self._state, self._node, self._start_node, self._end_node = state, node, start_node, end_node
        self._line, self._column = state.line, state.column

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: object) -> bool:
        state = self._state
        spans = state.spans
        if self._start_node is not None:
            start_line, start_column = spans[id(self._start_node)][:2]
        else:
            start_line, start_column = self._line, self._column
        if self._end_node is not None:
            end_line, end_column = spans[id(self._end_node)][2:]
        else:
            end_line, end_column = state.line, state.column
        spans[id(self._node)] = (start_line, start_column, end_line, end_column)
        return False


class _RangeRecorder(CodegenState):
    """libcst's ``PositionProvidingCodegenState``, giving ``id(node) -> Span`` in ``spans``.

    Same rules: a node's range runs from where its code starts to where it ends, unless
    the node recorded a syntactic range itself while generating (that one is kept).
    """

    def __init__(self, module: cst.Module) -> None:
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        self.line = 1
        self.column = 0
        self.spans: Dict[int, Span] = {}
        self._stack: List[Tuple[int, int]] = []

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.add_token(token)

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        if "\n" in value or "\r" in value:
            # Split as libcst splits (\r\n, \r or \n); the test above only spares the split.
            segments = _NEWLINE.split(value)
            self.line += len(segments) - 1
            self.column = len(segments[-1])
        else:
            self.column += len(value)

    def before_codegen(self, node: cst.CSTNode) -> None:
        self._stack.append((self.line, self.column))

    def after_codegen(self, node: cst.CSTNode) -> None:
        start_line, start_column = self._stack.pop()
        key = id(node)
        if key not in self.spans:
            self.spans[key] = (start_line, start_column, self.line, self.column)

    def record_syntactic_position(  # type: ignore[override]
        self, node: cst.CSTNode, *, start_node: Optional[cst.CSTNode] = None, end_node: Optional[cst.CSTNode] = None
    ) -> Any:
        return _SyntacticRange(self, node, start_node, end_node)


def _spans(module: cst.Module) -> Dict[int, Span]:
    recorder = _RangeRecorder(module)
    module._codegen(recorder)
    return recorder.spans


class StatementPositions:
    """A ``node -> CodeRange`` lookup (``.get`` and ``[]``) computed lazily per statement."""

    def __init__(self, module: cst.Module, tree: Optional[ast.Module]) -> None:
        self._module = module
        self._starts = _starts(module, tree) if tree is not None else None
        # Which unit holds a node, filled one top-level statement at a time (``_owners``).
        self._owner: Dict[int, Unit] = {}
        self._claiming: Optional[Iterator[Dict[int, Unit]]] = None
        # Per unit: spans within the regenerated unit, the line shift to the file's, and
        # the regenerated stand-in (kept alive so that no id in the spans is reused).
        self._done: Dict[Unit, Tuple[Dict[int, Span], int, cst.Module]] = {}
        self._whole: Optional[Dict[int, Span]] = None

    def get(self, node: cst.CSTNode, default: Optional[CodeRange] = None) -> Optional[CodeRange]:
        if self._starts is None:
            if self._whole is None:
                self._whole = _spans(self._module)
            whole = self._whole.get(id(node))
            return default if whole is None else CodeRange(CodePosition(*whole[:2]), CodePosition(*whole[2:]))
        if self._claiming is None:
            self._claiming = _owners(self._module)
        key = id(node)
        unit = self._owner.get(key)
        while unit is None:
            claimed = next(self._claiming, None)
            if claimed is None:
                break  # every statement is claimed
            self._owner = claimed
            unit = claimed.get(key)
        if unit is None:
            return default
        done = self._done.get(unit)
        if done is None:
            done = self._done[unit] = self._unit(unit)
        local, shift, _ = done
        span = local.get(id(node))
        if span is None:
            return default
        # Made a CodeRange (and moved to the file's lines) only when asked for: a unit has
        # ~100 nodes, a finding needs few.
        return CodeRange(CodePosition(span[0] + shift, span[1]), CodePosition(span[2] + shift, span[3]))

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        found = self.get(node)
        if found is None:
            raise KeyError(node)
        return found

    def _unit(self, unit: Unit) -> Tuple[Dict[int, Span], int, cst.Module]:
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
        return _spans(alone), start - offset, alone


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


def _owners(module: cst.Module) -> Iterator[Dict[int, Unit]]:
    """``id(node) ->`` the unit (statement, class member or class header) that contains it,
    one top-level statement at a time: the map grows by that statement's nodes at each
    step (a caller stops once it has found its node; the file's later statements are
    never walked). A node belongs to the first unit that holds it, in this order."""
    owner: Dict[int, Unit] = {}
    fields = _FIELDS
    node_types = _NODE_TYPES

    def claim(root: cst.CSTNode, unit: Unit) -> None:
        # The walk of walk.find without its bookkeeping. isinstance() on libcst's abstract
        # node class goes through ABCMeta; the answer per type is asked once.
        stack: List[cst.CSTNode] = [root]
        push = stack.append
        while stack:
            node = stack.pop()
            key = id(node)
            if key not in owner:
                owner[key] = unit
            elif node is not root:
                continue  # claimed with all it holds (a class's members before the class)
            node_type = type(node)
            names = fields.get(node_type)
            if names is None:
                names = node_fields(node_type)
            for name in names:
                value = getattr(node, name)
                value_type = type(value)
                if value_type is list or value_type is tuple:
                    for item in value:
                        is_node = node_types.get(type(item))
                        if is_node is None:
                            is_node = _is_node(type(item), node_types)
                        if is_node:
                            push(item)
                else:
                    is_node = node_types.get(value_type)
                    if is_node is None:
                        is_node = _is_node(value_type, node_types)
                    if is_node:
                        push(value)

    for index, statement in enumerate(module.body):
        if isinstance(statement, cst.ClassDef) and isinstance(statement.body, cst.IndentedBlock):
            for member_index, member in enumerate(statement.body.body):
                claim(member, (index, member_index))
            owner[id(statement)] = owner[id(statement.body)] = (index, -2)
        claim(statement, (index, -1))
        yield owner


_NODE_TYPES: Dict[type, bool] = {}


def _is_node(value_type: type, known: Dict[type, bool]) -> bool:
    found = known.get(value_type)
    if found is None:
        found = known[value_type] = issubclass(value_type, cst.CSTNode)
    return found

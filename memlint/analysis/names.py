"""Names: dotted names of expressions, and a small import table to resolve aliases.

A table of our own instead of libcst's QualifiedNameProvider: resolving imports is all
the rules need, and the provider costs several times the parse on large trees.
"""

from __future__ import annotations

from typing import Dict, Iterator, List, Mapping, Optional, Sequence, Set, Tuple

import libcst as cst


def dotted(node: cst.BaseExpression) -> Optional[str]:
    """``a.b.c`` for a chain of names and attributes; ``None`` for anything else."""
    # ``type() is``: libcst has no subclasses of these concrete classes, and isinstance()
    # on its node classes goes through ABCMeta (this runs for most calls and attributes).
    if type(node) is _NAME:
        return node.value  # type: ignore[attr-defined]
    parts = []
    while type(node) is _ATTRIBUTE:
        parts.append(node.attr.value)  # type: ignore[attr-defined]
        node = node.value  # type: ignore[attr-defined]
    if type(node) is not _NAME:
        return None
    parts.append(node.value)  # type: ignore[attr-defined]
    return ".".join(reversed(parts))


_NAME = cst.Name
_ATTRIBUTE = cst.Attribute


def _module_name(node: cst.BaseExpression) -> str:
    name = dotted(node)  # type: ignore[arg-type]
    return name or ""


class ImportTable:
    """Maps a local name to the qualified name it was imported as."""

    def __init__(self, reexports: Optional[Mapping[str, str]] = None) -> None:
        self.aliases: Dict[str, str] = {}
        # Standard library modules other modules hand on under another name (``httplib``).
        self.reexports: Mapping[str, str] = reexports or {}

    def add(self, small: cst.CSTNode) -> None:
        """Take in one small statement if it is an import (anything else is ignored)."""
        # ``type() is``: no subclasses of these; isinstance() on libcst's classes goes
        # through ABCMeta, and this runs for every small statement of the module.
        small_type = type(small)
        if small_type is cst.Import:
            self.add_import(small)  # type: ignore[arg-type]
        elif small_type is cst.ImportFrom:
            self.add_import_from(small)  # type: ignore[arg-type]

    def add_import(self, node: cst.Import) -> None:
        for alias in node.names:
            full = _module_name(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.aliases[alias.asname.name.value] = full
            else:
                head = full.split(".", 1)[0]
                self.aliases.setdefault(head, head)

    def add_import_from(self, node: cst.ImportFrom) -> None:
        if node.relative or node.module is None:
            module = "." * len(node.relative) + (_module_name(node.module) if node.module else "")
        else:
            module = _module_name(node.module)
        if isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            name = alias.name.value if isinstance(alias.name, cst.Name) else _module_name(alias.name)
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            reexported = self.reexports.get(name)
            # ``from configparser import ConfigParser`` is the class, not the module again.
            self.aliases[local] = reexported if reexported and reexported != module else f"{module}.{name}"

    def resolve(self, name: str) -> str:
        """The qualified form of a dotted name as written in the module."""
        head, dot, rest = name.partition(".")
        target = self.aliases.get(head)
        if target is None:
            return name
        return target + dot + rest

    def resolve_expr(self, node: cst.BaseExpression) -> Optional[str]:
        name = dotted(node)
        return None if name is None else self.resolve(name)


def bound_names(target: cst.CSTNode) -> Iterator[str]:
    """The plain names a binding target binds: ``x``, ``(i, x)``, ``[a, *rest]``."""
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from bound_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from bound_names(target.value)


def iter_statements(body: Sequence[cst.CSTNode], into_functions: bool = True) -> Iterator[cst.CSTNode]:
    """Every statement in a block, recursively through compound statements (cheap: no
    expression is visited). Function and class bodies are entered when asked."""
    stack = list(reversed(body))
    shapes = _SHAPES
    while stack:
        statement = stack.pop()
        yield statement
        shape = shapes.get(type(statement))
        if shape is _SIMPLE:
            continue
        # Pushed last block first, so that blocks come out in source order (body, else...).
        for block in reversed(child_blocks(statement, into_functions)):
            stack.extend(reversed(block))


# What kind of compound statement a node type is, asked once per type: isinstance() on
# libcst's node classes goes through ABCMeta, and these run for every statement.
_DEF, _SIMPLE, _IF, _LOOP, _TRY, _WITH, _MATCH, _OTHER = ("def", "simple", "if", "loop", "try", "with", "match", "other")
_SHAPES: Dict[type, str] = {}
_MATCH_TYPE = getattr(cst, "Match", None)


def _shape(statement_type: type) -> str:
    shape = _SHAPES.get(statement_type)
    if shape is None:
        if issubclass(statement_type, (cst.FunctionDef, cst.ClassDef)):
            shape = _DEF
        elif issubclass(statement_type, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            shape = _SIMPLE
        elif issubclass(statement_type, cst.If):
            shape = _IF
        elif issubclass(statement_type, (cst.For, cst.While)):
            shape = _LOOP
        elif issubclass(statement_type, (cst.Try, getattr(cst, "TryStar", cst.Try))):
            shape = _TRY
        elif issubclass(statement_type, cst.With):
            shape = _WITH
        elif _MATCH_TYPE is not None and issubclass(statement_type, _MATCH_TYPE):
            shape = _MATCH
        else:
            shape = _OTHER
        _SHAPES[statement_type] = shape
    return shape


def child_blocks(statement: cst.CSTNode, into_functions: bool = True) -> List[Sequence[cst.CSTNode]]:
    """The statement blocks directly inside a compound statement."""
    shape = _shape(type(statement))
    if shape is _SIMPLE or shape is _OTHER:
        return []
    if shape is _DEF:
        return [block_of(statement.body)] if into_functions else []  # type: ignore[attr-defined]
    if shape is _IF:
        blocks = [block_of(statement.body)]  # type: ignore[attr-defined]
        orelse = statement.orelse  # type: ignore[attr-defined]
        if orelse is not None:
            blocks.append((orelse,) if _shape(type(orelse)) is _IF else block_of(orelse.body))
        return blocks
    if shape is _LOOP:
        blocks = [block_of(statement.body)]  # type: ignore[attr-defined]
        if statement.orelse is not None:  # type: ignore[attr-defined]
            blocks.append(block_of(statement.orelse.body))  # type: ignore[attr-defined]
        return blocks
    if shape is _TRY:
        blocks = [block_of(statement.body)]  # type: ignore[attr-defined]
        blocks.extend(block_of(handler.body) for handler in statement.handlers)  # type: ignore[attr-defined]
        if statement.orelse is not None:  # type: ignore[attr-defined]
            blocks.append(block_of(statement.orelse.body))  # type: ignore[attr-defined]
        if statement.finalbody is not None:  # type: ignore[attr-defined]
            blocks.append(block_of(statement.finalbody.body))  # type: ignore[attr-defined]
        return blocks
    if shape is _WITH:
        return [block_of(statement.body)]  # type: ignore[attr-defined]
    return [block_of(case.body) for case in statement.cases]  # type: ignore[attr-defined]


def block_of(suite: cst.BaseSuite) -> Sequence[cst.CSTNode]:
    """The statements of an indented block or of a one-line suite (``if x: y; z``)."""
    # ``type() is``, as in ``dotted``: this runs for every compound statement.
    suite_type = type(suite)
    if suite_type is cst.IndentedBlock:
        return suite.body  # type: ignore[attr-defined]
    if suite_type is cst.SimpleStatementSuite:
        return (suite,)
    return ()


def is_binding_target(found: cst.CSTNode, path: Sequence[cst.CSTNode]) -> bool:
    """True when ``found`` is (part of) what an assignment, loop, walrus or ``as`` binds;
    ``path`` holds its ancestors, nearest last."""
    node = found
    index = len(path) - 1
    while index >= 0 and isinstance(path[index], (cst.Element, cst.StarredElement, cst.Tuple, cst.List)):
        node = path[index]
        index -= 1
    if index < 0:
        return False
    parent = path[index]
    if isinstance(parent, cst.AssignTarget):
        return parent.target is node
    if isinstance(parent, (cst.AnnAssign, cst.AugAssign, cst.For, cst.CompFor, cst.NamedExpr)):
        return parent.target is node
    if isinstance(parent, cst.AsName):
        return parent.name is node
    return False


def self_attribute(node: cst.CSTNode) -> Optional[str]:
    """``x`` for ``self.x``, also through a subscript (``self.x[k]``); ``x`` for
    ``self.__dict__["x"]`` too: the instance dictionary holds the attribute ``self.x`` (what a
    ``functools.cached_property`` or a property caching by hand reads back)."""
    if isinstance(node, cst.Subscript):
        key = node.slice[0].slice if len(node.slice) == 1 else None
        if self_attribute(node.value) == "__dict__" and isinstance(key, cst.Index) and isinstance(key.value, cst.SimpleString):
            name = key.value.evaluated_value
            if isinstance(name, str) and name.isidentifier():
                return name
        node = node.value
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self":
        return node.attr.value
    return None


def guard_flags(path: Tuple[cst.CSTNode, ...]) -> Set[str]:
    """Names that are true exactly while the resource acquired at the end of ``path`` is
    held: ``flag = True`` (or ``self._locked = True``; ``closed = False`` is kept as
    ``!closed``) right after the acquisition in the same block, and the condition of an
    ``if`` whose body acquires it (``if self.single: lock.acquire()`` ... ``if self.single:
    lock.release()``)."""
    flags: Set[str] = set()
    for index in range(len(path) - 1, -1, -1):
        block = path[index]
        if not isinstance(block, (cst.IndentedBlock, cst.Module)):
            continue
        line = path[index + 1] if index + 1 < len(path) else None
        statements = list(block.body)
        position = next((i for i, s in enumerate(statements) if s is line), None)
        if position is None:
            break
        for following in statements[position : position + 3]:
            smalls = following.body if isinstance(following, (cst.SimpleStatementLine, cst.SimpleStatementSuite)) else ()
            for small in smalls:
                if (
                    isinstance(small, cst.Assign)
                    and len(small.targets) == 1
                    and dotted(small.targets[0].target) is not None
                    and dotted(small.value) in ("True", "False")
                ):
                    # ``close_source = True`` holds while the resource is held;
                    # ``fd_closed = False`` holds until it is released.
                    prefix = "" if dotted(small.value) == "True" else "!"
                    flags.add(prefix + (dotted(small.targets[0].target) or ""))
        owner = path[index - 1] if index > 0 else None
        if isinstance(owner, cst.If) and owner.body is block and position == 0:
            test = owner.test
            negated = isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not)
            name = dotted(test.expression if negated else test)  # type: ignore[attr-defined]
            if name is None:
                # ``if path != "-": f = open(path)`` ... ``if path != "-": f.close()``: the same
                # test, kept by its text.
                name = test_key(test.expression if negated else test)  # type: ignore[attr-defined]
            flags.add(("!" if negated else "") + name)
        break
    return flags


def is_acquiring_item(expr: cst.BaseExpression, acquisition: cst.CSTNode) -> bool:
    """Whether the ``with`` item ``expr`` is the acquiring call itself (or its ``await``)."""
    return expr is acquisition or (isinstance(expr, cst.Await) and expr.expression is acquisition)


def is_true_constant(test: cst.BaseExpression) -> bool:
    if isinstance(test, cst.Name) and test.value == "True":
        return True
    return isinstance(test, cst.Integer) and test.value not in ("0",)


def is_attribute_part(found: cst.CSTNode, path: Tuple[cst.CSTNode, ...]) -> bool:
    """True for the ``b`` of ``a.b`` and for keyword names: they are not references."""
    if not path:
        return False
    parent = path[-1]
    if isinstance(parent, cst.Attribute) and parent.attr is found:
        return True
    if isinstance(parent, cst.Arg) and parent.keyword is found:
        return True
    if isinstance(parent, (cst.ImportAlias, cst.Param, cst.FunctionDef, cst.ClassDef)):
        return True
    return False


def small_statement_of(path: Tuple[cst.CSTNode, ...], default: cst.CSTNode) -> cst.CSTNode:
    for node in reversed(path):
        if isinstance(node, cst.BaseSmallStatement):
            return node
    return default


_EXISTENCE_CHECKS = frozenset({"os.path.exists", "os.path.lexists", "os.path.isfile", "os.path.isdir"})


def checks_existence(qualified: Optional[str], test: cst.BaseExpression, names: Set[str]) -> bool:
    """Whether ``test`` asks if a followed path still exists: ``os.path.exists(tmp)``
    (``qualified`` is the resolved callee), ``tmp.exists()``, ``Path(tmp).exists()``."""
    if not isinstance(test, cst.Call):
        return False
    if qualified in _EXISTENCE_CHECKS:
        return bool(test.args) and dotted(test.args[0].value) in names
    func = test.func
    if not (isinstance(func, cst.Attribute) and func.attr.value in ("exists", "is_file", "is_dir")):
        return False
    owner = func.value
    if isinstance(owner, cst.Call) and owner.args:
        owner = owner.args[0].value  # Path(tmp).exists()
    return dotted(owner) in names


_EMPTY_MODULE = cst.Module(body=[])


def test_key(test: cst.BaseExpression) -> str:
    """How a condition that is not a plain name is kept among the guard flags: its text."""
    return "=" + " ".join(_EMPTY_MODULE.code_for_node(test).split())


def mode_argument(call: cst.Call) -> Optional[str]:
    """The mode an ``open``-like call is given (second positional or ``mode=``): the literal,
    ``"r"`` when none is given, None when it is not a literal or ``*args`` may carry it."""
    for position, arg in enumerate(call.args):
        if (arg.keyword is not None and arg.keyword.value == "mode") or (arg.keyword is None and not arg.star and position == 1):
            return arg.value.evaluated_value if isinstance(arg.value, cst.SimpleString) else None  # type: ignore[return-value]
        if arg.star:
            return None
    return "r"


"""What the fix builders share for one module: its imports, its blocks, the names in use."""

from __future__ import annotations

import builtins
import keyword
import sys
from dataclasses import dataclass, replace
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

import libcst as cst

from memlint.fixes._analysis_view import (
    RESOURCE_CALLS,
    SUBCLASS_BASES,
    Acquisition,
    ImportTable,
    child_blocks,
    dotted,
    find,
    import_table,
    iter_statements,
    node_fields,
)
from memlint.fixes.derived import derived_manageable
from memlint.fixes.mentions import MentionIndex, only_binding
from memlint.fixes.model import Manageable, WithRewrite
from memlint.fixes.own_classes import own_class_manageable
from memlint.fixes.table import MANAGEABLE, MANAGEABLE_METHODS

SMALL = (cst.SimpleStatementLine,)
# Closing a generator runs its ``finally`` blocks (visible): the ``with`` lasts like the
# code's hold on it.
GENERATOR = Manageable(frozenset({"close"}), stem="gen", closing=True, lasting=True)
# Where ``import contextlib`` belongs: the standard library's top-level modules (Python 3.10+
# lists them; on 3.9 the common ones, which is enough to find the group). ``__future__``
# is left out: nothing may come before it.
STDLIB_MODULES = frozenset(
    getattr(sys, "stdlib_module_names", ())
    or (
        "abc argparse ast asyncio base64 bisect builtins codecs collections concurrent contextlib copy csv "
        "dataclasses datetime decimal enum errno fcntl functools gc glob gzip hashlib heapq http inspect io "
        "itertools json logging math mmap multiprocessing operator os pathlib pickle platform queue random re "
        "select shutil signal socket sqlite3 ssl stat string struct subprocess sys tempfile textwrap threading "
        "time traceback types typing unittest urllib uuid warnings weakref zipfile zlib"
    ).split()
) - {"__future__"}


@dataclass
class Block:
    """A sequence of statements (a function, module or compound-statement body)."""

    statements: Sequence[cst.CSTNode]
    # True for the scope's own body (a function's or the module's top level).
    top: bool
    # One level of indentation as this block has it relative to its header ("" at module
    # level, where the file's default applies).
    step: str = ""
    # Inside a ``for``/``while`` body of its scope: its statements can run again.
    in_loop: bool = False


class FixContext:
    """What the builders share for one module: imports, blocks, names in use."""

    def __init__(self, module: cst.Module, custom: Iterable[str] = ()) -> None:
        self.module = module
        # Calls named in ``[tool.memlint.resources]``: resources, but of no known kind.
        self.custom = frozenset(custom)
        self.imports = import_table()
        for statement in iter_statements(list(module.body), into_functions=True):
            if isinstance(statement, SMALL):
                for small in statement.body:
                    self.imports.add(small)
        # Module-level functions by name: factories whose result a ``with`` can manage.
        self.functions: Dict[str, cst.FunctionDef] = {
            statement.name.value: statement for statement in module.body if isinstance(statement, cst.FunctionDef)
        }
        # (function name, parameter) -> whether the module function only borrows what that
        # parameter receives (``memlint.fixes.uses.helper_borrows``).
        self.borrowing: Dict[Tuple[str, str], bool] = {}
        # Module classes whose objects are of a known resource type: class name -> the
        # qualified base (``class TextSocket(socket.socket)`` -> ``socket.socket``).
        self.resource_subclasses = self._resource_subclasses()
        # Per scope (by id): id of each statement (and small statement) -> its block and index.
        self._statements: Dict[int, Dict[int, Tuple[Block, int]]] = {}
        # Names in use per scope (by id), grown by the fresh names handed out.
        self._names: Dict[int, Set[str]] = {}
        # Where names are mentioned, one walk per statement or scope asked about.
        self.mention_index = MentionIndex()

    # -- lookups ------------------------------------------------------------------

    def manageable(self, acquisition: Acquisition) -> Optional[Manageable]:
        """How a ``with`` can manage what ``acquisition`` creates, or None."""
        call = acquisition.call
        if isinstance(call, cst.Await):
            call = call.expression
        if not isinstance(call, cst.Call):
            return None
        if isinstance(call.func, cst.Name) and _is_generator(self.functions.get(call.func.value)):
            # Known by its release only, but what it is is known: a generator of this module.
            return GENERATOR
        if isinstance(call.func, cst.Name) and call.func.value not in self.functions:
            # A class of this module whose ``__enter__`` is ``return self`` and whose
            # ``__exit__`` only calls the release (``memlint.fixes.own_classes``).
            own = own_class_manageable(self.module, acquisition.scope, call, acquisition.spec.release)
            if own is not None:
                return own
        if acquisition.spec.inferred:
            return None  # known only by its release: what its ``with`` does is unknown
        name = dotted(call.func)
        if name is not None:
            qualified = self.imports.resolve(name)
            qualified = self.resource_subclasses.get(qualified, qualified)
            if qualified in MANAGEABLE:
                return MANAGEABLE[qualified]
            if qualified in RESOURCE_CALLS and qualified not in self.custom and self._imported(name):
                # Not in the table: what the knowledge says its ``with`` does, if anything.
                # Only for a name the module imports (or a subclass of a known class): a
                # module bound some other way (``aifc = load('aifc')``) may be anything.
                return derived_manageable(qualified)
            if qualified in RESOURCE_CALLS or qualified in self.custom or name.startswith(("self.", "cls.")):
                # Known to the analysis under this name, but with no equivalent ``with``
                # (or a method of this class whose result is not checked here).
                return None
        if isinstance(call.func, cst.Name):
            function = self.functions.get(call.func.value)
            return self._factory(function, depth=0) if function is not None else None
        # ``Path(p).open()``, ``zf.open(member)``, ``ctx.wrap_socket(s)``: the analysis
        # only calls these acquisitions when it knows the receiver's kind.
        if isinstance(call.func, cst.Attribute):
            return MANAGEABLE_METHODS.get(call.func.attr.value)
        return None

    def _imported(self, name: str) -> bool:
        head = name.split(".", 1)[0]
        return head in self.imports.aliases or head in self.resource_subclasses

    def _resource_subclasses(self) -> Dict[str, str]:
        """Top-level classes deriving from a known resource class (directly or through
        another such class of the module), as the analysis finds them, mapped to that base.
        A class that defines its own ``__enter__``, ``__exit__`` or ``close`` is left out:
        its ``with`` may not be the base's."""
        classes = {statement.name.value: statement for statement in self.module.body if isinstance(statement, cst.ClassDef)}
        found: Dict[str, str] = {}
        for _round in range(len(classes)):
            grown = False
            for name, node in classes.items():
                if name in found or _defines_exit(node):
                    continue
                for base in node.bases:
                    written = dotted(base.value)
                    qualified = self.imports.resolve(written) if written else ""
                    target = qualified if qualified in SUBCLASS_BASES else found.get(qualified)
                    if target is not None:
                        found[name] = target
                        grown = True
                        break
            if not grown:
                break
        return found

    def _factory(self, function: cst.FunctionDef, depth: int) -> Optional[Manageable]:
        """The kind a module-level factory returns, when every ``return`` hands back a fresh
        acquisition of one and the same manageable kind (``return sqlite3.connect(db)``)."""
        if depth > 3:
            return None
        if _is_generator(function):
            return GENERATOR
        kinds = set()
        for found, _ in find(function.body, (cst.Return, cst.Yield)):
            value = getattr(found, "value", None)
            if isinstance(value, cst.Name):
                value = only_binding(function, value.value)
            if isinstance(found, cst.Yield) or not isinstance(value, cst.Call):
                return None
            name = dotted(value.func)
            kind = MANAGEABLE.get(self.imports.resolve(name)) if name else None
            if kind is None and isinstance(value.func, cst.Name) and value.func.value in self.functions:
                kind = self._factory(self.functions[value.func.value], depth + 1)
            if kind is None or kind.is_async:
                return None
            kinds.add(kind)
        if len(kinds) != 1:
            return None
        kind = kinds.pop()
        # What the caller passed decides the mode: the factory's own arguments are not seen.
        return replace(kind, quiet=kind.quiet and not kind.mode_args)

    def block_of_statement(self, scope: cst.CSTNode, statement: cst.CSTNode) -> Optional[Tuple[Block, int]]:
        """The block (of an indented body or the module) whose statement is or holds ``statement``."""
        key = id(scope)
        index = self._statements.get(key)
        if index is None:
            # Every statement of the scope's blocks, indexed once per scope: a scope with
            # thousands of findings must not be walked once per finding.
            index = self._statements[key] = _index_blocks(scope, self.module.default_indent)
        return index.get(id(statement))

    def fresh_name(self, scope: cst.CSTNode, stem: str) -> str:
        """A name that nothing in ``scope`` uses (nested functions included), so binding it
        there shadows and clashes with nothing; at module level, nothing in the module."""
        key = id(scope)
        names = self._names.get(key)
        if names is None:
            names = {node.value for node, _ in find(scope, (cst.Name,), stop=())}  # type: ignore[attr-defined]
            self._names[key] = names
        candidates = [stem, stem + "_"] + [f"{stem}{n}" for n in range(1, 100)]
        for candidate in candidates:
            if candidate not in names and not keyword.iskeyword(candidate) and not hasattr(builtins, candidate):
                names.add(candidate)
                return candidate
        raise ValueError(f"no free name for {stem!r}")  # pragma: no cover - 100 names in use

    def wrapper_for(self, manageable: Manageable) -> Optional[Tuple[str, bool]]:
        """What wraps the acquisition in the ``with`` (``""`` or ``contextlib.closing``: a
        DB-API connection's own ``with`` only ends a transaction) and whether an import must
        be added; None when ``closing`` cannot be spelt here."""
        return self.closing_reference() if manageable.closing else ("", False)

    def closing_reference(self) -> Optional[Tuple[str, bool]]:
        """How this module spells ``contextlib.closing``, and whether an import must be added
        for it; None when ``contextlib`` means something else here."""
        top = ImportTable()
        for statement in self.module.body:
            if isinstance(statement, SMALL):
                for small in statement.body:
                    if isinstance(small, cst.Import):
                        top.add_import(small)
                    elif isinstance(small, cst.ImportFrom):
                        top.add_import_from(small)
        for local, qualified in sorted(top.aliases.items()):
            if qualified == "contextlib.closing":
                return local, False
        for local, qualified in sorted(top.aliases.items()):
            if qualified == "contextlib":
                return f"{local}.closing", False
        if any(node.value == "contextlib" for node, _ in find(self.module, (cst.Name,), stop=())):  # type: ignore[attr-defined]
            return None
        return "contextlib.closing", True

    def import_anchor(self) -> Tuple[Optional[cst.CSTNode], Optional[cst.CSTNode]]:
        """Where ``import contextlib`` goes, as (after this statement, before this one).

        Among the module's leading imports, in the standard-library group where isort and
        ruff put it: in order among the plain ``import`` statements, else before the first
        ``from`` import of the group. Without a standard-library import: after the leading
        docstring and imports, or before the first statement when there is none.
        """
        after: Optional[cst.CSTNode] = None
        plain: List[Tuple[str, cst.CSTNode]] = []
        from_imports: List[cst.CSTNode] = []
        for index, statement in enumerate(self.module.body):
            if not isinstance(statement, SMALL) or len(statement.body) != 1:
                break
            small = statement.body[0]
            if isinstance(small, (cst.Import, cst.ImportFrom)):
                after = statement
                top = _imported_module(small)
                if top in STDLIB_MODULES:
                    if isinstance(small, cst.Import):
                        plain.append((dotted(small.names[0].name) or "", statement))
                    else:
                        from_imports.append(statement)
            elif index == 0 and isinstance(small, cst.Expr) and isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString)):
                after = statement
            else:
                break
        if plain:
            for module_name, statement in plain:
                if module_name > "contextlib":
                    return None, statement
            return plain[-1][1], None
        if from_imports:
            return None, from_imports[0]
        if after is not None:
            return after, None
        return None, self.module.body[0]

    def resolve(self, node: cst.BaseExpression) -> str:
        name = dotted(node)
        return self.imports.resolve(name) if name else ""

    def with_import(self, rewrite: WithRewrite) -> WithRewrite:
        """``rewrite`` plus the ``import contextlib`` its ``contextlib.closing`` needs."""
        after, before = self.import_anchor()
        return replace(rewrite, import_text="import contextlib", import_after=after, import_before=before)


def _is_generator(function: Optional[cst.FunctionDef]) -> bool:
    """A module function whose call returns a generator: its ``close()`` is exactly what
    ``contextlib.closing`` calls. (An ``async`` one returns an async generator: no.)"""
    if function is None or function.asynchronous is not None:
        return False
    return any(True for _ in find(function.body, (cst.Yield,)))


def _defines_exit(node: cst.ClassDef) -> bool:
    """Whether the class body defines a method that decides what its ``with`` does."""
    return any(
        isinstance(item, cst.FunctionDef) and item.name.value in ("__enter__", "__exit__", "close")
        for item in _class_body(node)
    )


def _class_body(node: cst.ClassDef) -> Sequence[cst.CSTNode]:
    body = node.body
    return body.body if isinstance(body, cst.IndentedBlock) else ()


def _imported_module(small: cst.CSTNode) -> str:
    """The top-level package an import statement imports from ("" if relative or odd)."""
    if isinstance(small, cst.Import):
        name = dotted(small.names[0].name) or ""
    elif isinstance(small, cst.ImportFrom) and not small.relative and small.module is not None:
        name = dotted(small.module) or ""
    else:
        return ""
    return name.split(".", 1)[0]


def _index_blocks(scope: cst.CSTNode, default_step: str) -> Dict[int, Tuple[Block, int]]:
    """``block_of_statement``'s index for one scope (nested functions and classes apart)."""
    if isinstance(scope, cst.Module):
        body: Sequence[cst.CSTNode] = scope.body
        step = ""
    elif isinstance(scope, cst.FunctionDef) and isinstance(scope.body, cst.IndentedBlock):
        body = scope.body.body
        step = default_step if scope.body.indent is None else scope.body.indent
    else:
        return {}
    index: Dict[int, Tuple[Block, int]] = {}
    stack: List[Tuple[Sequence[cst.CSTNode], bool, str, bool]] = [(body, True, step, False)]
    while stack:
        statements, top, step, in_loop = stack.pop()
        block = Block(statements, top, step, in_loop)
        for position, item in enumerate(statements):
            index.setdefault(id(item), (block, position))
            if isinstance(item, SMALL):
                for small in item.body:
                    index.setdefault(id(small), (block, position))
            if isinstance(item, (cst.FunctionDef, cst.ClassDef)):
                continue
            steps = _steps(item)
            loops = in_loop or isinstance(item, (cst.For, cst.While))
            for child in indented_blocks(item):
                stack.append((child, False, steps.get(id(child), step) or default_step, loops))
    return index


def _steps(statement: cst.CSTNode) -> Dict[int, str]:
    """For the indented bodies of a compound statement: id of the body -> its indent step."""
    steps: Dict[int, str] = {}
    pending = _child_nodes(statement)
    while pending:
        node = pending.pop()
        if isinstance(node, cst.IndentedBlock):
            if node.indent is not None:
                steps[id(node.body)] = node.indent
        elif isinstance(node, _CLAUSES):
            pending.extend(_child_nodes(node))
    return steps


_CLAUSES = (cst.Else, cst.Finally, cst.ExceptHandler, getattr(cst, "ExceptStarHandler", cst.ExceptHandler))


def _child_nodes(node: cst.CSTNode) -> List[cst.CSTNode]:
    """The child nodes that can be a body or a clause, read off the fields: libcst's
    ``children`` rebuilds the node's children through a visitor, once per statement."""
    found: List[cst.CSTNode] = []
    for name in node_fields(type(node)):
        value = getattr(node, name)
        if isinstance(value, cst.CSTNode):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            found.extend(item for item in value if isinstance(item, cst.CSTNode))
    return found


def indented_blocks(statement: cst.CSTNode) -> List[Sequence[cst.CSTNode]]:
    """Child blocks that are indented bodies (``if x: y`` on one line is left alone)."""
    blocks: List[Sequence[cst.CSTNode]] = []
    for block in child_blocks(statement, into_functions=False):
        if block and not isinstance(block[0], cst.SimpleStatementSuite):
            blocks.append(block)
    return blocks

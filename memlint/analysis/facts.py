"""Stage 1, module facts: imports, functions, classes and the scopes to analyse.

A cheap statement-level scan (no expression is visited) that fills a ``ModuleContext``:
the import table, module-level functions, classes with their methods and bases, and one
``Scope`` per body to analyse (the module, each function). Later stages add what they
find to the same context: module-local factories and resource classes
(``local_resources``), what each class owns (``ownership``).
"""

from __future__ import annotations

import ast
import functools
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, Iterable, List, Optional, Set, Tuple

import libcst as cst

from memlint.analysis.model import Acquisition
from memlint.analysis.names import ImportTable, block_of, dotted, iter_statements
from memlint.analysis.resources import KNOWLEDGE, ResourceSpec, candidate_names
from memlint.knowledge.overlay import knowledge_for
from memlint.analysis.walk import find
from memlint.options import RuleOptions

CONTEXT_MANAGER_DECORATORS = frozenset(
    {"contextlib.contextmanager", "contextlib.asynccontextmanager", "contextmanager", "asynccontextmanager"}
)
PYTEST_FIXTURES = frozenset({"pytest.fixture", "fixture", "pytest_asyncio.fixture"})
TRY_TYPES: Tuple[type, ...] = (cst.Try,) + ((cst.TryStar,) if hasattr(cst, "TryStar") else ())  # type: ignore[attr-defined]
SMALL_CONTAINERS = (cst.SimpleStatementLine, cst.SimpleStatementSuite)
# The same as a set of the exact types, for ``type(statement) in``: isinstance() on libcst's
# node classes goes through ABCMeta, and the statement loops ask it of every statement.
SMALL_CONTAINER_TYPES = frozenset(SMALL_CONTAINERS)
COMPOUND = (cst.If, cst.For, cst.While, cst.With) + TRY_TYPES


@dataclass
class ClassInfo:
    node: cst.ClassDef
    methods: Dict[str, cst.FunctionDef] = field(default_factory=dict)
    bases: List[str] = field(default_factory=list)
    releasers: Dict[str, Set[str]] = field(default_factory=lambda: defaultdict(set))
    releasers_known: bool = False
    # attribute -> methods whose only release of it is handing it to a wrapper they keep on
    # ``self`` (``self.rfile = Reader(SocketIO(self.connection))``): the object still owns it.
    wrapped_on_self: Dict[str, Set[str]] = field(default_factory=dict)
    # attribute -> (node to blame, acquisition) for what the class stores on self.
    owned: Dict[str, Tuple[cst.CSTNode, Acquisition]] = field(default_factory=dict)
    factories: Dict[str, ResourceSpec] = field(default_factory=dict)


@dataclass
class Scope:
    """The body being analysed: the module, or one function (with its class, if a method)."""

    node: cst.CSTNode
    body: Tuple[cst.CSTNode, ...]
    class_info: Optional[ClassInfo] = None
    path_names: Set[str] = field(default_factory=set)
    # Local names known to hold a resource of a model that has acquiring methods (a zip
    # archive: its ``.open()`` gives a member), by model name.
    receiver_names: Dict[str, Set[str]] = field(default_factory=dict)
    params: Set[str] = field(default_factory=set)
    # Local names bound to a fresh container literal (``handles = {}``).
    containers: Set[str] = field(default_factory=set)
    is_context_manager: bool = False
    # The function's text names nothing that creates a resource: no need to walk it.
    quiet: bool = False

    @property
    def is_module(self) -> bool:
        return isinstance(self.node, cst.Module)


class ModuleContext:
    """What every scope's analysis needs to know about the module."""

    def __init__(self, module: cst.Module, options: RuleOptions) -> None:
        self.module = module
        # The shipped callables and the configuration's (``[tool.memlint.resources]``).
        known = knowledge_for(options.resources)
        self.table: Dict[str, ResourceSpec] = dict(known.resource_calls)
        self.candidates: FrozenSet[str] = candidate_names((), known)
        # What other modules of the project make, filled from the project index's facts
        # (``project_index.add_project_resources``); known calls win.
        self.project_methods: Dict[str, ResourceSpec] = {}
        # Project classes of other modules -> attribute of self -> the method releasing it.
        self.project_releases: Dict[str, Dict[str, str]] = {}
        # Classes of other project modules whose construction cannot raise (project_quiet).
        self.project_quiet_classes: Set[str] = set()
        self.imports = ImportTable(KNOWLEDGE.reexported_modules)
        self.shadowed: Set[str] = set()
        self.functions: Dict[str, cst.FunctionDef] = {}
        self.classes: Dict[str, ClassInfo] = {}
        self.function_class: Dict[int, ClassInfo] = {}
        # Filled by ``local_resources``: module functions and classes that create a resource.
        self.factories: Dict[str, ResourceSpec] = {}
        self.resource_classes: Dict[str, ResourceSpec] = {}
        # Filled per scope by ``tracking``: the methods of ``self`` the scope calls.
        self.self_calls_in_scope: Set[str] = set()
        self.scope: Optional[Scope] = None
        # Caches of ``ownership.parameter_behaviour``.
        self.param_cache: Dict[Tuple[int, str, FrozenSet[str]], str] = {}
        self._global_uses: Optional[Set[str]] = None

    # -- names ----------------------------------------------------------------------

    def resolve(self, node: cst.BaseExpression) -> Optional[str]:
        name = dotted(node)
        if name is None:
            return None
        head = name.split(".", 1)[0]
        if head in self.shadowed and head not in self.imports.aliases:
            return "<local>." + name
        if self.scope is not None and head in self.scope.params:
            # A parameter named like a module (``def f(socket): socket.socket()``).
            return "<local>." + name
        return self.imports.resolve(name)

    def label(self, node: cst.CSTNode) -> str:
        """How a callee reads in messages: "`socket.create_connection()`"."""
        text = self.module.code_for_node(node).strip()
        text = " ".join(text.split())
        if len(text) > 60:
            text = text[:57] + "..."
        return f"`{text}()`"

    def global_uses(self) -> Set[str]:
        """Names that functions and classes of the module refer to (module globals in use)."""
        if self._global_uses is None:
            used: Set[str] = set()
            for statement in self.module.body:
                if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                    used.update(n.value for n, _ in find(statement, (cst.Name,), stop=()))  # type: ignore[attr-defined]
            self._global_uses = used
        return self._global_uses


# -- the scan ------------------------------------------------------------------------


def scan(ctx: ModuleContext) -> List[Scope]:
    """Imports, functions and classes, from statements only."""
    scopes: List[Scope] = [Scope(ctx.module, tuple(ctx.module.body))]
    module_level_names: Set[str] = set()
    _scan_body(ctx, ctx.module.body, None, True, scopes, module_level_names)
    # A module-level def or assignment of a builtin's name (``open = ...``) shadows it.
    ctx.shadowed = {name for name in module_level_names if name in ("open", "input", "connect")}
    return scopes


# The recursive walks below are module functions, not closures: a closure calling itself
# is a reference cycle, which would keep the file's whole tree alive until the cyclic
# garbage collector runs (the costliest part of a big run's collections).
def _scan_body(
    ctx: ModuleContext, body: Iterable[cst.CSTNode], class_info: Optional[ClassInfo], top: bool,
    scopes: List[Scope], module_level_names: Set[str],
) -> None:
    for statement in iter_statements(list(body), into_functions=False):
        if type(statement) in SMALL_CONTAINER_TYPES:
            for small in statement.body:
                ctx.imports.add(small)
                if top and isinstance(small, (cst.Assign, cst.AnnAssign)):
                    targets = small.targets if isinstance(small, cst.Assign) else [small]
                    for target in targets:
                        if isinstance(target.target, cst.Name):
                            module_level_names.add(target.target.value)
        elif isinstance(statement, cst.FunctionDef):
            if top:
                module_level_names.add(statement.name.value)
                ctx.functions[statement.name.value] = statement
            if class_info is not None:
                class_info.methods[statement.name.value] = statement
                ctx.function_class[id(statement)] = class_info
            scopes.append(Scope(statement, tuple(block_of(statement.body)), class_info))
            _scan_body(ctx, block_of(statement.body), None, False, scopes, module_level_names)
        elif isinstance(statement, cst.ClassDef):
            if top:
                module_level_names.add(statement.name.value)
            info = ClassInfo(statement, bases=[dotted(generic_base(b.value)) or "?" for b in statement.bases if b.keyword is None])
            ctx.classes.setdefault(statement.name.value, info)
            _scan_body(ctx, block_of(statement.body), info, False, scopes, module_level_names)


def _ast_functions(tree: ast.Module) -> List[ast.AST]:
    """Function definitions in the order ``scan`` meets them (statements depth first)."""
    found: List[ast.AST] = []
    _ast_functions_in(tree.body, found)
    return found


def _ast_functions_in(body: Iterable[ast.stmt], found: List[ast.AST]) -> None:
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append(statement)
            _ast_functions_in(statement.body, found)
        elif isinstance(statement, ast.ClassDef):
            _ast_functions_in(statement.body, found)
        else:
            for name in ("body", "handlers", "orelse", "finalbody", "cases"):
                for child in getattr(statement, name, ()) or ():
                    inner = getattr(child, "body", None)
                    if isinstance(child, ast.stmt):
                        _ast_functions_in([child], found)
                    elif inner is not None:
                        _ast_functions_in(inner, found)


@functools.lru_cache(maxsize=64)
def _cached_pattern(names: FrozenSet[str]) -> "re.Pattern[bytes]":
    from memlint.prefilter import word_pattern

    return word_pattern(names)


# A method that may register a value on self for a helper to release (``analysis.registered``).
MAY_REGISTER = re.compile(rb"self\.\w+\.(?:append|add|extend|insert)\(\s*\w+\s*\)")


def mark_quiet_functions(
    ctx: ModuleContext, scopes: List[Scope], tree: ast.Module, source: str, options: RuleOptions
) -> None:
    """Mark the functions whose own lines name no resource-creating call (cheap: a regex
    over the text that ``ast`` says is theirs), so that their bodies are never walked."""
    from memlint.prefilter import trigger_names

    local = set(ctx.factories) | set(ctx.resource_classes)
    for info in ctx.classes.values():
        local |= set(info.factories)
    local |= {alias for alias in ctx.imports.aliases if alias in ctx.candidates}
    local |= {name.rsplit(".", 1)[-1] for name in ctx.project_methods}
    search = _cached_pattern(frozenset(trigger_names(options.resources) | local)).search
    functions = [scope for scope in scopes if isinstance(scope.node, cst.FunctionDef)]
    spans = _ast_functions(tree)
    if len(spans) != len(functions):
        return
    lines = source.splitlines(keepends=True)
    for scope, node in zip(functions, spans):
        if scope.node.name.value != node.name:  # type: ignore[attr-defined]
            return
        text = "".join(lines[node.lineno - 1 : node.end_lineno]).encode("utf-8", "surrogatepass")  # type: ignore[attr-defined]
        scope.quiet = search(text) is None and not (scope.class_info is not None and MAY_REGISTER.search(text))


def local_callee(ctx: ModuleContext, func: cst.BaseExpression) -> Optional[cst.FunctionDef]:
    """The definition a call of ``func`` runs when it is a function of this module (a name not
    shadowed) or a method of the class being analysed called on ``self``; None otherwise."""
    if isinstance(func, cst.Name):
        return None if func.value in ctx.shadowed else ctx.functions.get(func.value)
    if (
        isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self"
        and ctx.scope is not None and ctx.scope.class_info is not None
    ):
        return ctx.scope.class_info.methods.get(func.attr.value)
    return None


def is_generator(function: cst.FunctionDef) -> bool:
    return any(True for _ in find(function.body, (cst.Yield,)))


def decorator_names(ctx: ModuleContext, function: cst.FunctionDef) -> Set[str]:
    names = set()
    for decorator in function.decorators:
        expr = decorator.decorator
        if isinstance(expr, cst.Call):
            expr = expr.func
        resolved = ctx.resolve(expr)
        if resolved:
            names.add(resolved)
    return names


def declared_global(function: cst.FunctionDef, name: str) -> bool:
    for statement in iter_statements(list(block_of(function.body)), into_functions=False):
        if isinstance(statement, SMALL_CONTAINERS):
            for small in statement.body:
                if isinstance(small, (cst.Global, cst.Nonlocal)) and any(n.name.value == name for n in small.names):
                    return True
    return False


def generic_base(base: cst.BaseExpression) -> cst.BaseExpression:
    """``Provider[AsyncOpenAI]`` as a base is the class ``Provider``."""
    return base.value if isinstance(base, cst.Subscript) else base


def last_name(func: cst.BaseExpression) -> str:
    # ``type() is``: libcst has no subclasses of these concrete classes, and isinstance()
    # on its node classes goes through ABCMeta (this runs several times per call).
    func_type = type(func)
    if func_type is cst.Name:
        return func.value  # type: ignore[attr-defined]
    if func_type is cst.Attribute:
        return func.attr.value  # type: ignore[attr-defined]
    return ""


def is_constant_name(name: str) -> bool:
    return name.isupper() and any(c.isalpha() for c in name)

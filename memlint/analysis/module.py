"""The resource model of one module: what is acquired, how it is released, who owns it.

``analyze_module`` runs once per file and produces every defect the rules report:

1. a cheap statement-level scan: imports, functions, classes (no expression is visited);
2. module-local factories (functions returning a fresh resource) and resource classes;
3. per scope (module body, each function), every call that creates a resource, and where
   its value goes: managed by ``with``, bound to a name (then followed path by path in
   ``lifetime``), stored on ``self`` (then its class is checked), handed on, or dropped;
4. the class and context-manager checks of MEM004.
"""

from __future__ import annotations

import ast
import functools
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, Iterable, List, Optional, Set, Tuple

import libcst as cst

from memlint.analysis import lifetime
from memlint.analysis.model import Acquisition, Defect, ModuleAnalysis
from memlint.analysis.names import ImportTable, block_of, dotted, iter_statements, self_attribute
from memlint.analysis.resources import (
    ACCEPTED,
    ANY_RELEASE_FUNCS,
    ANY_RELEASE_METHODS,
    BORROWER_PREFIXES,
    BORROWERS,
    CLASS_RELEASE_METHODS,
    HANDOFF_METHODS,
    PATH_CONSTRUCTORS,
    PATH_OPEN,
    RESOURCE_CALLS,
    SOCKET_FILE,
    SSL_WRAP,
    ZIP_CONSTRUCTORS,
    ZIP_MEMBER,
    ResourceSpec,
    candidate_names,
    custom_specs,
)
from memlint.analysis.walk import SCOPES, find
from memlint.rules.base import RuleOptions

CONTEXT_MANAGER_DECORATORS = frozenset(
    {"contextlib.contextmanager", "contextlib.asynccontextmanager", "contextmanager", "asynccontextmanager"}
)
PYTEST_FIXTURES = frozenset({"pytest.fixture", "fixture", "pytest_asyncio.fixture"})
# Iterators that close themselves once exhausted: looping over them is not a leak.
CLOSES_WHEN_EXHAUSTED = frozenset({"os.scandir", "fileinput.input", "fileinput.FileInput"})
CONSUMERS = frozenset({"list", "tuple", "sorted", "set", "frozenset"})
HANDOFF_CALLS = frozenset(
    {"contextlib.closing", "contextlib.aclosing", "closing", "aclosing", "atexit.register", "weakref.finalize"}
)
# Archives over an in-memory buffer hold no descriptor: nothing to leak.
IN_MEMORY_WRAPPERS = frozenset(
    {"zipfile.ZipFile", "tarfile.open", "tarfile.TarFile", "gzip.GzipFile", "bz2.BZ2File", "lzma.LZMAFile", "wave.open"}
)
MEMORY_BUFFERS = frozenset({"io.BytesIO", "io.StringIO", "BytesIO", "StringIO"})
PATH_METHODS = frozenset(
    {"with_suffix", "with_name", "with_stem", "joinpath", "resolve", "absolute", "expanduser", "parent", "glob", "rglob", "iterdir"}
)
HARMLESS_BASES = frozenset({"object", "ABC", "abc.ABC", "Generic", "typing.Generic", "Protocol", "typing.Protocol"})
TRY_TYPES: Tuple[type, ...] = (cst.Try,) + ((cst.TryStar,) if hasattr(cst, "TryStar") else ())  # type: ignore[attr-defined]
SMALL_CONTAINERS = (cst.SimpleStatementLine, cst.SimpleStatementSuite)
COMPOUND = (cst.If, cst.For, cst.While, cst.With) + TRY_TYPES


@dataclass
class ClassInfo:
    node: cst.ClassDef
    methods: Dict[str, cst.FunctionDef] = field(default_factory=dict)
    bases: List[str] = field(default_factory=list)
    releasers: Dict[str, Set[str]] = field(default_factory=lambda: defaultdict(set))
    releasers_known: bool = False
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
    zip_names: Set[str] = field(default_factory=set)
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
        self.table: Dict[str, ResourceSpec] = dict(RESOURCE_CALLS)
        self.table.update(custom_specs(options.resources))
        self.candidates: FrozenSet[str] = candidate_names(options.resources)
        self.imports = ImportTable()
        self.shadowed: Set[str] = set()
        self.functions: Dict[str, cst.FunctionDef] = {}
        self.classes: Dict[str, ClassInfo] = {}
        self.function_class: Dict[int, ClassInfo] = {}
        self.factories: Dict[str, ResourceSpec] = {}
        self.resource_classes: Dict[str, ResourceSpec] = {}
        self.self_calls_in_scope: Set[str] = set()
        self.scope: Optional[Scope] = None
        self._param_cache: Dict[Tuple[int, str], str] = {}
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
        text = self.module.code_for_node(node).strip()
        text = " ".join(text.split())
        if len(text) > 60:
            text = text[:57] + "..."
        return f"`{text}()`"

    def releasers_of(self, class_name: Optional[str], attr: str) -> Set[str]:
        info = self.classes.get(class_name or "")
        if info is None:
            return set()
        _find_releasers(self, info)
        found: Set[str] = set(info.releasers.get(attr, ()))
        for base in info.bases:
            if base in self.classes and base != class_name:
                found |= self.releasers_of(base, attr)
        return found

    # -- what creates a resource ----------------------------------------------------

    def acquisition_spec(self, call: cst.Call, scope: Scope) -> Optional[ResourceSpec]:
        func = call.func
        if isinstance(func, cst.Name):
            last = func.value
        elif isinstance(func, cst.Attribute):
            last = func.attr.value
        else:
            return None
        if last not in self.candidates and last not in self.factories and last not in self.resource_classes:
            if not (scope.class_info and last in scope.class_info.factories):
                return None
        name = dotted(func)
        if name is not None:
            qualified = self.resolve(func) or name
            spec = self.table.get(qualified)
            if spec is not None:
                if qualified in IN_MEMORY_WRAPPERS and _over_memory_buffer(self, call):
                    return None
                if qualified == "subprocess.Popen" and _detached(call):
                    return None
                if qualified in AUDIO_OPENERS and _given_file_object(call, scope):
                    return None
                return spec
            if isinstance(func, cst.Name):
                if name in self.factories:
                    return self.factories[name]
                if name in self.resource_classes:
                    return self.resource_classes[name]
            if scope.class_info is not None and name.startswith("self.") and name.count(".") == 1:
                method = scope.class_info.factories.get(last)
                if method is not None:
                    return method
        if isinstance(func, cst.Attribute):
            receiver = func.value
            if last == "open":
                if self.is_path(receiver, scope):
                    return PATH_OPEN
                if self.is_zip(receiver, scope):
                    return ZIP_MEMBER
            elif last == "wrap_socket":
                return SSL_WRAP
            elif last == "makefile" and _socket_makefile_call(call):
                return SOCKET_FILE
            elif last == "accept":
                return ACCEPTED
        return None

    def is_path(self, node: cst.BaseExpression, scope: Scope) -> bool:
        if isinstance(node, cst.Call):
            qualified = self.resolve(node.func) or ""
            if qualified in PATH_CONSTRUCTORS:
                return True
            if isinstance(node.func, cst.Attribute) and node.func.attr.value in PATH_METHODS:
                return self.is_path(node.func.value, scope)
            return False
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Divide):
            return True
        if isinstance(node, cst.Attribute) and node.attr.value == "parent":
            return self.is_path(node.value, scope)
        if isinstance(node, cst.Name):
            return node.value in scope.path_names
        return False

    def is_zip(self, node: cst.BaseExpression, scope: Scope) -> bool:
        if isinstance(node, cst.Call):
            return (self.resolve(node.func) or "") in ZIP_CONSTRUCTORS
        return isinstance(node, cst.Name) and node.value in scope.zip_names

    # -- what a module-local callee does with what it is given ------------------------

    def parameter_behaviour(self, qualified: str, call: cst.Call, path: Tuple[cst.CSTNode, ...]) -> Optional[str]:
        """"escape" if the module-local callee releases or keeps the argument, "use" if it
        only uses it, None if the callee is not defined here."""
        function: Optional[cst.FunctionDef] = None
        if qualified in self.functions:
            function = self.functions[qualified]
        elif qualified.startswith("self.") and self.scope and self.scope.class_info:
            function = self.scope.class_info.methods.get(qualified[5:])
        if function is None:
            return None
        arg = path[-1] if path else None
        params = [p.name.value for p in function.params.params]
        if params and params[0] in ("self", "cls") and qualified.startswith("self."):
            params = params[1:]
        param: Optional[str] = None
        if isinstance(arg, cst.Arg):
            if arg.keyword is not None:
                param = arg.keyword.value
            else:
                positional = [a for a in call.args if a.keyword is None]
                index = next((i for i, a in enumerate(positional) if a is arg), -1)
                if 0 <= index < len(params):
                    param = params[index]
        if param is None:
            return "escape"
        key = (id(function), param)
        if key not in self._param_cache:
            self._param_cache[key] = "escape" if _consumes(function, param, self) else "use"
        return self._param_cache[key]

    def global_uses(self) -> Set[str]:
        """Names that functions and classes of the module refer to (module globals in use)."""
        if self._global_uses is None:
            used: Set[str] = set()
            for statement in self.module.body:
                if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                    used.update(n.value for n, _ in find(statement, (cst.Name,), stop=()))  # type: ignore[attr-defined]
            self._global_uses = used
        return self._global_uses


def _socket_makefile_call(call: cst.Call) -> bool:
    """``sock.makefile("rb")``, not some other ``makefile`` (``TarFile.makefile(info, path)``)."""
    func = call.func
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self":
        return False
    positional = [arg for arg in call.args if arg.keyword is None]
    return len(positional) <= 1 and all(isinstance(arg.value, (cst.SimpleString, cst.ConcatenatedString)) for arg in positional)


AUDIO_OPENERS = frozenset({"wave.open", "aifc.open", "sunau.open"})


def _given_file_object(call: cst.Call, scope: "Scope") -> bool:
    """``wave.open(f)`` on a file object the caller passed in does not own that file."""
    if not call.args or call.args[0].keyword is not None:
        return False
    first = call.args[0].value
    if not isinstance(first, cst.Name) or first.value not in scope.params:
        return False
    name = first.value.lower()
    return not any(word in name for word in ("path", "name"))


def _detached(call: cst.Call) -> bool:
    """A child started in its own session on purpose outlives its parent: not a leak."""
    for arg in call.args:
        if arg.keyword is None:
            continue
        key = arg.keyword.value
        if key == "start_new_session" and dotted(arg.value) == "True":
            return True
        if key == "preexec_fn" and (dotted(arg.value) or "").endswith("setsid"):
            return True
        if key == "creationflags" and "DETACHED" in (dotted(arg.value) or "") + _text_of(arg.value):
            return True
    return False


def _text_of(node: cst.CSTNode) -> str:
    return " ".join(n.value for n, _ in find(node, (cst.Name,)))  # type: ignore[attr-defined]


def _over_memory_buffer(ctx: "ModuleContext", call: cst.Call) -> bool:
    for arg in call.args:
        if arg.keyword is None or arg.keyword.value in ("file", "fileobj", "f"):
            value = arg.value
            if isinstance(value, cst.Call) and (ctx.resolve(value.func) or "") in MEMORY_BUFFERS:
                return True
            if arg.keyword is None:
                break
    return False


def _consumes(function: cst.FunctionDef, param: str, ctx: ModuleContext) -> bool:
    """True when ``function`` releases, returns or stores its parameter ``param``."""
    for found, path in find(function.body, (cst.Name,), stop=()):
        if found.value != param or not path:  # type: ignore[attr-defined]
            continue
        parent = path[-1]
        grand = path[-2] if len(path) > 1 else None
        if isinstance(parent, cst.Attribute) and parent.value is found:
            if parent.attr.value in ANY_RELEASE_METHODS and isinstance(grand, cst.Call):
                return True
        elif isinstance(parent, (cst.Return, cst.Yield, cst.WithItem, cst.Element, cst.DictElement)):
            return True
        elif any(isinstance(node, (cst.Return, cst.Yield)) for node in path):
            return True  # ``return Wrapper(sock)``: what is returned holds it
        elif isinstance(parent, cst.Assign) and any(not isinstance(t.target, cst.Name) for t in parent.targets):
            return True
        elif isinstance(parent, cst.Arg) and isinstance(grand, cst.Call):
            qualified = ctx.resolve(grand.func) or ""
            last = qualified.rsplit(".", 1)[-1]
            if qualified in ANY_RELEASE_FUNCS or last in HANDOFF_METHODS or qualified in HANDOFF_CALLS:
                return True
            if last.lstrip("_")[:1].isupper():
                return True
    return False


# -- the scan ------------------------------------------------------------------------


def _scan(ctx: ModuleContext) -> List[Scope]:
    """Imports, functions and classes, from statements only."""
    scopes: List[Scope] = [Scope(ctx.module, tuple(ctx.module.body))]
    module_level_names: Set[str] = set()

    def visit(body: Iterable[cst.CSTNode], class_info: Optional[ClassInfo], top: bool) -> None:
        for statement in iter_statements(list(body), into_functions=False):
            if isinstance(statement, SMALL_CONTAINERS):
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
                visit(block_of(statement.body), None, False)
            elif isinstance(statement, cst.ClassDef):
                if top:
                    module_level_names.add(statement.name.value)
                info = ClassInfo(statement, bases=[dotted(b.value) or "?" for b in statement.bases if b.keyword is None])
                ctx.classes.setdefault(statement.name.value, info)
                visit(block_of(statement.body), info, False)

    visit(ctx.module.body, None, True)
    # A module-level def or assignment of a builtin's name (``open = ...``) shadows it.
    ctx.shadowed = {name for name in module_level_names if name in ("open", "input", "connect")}
    return scopes


def _ast_functions(tree: ast.Module) -> List[ast.AST]:
    """Function definitions in the order ``_scan`` meets them (statements depth first)."""
    found: List[ast.AST] = []

    def visit(body: Iterable[ast.stmt]) -> None:
        for statement in body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.append(statement)
                visit(statement.body)
            elif isinstance(statement, ast.ClassDef):
                visit(statement.body)
            else:
                for name in ("body", "handlers", "orelse", "finalbody", "cases"):
                    for child in getattr(statement, name, ()) or ():
                        inner = getattr(child, "body", None)
                        if isinstance(child, ast.stmt):
                            visit([child])
                        elif inner is not None:
                            visit(inner)

    visit(tree.body)
    return found


@functools.lru_cache(maxsize=64)
def _cached_pattern(names: FrozenSet[str]) -> "re.Pattern[bytes]":
    from memlint.prefilter import word_pattern

    return word_pattern(names)


def _mark_quiet_functions(
    ctx: ModuleContext, scopes: List[Scope], tree: ast.Module, source: str, options: RuleOptions
) -> None:
    """Mark the functions whose own lines name no resource-creating call (cheap: a regex
    over the text that ``ast`` says is theirs), so that their bodies are never walked."""
    from memlint.prefilter import trigger_names

    local = set(ctx.factories) | set(ctx.resource_classes)
    for info in ctx.classes.values():
        local |= set(info.factories)
    local |= {alias for alias in ctx.imports.aliases if alias in ctx.candidates}
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
        scope.quiet = search(text) is None


def _fill_scope_names(ctx: ModuleContext, scope: Scope) -> None:
    """Local names known to hold a pathlib path or a zip archive."""
    if isinstance(scope.node, cst.FunctionDef):
        every = scope.node.params
        scope.params = {p.name.value for p in list(every.params) + list(every.posonly_params) + list(every.kwonly_params)}
        decorators = _decorator_names(ctx, scope.node)
        # pytest runs a fixture's code after ``yield`` as its teardown whether the test
        # passed or not, so a yield there is no exit either.
        scope.is_context_manager = bool(decorators & (CONTEXT_MANAGER_DECORATORS | PYTEST_FIXTURES))
        for param in scope.node.params.params:
            annotation = param.annotation
            if annotation is not None and (dotted(annotation.annotation) or "").split(".")[-1] in ("Path", "PurePath", "PosixPath"):
                scope.path_names.add(param.name.value)
    for statement in iter_statements(list(scope.body), into_functions=False):
        if isinstance(statement, SMALL_CONTAINERS):
            for small in statement.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                    name = small.targets[0].target.value
                    if isinstance(small.value, (cst.Dict, cst.List, cst.Set)) or (
                        isinstance(small.value, cst.Call) and dotted(small.value.func) in ("dict", "list", "set")
                    ):
                        scope.containers.add(name)
                    if ctx.is_path(small.value, scope):
                        scope.path_names.add(name)
                    elif ctx.is_zip(small.value, scope):
                        scope.zip_names.add(name)
        elif isinstance(statement, cst.For) and isinstance(statement.target, cst.Name):
            iterator = statement.iter
            if isinstance(iterator, cst.Call) and isinstance(iterator.func, cst.Attribute):
                if iterator.func.attr.value in ("glob", "rglob", "iterdir") and ctx.is_path(iterator.func.value, scope):
                    scope.path_names.add(statement.target.value)
        elif isinstance(statement, cst.With):
            for item in statement.items:
                if item.asname is not None and isinstance(item.asname.name, cst.Name) and ctx.is_zip(item.item, scope):
                    scope.zip_names.add(item.asname.name.value)


def _is_generator(function: cst.FunctionDef) -> bool:
    return any(True for _ in find(function.body, (cst.Yield,)))


def _decorator_names(ctx: ModuleContext, function: cst.FunctionDef) -> Set[str]:
    names = set()
    for decorator in function.decorators:
        expr = decorator.decorator
        if isinstance(expr, cst.Call):
            expr = expr.func
        resolved = ctx.resolve(expr)
        if resolved:
            names.add(resolved)
    return names


def _find_factories(ctx: ModuleContext, scopes: List[Scope]) -> None:
    """Functions and methods that return a fresh resource they created count as creating one."""
    for _round in range(2):
        if _round and not (ctx.factories or any(info.factories for info in ctx.classes.values())):
            break  # a factory of factories needs a factory to begin with
        for scope in scopes:
            function = scope.node
            if not isinstance(function, cst.FunctionDef):
                continue
            spec = _returned_resource(ctx, scope)
            if spec is None or _is_generator(function):
                continue
            if _decorator_names(ctx, function) & (CONTEXT_MANAGER_DECORATORS | {"property", "functools.cached_property"}):
                continue
            name = function.name.value
            if scope.class_info is not None:
                scope.class_info.factories.setdefault(name, spec)
            elif name not in ctx.factories:
                ctx.factories[name] = spec


def _returned_resource(ctx: ModuleContext, scope: Scope) -> Optional[ResourceSpec]:
    bound: Dict[str, ResourceSpec] = {}
    function = scope.node
    for statement in iter_statements(list(scope.body), into_functions=False):
        if not isinstance(statement, SMALL_CONTAINERS):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign) and len(small.targets) == 1:
                target = small.targets[0].target
                value = small.value.expression if isinstance(small.value, cst.Await) else small.value
                if not isinstance(value, cst.Call):
                    continue
                spec = ctx.acquisition_spec(value, scope)
                if spec is None:
                    continue
                if isinstance(target, cst.Name) and not spec.parts:
                    if not (isinstance(function, cst.FunctionDef) and _declared_global(function, target.value)):
                        bound[target.value] = spec
                elif isinstance(target, cst.Tuple) and spec.parts:
                    for position, part in spec.parts:
                        if position < len(target.elements):
                            element = target.elements[position].value
                            if isinstance(element, cst.Name):
                                bound[element.value] = part
            elif isinstance(small, cst.Return) and small.value is not None:
                value = small.value.expression if isinstance(small.value, cst.Await) else small.value
                if isinstance(value, cst.Call):
                    spec = ctx.acquisition_spec(value, scope)
                    if spec is not None and not spec.parts:
                        return spec
                elif isinstance(value, cst.Name) and value.value in bound:
                    return bound[value.value]
    return None


def _find_resource_classes(ctx: ModuleContext, scopes: List[Scope]) -> None:
    """Classes of this module that own a resource and are context managers themselves."""
    for name, info in ctx.classes.items():
        methods = set(info.methods)
        releases = methods & set(CLASS_RELEASE_METHODS)
        if not releases or not ({"__enter__", "__exit__"} <= methods or {"__aenter__", "__aexit__"} <= methods):
            continue
        owns = False
        for method in info.methods.values():
            scope = Scope(method, tuple(block_of(method.body)), info)
            for statement in iter_statements(list(scope.body), into_functions=False):
                if isinstance(statement, SMALL_CONTAINERS):
                    for small in statement.body:
                        if (
                            isinstance(small, cst.Assign)
                            and any(self_attribute(t.target) for t in small.targets)
                            and isinstance(small.value, cst.Call)
                            and ctx.acquisition_spec(small.value, scope) is not None
                        ):
                            owns = True
        if owns:
            ctx.resource_classes[name] = ResourceSpec(
                f"`{name}` object", frozenset((methods & ANY_RELEASE_METHODS) | {"__exit__", "__aexit__"}), long_lived=True
            )


def _self_attrs_in(node: cst.CSTNode) -> Set[str]:
    found = set()
    if self_attribute(node):
        found.add(self_attribute(node))
    for attribute, _ in find(node, (cst.Attribute,), stop=()):
        name = self_attribute(attribute)
        if name:
            found.add(name)
    return found  # type: ignore[return-value]


def _find_releasers(ctx: ModuleContext, info: "ClassInfo") -> None:
    """For one class, which methods release (or hand out) what each attribute holds."""
    if info.releasers_known:
        return
    info.releasers_known = True
    if True:
        calls_of: Dict[str, Set[str]] = {}
        for method_name, method in info.methods.items():
            aliases: Dict[str, Set[str]] = defaultdict(set)
            calls_of[method_name] = set()
            for statement in iter_statements(list(block_of(method.body)), into_functions=True):
                if isinstance(statement, cst.For):
                    attrs = _self_attrs_in(statement.iter)
                    for name_node, _ in find(statement.target, (cst.Name,)):
                        aliases[name_node.value] |= attrs  # type: ignore[attr-defined]
                elif isinstance(statement, SMALL_CONTAINERS):
                    for small in statement.body:
                        if isinstance(small, cst.Assign):
                            attrs = _self_attrs_in(small.value)
                            for target in small.targets:
                                for name_node, _ in find(target.target, (cst.Name,)):
                                    aliases[name_node.value] |= attrs  # type: ignore[attr-defined]
                elif isinstance(statement, cst.With):
                    for item in statement.items:
                        for attr in _self_attrs_in(item.item):
                            info.releasers[attr].add(method_name)

            def attrs_of(expr: cst.CSTNode) -> Set[str]:
                attrs = set(_self_attrs_in(expr))
                for name_node, _ in find(expr, (cst.Name,)):
                    attrs |= aliases.get(name_node.value, set())  # type: ignore[attr-defined]
                return attrs

            for call, _ in find(method.body, (cst.Call,), stop=()):
                func = call.func  # type: ignore[attr-defined]
                if isinstance(func, cst.Attribute):
                    if isinstance(func.value, cst.Name) and func.value.value == "self":
                        calls_of[method_name].add(func.attr.value)
                    if func.attr.value in ANY_RELEASE_METHODS:
                        for attr in attrs_of(func.value):
                            info.releasers[attr].add(method_name)
                qualified = ctx.resolve(func) or ""
                if qualified in BORROWERS or qualified.startswith(BORROWER_PREFIXES):
                    continue
                for arg in call.args:  # type: ignore[attr-defined]
                    value = arg.value
                    if isinstance(value, cst.Attribute) and value.attr.value in ANY_RELEASE_METHODS:
                        value = value.value
                    attr = self_attribute(value)
                    attrs = {attr} if attr else set()
                    if isinstance(value, cst.Name):
                        attrs |= aliases.get(value.value, set())
                    for name in attrs:
                        info.releasers[name].add(method_name)
        # A method that calls a releasing method releases too (close() -> self._cleanup()).
        for _round in range(3):
            for attr, releasers in list(info.releasers.items()):
                for method_name, called in calls_of.items():
                    if called & releasers:
                        releasers.add(method_name)


# -- per scope -----------------------------------------------------------------------


@dataclass
class _Site:
    kind: str  # "track", "store-self", "inline", "dropped", "escape", "managed", "skip"
    statement: Optional[cst.CSTNode] = None
    names: Tuple[Tuple[str, ResourceSpec], ...] = ()
    detail: str = ""
    attr: str = ""


def _enclosing_statement(path: Tuple[cst.CSTNode, ...]) -> Tuple[Optional[cst.CSTNode], Tuple[cst.CSTNode, ...]]:
    loops = tuple(node for node in path if isinstance(node, (cst.For, cst.While)))
    for node in reversed(path):
        if isinstance(node, cst.BaseSmallStatement):
            return node, loops
        if isinstance(node, COMPOUND):
            return node, loops
    return None, loops


def _site(ctx: ModuleContext, call: cst.Call, path: Tuple[cst.CSTNode, ...], spec: ResourceSpec) -> _Site:
    """Where the value of an acquiring call goes."""
    node: cst.CSTNode = call
    index = len(path) - 1
    while index >= 0 and isinstance(path[index], cst.Await):
        node = path[index]
        index -= 1
    if index < 0:
        return _Site("skip")
    parent = path[index]
    grand = path[index - 1] if index > 0 else None
    qualified = ctx.resolve(call.func) or ""
    if isinstance(parent, cst.WithItem):
        return _Site("managed")
    if isinstance(parent, cst.Arg) and isinstance(grand, cst.Call):
        outer = ctx.resolve(grand.func) or ""
        last = outer.rsplit(".", 1)[-1]
        if isinstance(grand.func, cst.Attribute) and last in HANDOFF_METHODS:
            holder = grand.func.value
            attr = self_attribute(holder)
            statement, _loops = _enclosing_statement(path[:index])
            if attr:
                return _Site("store-self", statement, attr=attr)
            if isinstance(holder, cst.Name) and ctx.scope is not None and holder.value in ctx.scope.containers:
                return _Site("track", statement, ((holder.value, spec),))
        if outer in ctx.table or last in HANDOFF_METHODS or outer in HANDOFF_CALLS:
            return _Site("escape")
        if outer in BORROWERS or outer.startswith(BORROWER_PREFIXES):
            if qualified in CLOSES_WHEN_EXHAUSTED and outer in CONSUMERS:
                return _Site("skip")
            if spec.is_path and outer in ("pathlib.Path", "Path", "str", "os.fspath"):
                return _Site("skip")  # the same path in another form: followed no further
            if outer in ("print",) or outer.startswith(BORROWER_PREFIXES):
                return _Site("skip")
            return _Site("inline", detail=f"passed to `{outer}()`")
        return _Site("escape")
    if isinstance(parent, cst.Attribute) and parent.value is node:
        method = parent.attr.value
        if isinstance(grand, cst.Call) and grand.func is parent:
            if method in spec.release or method in ("__enter__", "__exit__", "__aenter__", "__aexit__"):
                return _Site("skip")
            return _Site("inline", detail=f"used for `.{method}()`")
        return _Site("inline", detail=f"used for `.{method}`")
    if isinstance(parent, cst.Subscript) and parent.value is node and spec.parts:
        return _Site("inline", detail="indexed, dropping the rest")
    statement, _loops = _enclosing_statement(path[: index + 1])
    if isinstance(parent, (cst.Assign, cst.AnnAssign)) and parent.value is node:
        targets = [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else [parent.target]
        if all(isinstance(t, cst.Name) for t in targets):
            if spec.parts:
                return _Site("skip")
            return _Site("track", statement, tuple((t.value, spec) for t in targets))  # type: ignore[attr-defined]
        if len(targets) == 1 and isinstance(targets[0], cst.Tuple) and spec.parts:
            names = []
            elements = targets[0].elements
            for position, part in spec.parts:
                if position < len(elements) and isinstance(elements[position].value, cst.Name):
                    names.append((elements[position].value.value, part))  # type: ignore[attr-defined]
            return _Site("track", statement, tuple(names)) if names else _Site("escape")
        attr = self_attribute(targets[0]) if len(targets) == 1 else None
        if attr:
            return _Site("store-self", statement, attr=attr)
        target = targets[0]
        if (
            len(targets) == 1
            and isinstance(target, cst.Subscript)
            and isinstance(target.value, cst.Name)
            and ctx.scope is not None
            and target.value.value in ctx.scope.containers
        ):
            # Stored in a local dict or list: the container now holds it.
            return _Site("track", statement, ((target.value.value, spec),))
        return _Site("escape")
    if isinstance(parent, cst.NamedExpr) and parent.value is node and isinstance(parent.target, cst.Name):
        if spec.parts:
            return _Site("skip")
        return _Site("track", statement, ((parent.target.value, spec),))
    if isinstance(parent, cst.Expr) and parent.value is node:
        if _expected_to_raise(ctx, path):
            # ``with self.assertRaises(...): open(missing)``: the call is meant to fail.
            return _Site("skip")
        if spec is ACCEPTED:
            # A method named accept() whose value is thrown away is not socket.accept().
            return _Site("skip")
        if spec.parts:
            return _Site("inline", detail="discarded")
        return _Site("dropped", statement)
    if isinstance(parent, (cst.For, cst.CompFor)) and parent.iter is node:
        if qualified in CLOSES_WHEN_EXHAUSTED:
            if isinstance(parent, cst.For) and _can_stop_early(parent):
                return _Site("inline", detail="iterated by a loop that can stop early")
            return _Site("skip")
        return _Site("inline", detail="iterated over")
    if isinstance(parent, (cst.Return, cst.Yield, cst.Element, cst.DictElement, cst.StarredElement, cst.Lambda)):
        return _Site("escape")
    return _Site("skip")


def _expected_to_raise(ctx: "ModuleContext", path: Tuple[cst.CSTNode, ...]) -> bool:
    for node in reversed(path):
        if isinstance(node, cst.With):
            for item in node.items:
                expr = item.item
                if isinstance(expr, cst.Call):
                    last = _last_name(expr.func)
                    if last.startswith("assertRaises") or last in ("raises", "assertWarns", "suppress"):
                        return True
            return False
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            return False
    return False


def _can_stop_early(loop: cst.For) -> bool:
    """A ``return`` or ``raise`` in the loop, or a ``break`` of this loop itself."""
    for found, path in find(loop.body, (cst.Return, cst.Break, cst.Raise)):
        if isinstance(found, cst.Break) and any(isinstance(p, (cst.For, cst.While)) for p in path):
            continue
        return True
    return False


def _uppercase(name: str) -> bool:
    return name.isupper() and any(c.isalpha() for c in name)


SUBJECT_ARTICLE = ("a", "e", "i", "o", "u")


def _subject(name: str, spec: ResourceSpec, label: str) -> str:
    article = "an" if spec.kind.lower().startswith(SUBJECT_ARTICLE) else "a"
    if spec.kind.startswith("`"):
        article = "a"
    return f"`{name}` ({article} {spec.kind} from {label})"


def _analyze_scope(ctx: ModuleContext, scope: Scope, analysis: ModuleAnalysis) -> None:
    ctx.scope = scope
    root_nodes = scope.body
    calls: List[Tuple[cst.Call, Tuple[cst.CSTNode, ...]]] = []
    for statement in root_nodes:
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            continue
        for found, path in find(statement, (cst.Call,)):
            calls.append((found, path))  # type: ignore[arg-type]
    candidates = ctx.candidates
    interesting = [
        (call, path)
        for call, path in calls
        if _last_name(call.func) in candidates
        or _last_name(call.func) in ctx.factories
        or _last_name(call.func) in ctx.resource_classes
        or (scope.class_info is not None and _last_name(call.func) in scope.class_info.factories)
    ]
    if not interesting:
        return
    _fill_scope_names(ctx, scope)
    ctx.self_calls_in_scope = {
        call.func.attr.value
        for call, _ in calls
        if isinstance(call.func, cst.Attribute) and isinstance(call.func.value, cst.Name) and call.func.value.value == "self"
    }
    class_name = scope.class_info.node.name.value if scope.class_info else None
    for call, path in interesting:
        if _last_name(call.func) == "acquire":
            _analyze_lock(ctx, scope, call, path, analysis)
            continue
        spec = ctx.acquisition_spec(call, scope)
        if spec is None:
            continue
        label = ctx.label(call.func)
        site = _site(ctx, call, path, spec)
        acquisition = Acquisition(call, spec, label, site.statement, tuple(n for n, _ in site.names), scope.node)
        analysis.acquisitions.append(acquisition)
        if _keeps_file(ctx, call):
            _track_kept_path(ctx, scope, call, path, site, label, class_name, analysis, acquisition)
        if site.kind == "inline":
            kinds = [part.kind for _, part in spec.parts] or [spec.kind]
            verb = spec.parts[0][1].verb if spec.parts else spec.verb
            analysis.defects.append(
                Defect("MEM001", call, f"{kinds[0]} from {label} is {site.detail} and never {verb}", "inline", acquisition=acquisition)
            )
        elif site.kind == "dropped":
            analysis.defects.append(
                Defect("MEM001", call, f"{spec.kind} from {label} is discarded and never {spec.verb}", "dropped", acquisition=acquisition)
            )
        elif site.kind == "store-self":
            if scope.class_info is not None:
                scope.class_info.owned.setdefault(site.attr, (call, acquisition))
        elif site.kind == "track":
            for name, part in site.names:
                if scope.is_module and (_uppercase(name) or part.long_lived or name in ctx.global_uses()):
                    continue
                _track(ctx, scope, call, path, site, name, part, label, class_name, analysis, acquisition)


def _keeps_file(ctx: ModuleContext, call: cst.Call) -> bool:
    """``NamedTemporaryFile(delete=False)``: the file outlives the handle."""
    if (ctx.resolve(call.func) or "") != "tempfile.NamedTemporaryFile":
        return False
    return any(
        arg.keyword is not None and arg.keyword.value == "delete" and dotted(arg.value) == "False" for arg in call.args
    )


def _track_kept_path(
    ctx: ModuleContext,
    scope: Scope,
    call: cst.Call,
    path: Tuple[cst.CSTNode, ...],
    site: _Site,
    label: str,
    class_name: Optional[str],
    analysis: ModuleAnalysis,
    acquisition: Acquisition,
) -> None:
    """Follow ``tmp.name`` of a temporary file kept on disk until it is removed or handed on."""
    holder: Optional[str] = None
    statement: Optional[cst.CSTNode] = None
    if site.kind == "track" and site.names:
        holder, statement = site.names[0][0], site.statement
    elif site.kind == "managed":
        item = next((p for p in reversed(path) if isinstance(p, cst.WithItem)), None)
        with_node = next((p for p in reversed(path) if isinstance(p, cst.With)), None)
        if item is not None and item.asname is not None and isinstance(item.asname.name, cst.Name):
            holder, statement = item.asname.name.value, with_node
    if holder is None or statement is None:
        return
    from memlint.analysis.resources import TEMP_PATH

    _statement, loops = _enclosing_statement(path)
    name = f"{holder}.name"
    tracker = lifetime.Tracker({name}, TEMP_PATH, call, statement, enclosing_loops=loops)
    tracker.holders = {holder}
    outcome = lifetime.run(ctx, tracker, scope.body, class_name, yields_raise=not scope.is_context_manager)
    _report(ctx, call, name, TEMP_PATH, label, outcome, analysis, acquisition)


def _last_name(func: cst.BaseExpression) -> str:
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return ""


def _track(
    ctx: ModuleContext,
    scope: Scope,
    call: cst.Call,
    path: Tuple[cst.CSTNode, ...],
    site: _Site,
    name: str,
    spec: ResourceSpec,
    label: str,
    class_name: Optional[str],
    analysis: ModuleAnalysis,
    acquisition: Acquisition,
) -> None:
    if isinstance(scope.node, cst.FunctionDef) and _declared_global(scope.node, name):
        return
    _statement, loops = _enclosing_statement(path)
    tracker = lifetime.Tracker({name}, spec, call, site.statement, enclosing_loops=loops)  # type: ignore[arg-type]
    tracker.container = name in scope.containers
    tracker.guards = _guard_flags(site.statement, path)
    outcome = lifetime.run(ctx, tracker, scope.body, class_name, yields_raise=not scope.is_context_manager)
    if scope.class_info is not None:
        for attr in _stored_attrs(ctx, scope, tracker):
            scope.class_info.owned.setdefault(attr, (call, acquisition))
    _unbound_in_finally(ctx, scope, call, path, name, label, analysis, acquisition)
    if outcome.category == "never" and spec.is_path and any(
        arg.keyword is not None and arg.keyword.value == "dir" for arg in call.args
    ):
        # A unique file made in a chosen directory and never removed is usually the point
        # (a log, a report): only a removal skipped on some path is reported there.
        return
    _report(ctx, call, name, spec, label, outcome, analysis, acquisition)


def _guard_flags(statement: Optional[cst.CSTNode], path: Tuple[cst.CSTNode, ...]) -> Set[str]:
    """``flag = True`` (or ``closed = False``, kept as ``!closed``) right after the
    acquisition in the same block."""
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
            for small in _smalls(following):
                if (
                    isinstance(small, cst.Assign)
                    and len(small.targets) == 1
                    and isinstance(small.targets[0].target, cst.Name)
                    and dotted(small.value) in ("True", "False")
                ):
                    # ``close_source = True`` holds while the resource is held;
                    # ``fd_closed = False`` holds until it is released.
                    prefix = "" if dotted(small.value) == "True" else "!"
                    flags.add(prefix + small.targets[0].target.value)
        break
    return flags


def _smalls(statement: cst.CSTNode) -> Tuple[cst.CSTNode, ...]:
    if isinstance(statement, SMALL_CONTAINERS):
        return tuple(statement.body)
    return (statement,) if isinstance(statement, cst.BaseSmallStatement) else ()


def _report(
    ctx: ModuleContext,
    call: cst.Call,
    name: str,
    spec: ResourceSpec,
    label: str,
    outcome: lifetime.Outcome,
    analysis: ModuleAnalysis,
    acquisition: Acquisition,
) -> None:
    """Turn a tracker's verdict into at most one MEM001 or MEM003 defect."""
    if outcome.category == "ok":
        return
    subject = _subject(name, spec, label)
    verb = spec.verb
    releases = outcome.release_nodes
    witness = outcome.witness
    if outcome.category == "never":
        message, code = f"{subject} is never {verb}", "MEM001"
    elif outcome.category == "return":
        message, code = f"{subject} is not {verb} when the function returns at line {{L0}}", "MEM001"
    elif outcome.category == "raise":
        message, code = f"{subject} is not {verb} when the `raise` at line {{L0}} leaves the function", "MEM001"
    elif outcome.category == "rebind":
        if witness is call:
            message = f"{subject} is not {verb} before the next loop iteration acquires it again"
            witness = None
        else:
            message = f"{subject} is rebound at line {{L0}} before it is {verb}"
        code = "MEM001"
    elif outcome.category == "loop-exit":
        message, code = f"{subject} is not {verb} when `{outcome.witness_kind}` at line {{L0}} skips the release", "MEM001"
    elif outcome.category == "branch":
        message, code = f"{subject} is not {verb} on every path", "MEM001"
    else:
        message, code = f"{subject} is not {verb} {_raise_phrase(ctx, witness, outcome.witness_kind)}", "MEM003"
    refs = (witness,) if witness is not None and "{L0}" in message else ()
    analysis.defects.append(Defect(code, call, message, outcome.category, refs, acquisition, releases))


def _raise_phrase(ctx: ModuleContext, node: Optional[cst.CSTNode], kind: str) -> str:
    if node is None:
        return "when an exception is raised"
    if kind == "reraise":
        return "when the exception re-raised at line {L0} propagates"
    if isinstance(node, cst.Call):
        return f"when {ctx.label(node.func)} raises (line {{L0}})"
    if isinstance(node, cst.Await):
        return "when the `await` at line {L0} raises"
    if isinstance(node, cst.Yield):
        return "when the generator is closed at the `yield` on line {L0}"
    if isinstance(node, cst.Assert):
        return "when the `assert` at line {L0} fails"
    return "when line {L0} raises"


def _declared_global(function: cst.FunctionDef, name: str) -> bool:
    for statement in iter_statements(list(block_of(function.body)), into_functions=False):
        if isinstance(statement, SMALL_CONTAINERS):
            for small in statement.body:
                if isinstance(small, (cst.Global, cst.Nonlocal)) and any(n.name.value == name for n in small.names):
                    return True
    return False


def _stored_attrs(ctx: ModuleContext, scope: Scope, tracker: lifetime.Tracker) -> Set[str]:
    """Attributes of ``self`` that a tracked resource was stored in."""
    attrs: Set[str] = set()
    names = set(tracker.names)
    for mention, path in find(ctx.module if scope.is_module else scope.node, (cst.Name,)):
        if mention.value in names and any(isinstance(p, cst.Arg) for p in path[-3:]):  # type: ignore[attr-defined]
            handed = next((p for p in reversed(path) if isinstance(p, cst.Call)), None)
            if handed is not None and _last_name(handed.func) not in HANDOFF_METHODS:  # type: ignore[attr-defined]
                # Also handed to something else (``Finalize(self, close_fds, (r, w))``):
                # the class is not its only owner.
                return set()
    for statement in iter_statements(list(scope.body), into_functions=False):
        if not isinstance(statement, SMALL_CONTAINERS):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign) and isinstance(small.value, cst.Name) and small.value.value in names:
                for target in small.targets:
                    attr = self_attribute(target.target)
                    if attr:
                        attrs.add(attr)
            elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
                func = small.value.func
                if isinstance(func, cst.Attribute) and func.attr.value in HANDOFF_METHODS:
                    attr = self_attribute(func.value)
                    if attr and any(isinstance(a.value, cst.Name) and a.value.value in names for a in small.value.args):
                        attrs.add(attr)
    return attrs


def _unbound_in_finally(
    ctx: ModuleContext,
    scope: Scope,
    call: cst.Call,
    path: Tuple[cst.CSTNode, ...],
    name: str,
    label: str,
    analysis: ModuleAnalysis,
    acquisition: Acquisition,
) -> None:
    """MEM003: a ``finally`` that releases a name its ``try`` may not have bound yet."""
    for index, node in enumerate(path):
        if not isinstance(node, TRY_TYPES) or node.finalbody is None:  # type: ignore[attr-defined]
            continue
        if index + 1 >= len(path) or path[index + 1] is not node.body:  # type: ignore[attr-defined]
            continue
        release = _releases_name(ctx, node.finalbody, name)  # type: ignore[attr-defined]
        if release is None or _bound_before(scope, node, name):
            continue
        analysis.defects.append(
            Defect(
                "MEM003",
                call,
                f"`{name}` may be unbound in the `finally` at line {{L0}} if {label} raises: "
                f"bind `{name} = None` before `try`, or acquire before it",
                "unbound-in-finally",
                (release,),
                acquisition,
            )
        )
        return


def _releases_name(ctx: ModuleContext, final: cst.BaseSuite, name: str) -> Optional[cst.CSTNode]:
    for found, path in find(final, (cst.Call,)):
        func = found.func  # type: ignore[attr-defined]
        guarded = any(isinstance(p, cst.If) and _locals_guard(p.test, name) for p in path)
        if guarded:
            continue
        if isinstance(func, cst.Attribute) and func.attr.value in ANY_RELEASE_METHODS and dotted(func.value) == name:
            return found
        if (ctx.resolve(func) or "") in ANY_RELEASE_FUNCS and any(dotted(a.value) == name for a in found.args):  # type: ignore[attr-defined]
            return found
    return None


def _locals_guard(test: cst.BaseExpression, name: str) -> bool:
    for comparison, _ in find(test, (cst.Comparison,)):
        left = comparison.left  # type: ignore[attr-defined]
        if isinstance(left, cst.SimpleString) and left.evaluated_value == name:
            return True
    return False


def _bound_before(scope: Scope, try_node: cst.CSTNode, name: str) -> bool:
    if isinstance(scope.node, cst.FunctionDef):
        params = scope.node.params
        every = list(params.params) + list(params.posonly_params) + list(params.kwonly_params)
        if any(p.name.value == name for p in every):
            return True
    for statement in iter_statements(list(scope.body), into_functions=False):
        if statement is try_node:
            return False
        if isinstance(statement, SMALL_CONTAINERS):
            for small in statement.body:
                targets: List[cst.CSTNode] = []
                if isinstance(small, cst.Assign):
                    targets = [t.target for t in small.targets]
                elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                    targets = [small.target]
                for target in targets:
                    if any(n.value == name for n, _ in find(target, (cst.Name,))):  # type: ignore[attr-defined]
                        return True
        elif isinstance(statement, (cst.For,)) and any(n.value == name for n, _ in find(statement.target, (cst.Name,))):  # type: ignore[attr-defined]
            return True
    return False


def _analyze_lock(
    ctx: ModuleContext, scope: Scope, call: cst.Call, path: Tuple[cst.CSTNode, ...], analysis: ModuleAnalysis
) -> None:
    """``x.acquire()`` as a statement, with a matching ``x.release()`` in the same body."""
    func = call.func
    if not isinstance(func, cst.Attribute) or not path or not isinstance(path[-1], cst.Expr):
        return
    receiver = dotted(func.value)
    if receiver is None:
        return
    if isinstance(scope.node, cst.FunctionDef) and scope.node.name.value in ("__enter__", "__aenter__", "acquire", "lock"):
        return  # taking the lock is what this method is for; its partner releases it
    if receiver.split(".", 1)[0] in scope.params and receiver.split(".", 1)[0] != "self":
        return  # a lock the caller passed in is the caller's to release
    seen_acquire = releases = False
    for statement in scope.body:
        for found, _ in find(statement, (cst.Call,)):
            if found is call:
                seen_acquire = True
                continue
            other = found.func  # type: ignore[attr-defined]
            if isinstance(other, cst.Attribute) and other.attr.value == "release" and dotted(other.value) == receiver:
                if not seen_acquire:
                    # Released before it is (re)acquired: a wait() that gives the lock back
                    # and takes it again. Not this analysis's pattern.
                    return
                releases = True
    from memlint.analysis.resources import LOCK

    if not releases:
        # A helper that only acquires (``def lock(self): self._lock.acquire()``) pairs with
        # another that releases; a body that goes on working with the lock held does not.
        module_global = "." not in receiver and receiver not in scope.params and scope.class_info is None
        if isinstance(scope.node, cst.FunctionDef) and module_global and _is_module_name(ctx, receiver):
            if _work_follows(scope.body, path):
                acquisition = Acquisition(call, LOCK, ctx.label(func), path[-1], (receiver,), scope.node)
                analysis.defects.append(
                    Defect("MEM001", call, f"`{receiver}` is acquired by {ctx.label(func)} and never released", "never", acquisition=acquisition)
                )
        return

    statement, loops = _enclosing_statement(path)
    label = ctx.label(func)
    tracker = lifetime.Tracker({receiver}, LOCK, call, statement, enclosing_loops=loops)  # type: ignore[arg-type]
    class_name = scope.class_info.node.name.value if scope.class_info else None
    outcome = lifetime.run(ctx, tracker, scope.body, class_name, yields_raise=not scope.is_context_manager)
    acquisition = Acquisition(call, LOCK, label, statement, (receiver,), scope.node)
    if outcome.category in ("ok", "never"):
        return
    subject = f"`{receiver}` (acquired by {label})"
    if outcome.category == "error":
        code, message = "MEM003", f"{subject} is not released {_raise_phrase(ctx, outcome.witness, outcome.witness_kind)}"
    elif outcome.category == "return":
        code, message = "MEM001", f"{subject} is not released when the function returns at line {{L0}}"
    elif outcome.category == "raise":
        code, message = "MEM001", f"{subject} is not released when the `raise` at line {{L0}} leaves the function"
    elif outcome.category == "loop-exit":
        code, message = "MEM001", f"{subject} is not released when `{outcome.witness_kind}` at line {{L0}} skips the release"
    else:
        code, message = "MEM001", f"{subject} is not released on every path"
    refs = (outcome.witness,) if outcome.witness is not None and "{L0}" in message else ()
    analysis.defects.append(Defect(code, call, message, outcome.category, refs, acquisition, outcome.release_nodes))


def _is_module_name(ctx: ModuleContext, name: str) -> bool:
    for statement in ctx.module.body:
        if isinstance(statement, SMALL_CONTAINERS):
            for small in statement.body:
                if isinstance(small, cst.Assign) and any(dotted(t.target) == name for t in small.targets):
                    return True
    return False


def _work_follows(body: Tuple[cst.CSTNode, ...], path: Tuple[cst.CSTNode, ...]) -> bool:
    """Whether statements follow the one on ``path`` in the function's own body."""
    for index, statement in enumerate(body):
        if statement in path:
            return any(not _is_docstring_or_pass(s) for s in body[index + 1 :])
    return False


def _is_docstring_or_pass(statement: cst.CSTNode) -> bool:
    if isinstance(statement, SMALL_CONTAINERS):
        return all(
            isinstance(small, cst.Pass) or (isinstance(small, cst.Expr) and isinstance(small.value, cst.SimpleString))
            for small in statement.body
        )
    return False


# -- MEM004 --------------------------------------------------------------------------


def _check_classes(ctx: ModuleContext, analysis: ModuleAnalysis) -> None:
    for name, info in ctx.classes.items():
        for attr, (node, acquisition) in info.owned.items():
            if not ctx.releasers_of(name, attr):
                analysis.defects.append(
                    Defect(
                        "MEM004",
                        node,
                        f"`self.{attr}` holds {_a(acquisition.spec.kind)} from {acquisition.label} "
                        f"that no method of `{name}` {acquisition.spec.verb.replace('closed', 'closes').replace('removed', 'removes').replace('waited for', 'waits for').replace('shut down', 'shuts down').replace('released', 'releases').replace('cleaned up', 'cleans up')}",
                        "class-never-released",
                        acquisition=acquisition,
                    )
                )
        if not info.owned:
            continue
        methods = _all_methods(ctx, name)
        release_methods = [m for m in CLASS_RELEASE_METHODS if m in methods]
        if not release_methods:
            continue
        if {"__enter__", "__exit__"} <= methods or {"__aenter__", "__aexit__"} <= methods:
            continue
        if _has_external_base(ctx, name):
            continue
        attr = sorted(info.owned)[0]
        kind = info.owned[attr][1].spec.kind
        pair = "`__aenter__`/`__aexit__`" if release_methods == ["aclose"] else "`__enter__`/`__exit__`"
        analysis.defects.append(
            Defect(
                "MEM004",
                info.node.name,
                f"`{name}` owns {_a(kind)} (`self.{attr}`) and has `{release_methods[0]}()` but no {pair}, "
                f"so it cannot be used in `with`",
                "class-no-with",
            )
        )


def _a(kind: str) -> str:
    if kind.startswith("`"):
        return "a " + kind
    return ("an " if kind.lower().startswith(SUBJECT_ARTICLE) else "a ") + kind


def _all_methods(ctx: ModuleContext, class_name: str, seen: Optional[Set[str]] = None) -> Set[str]:
    seen = seen if seen is not None else set()
    if class_name in seen or class_name not in ctx.classes:
        return set()
    seen.add(class_name)
    info = ctx.classes[class_name]
    methods = set(info.methods)
    for base in info.bases:
        methods |= _all_methods(ctx, base, seen)
    return methods


def _has_external_base(ctx: ModuleContext, class_name: str, seen: Optional[Set[str]] = None) -> bool:
    seen = seen if seen is not None else set()
    if class_name in seen:
        return False
    seen.add(class_name)
    for base in ctx.classes[class_name].bases:
        if base in HARMLESS_BASES or base.startswith("typing."):
            continue
        if base in ctx.classes:
            if _has_external_base(ctx, base, seen):
                return True
            continue
        return True
    return False


def _check_context_managers(ctx: ModuleContext, scopes: List[Scope], analysis: ModuleAnalysis) -> None:
    for scope in scopes:
        function = scope.node
        if not isinstance(function, cst.FunctionDef):
            continue
        if function.name.value in ("__exit__", "__aexit__") and scope.class_info is not None:
            _check_exit(function, analysis)
            continue
        if not (_decorator_names(ctx, function) & CONTEXT_MANAGER_DECORATORS):
            continue
        for found, path in find(function.body, (cst.Yield,)):
            if _unprotected_cleanup_after(found, path):
                analysis.defects.append(
                    Defect(
                        "MEM004",
                        found,
                        f"cleanup after `yield` in context manager `{function.name.value}` is skipped when the "
                        f"`with` body raises: put it in a `finally` block",
                        "cm-cleanup",
                    )
                )
                break


def _unprotected_cleanup_after(node: cst.CSTNode, path: Tuple[cst.CSTNode, ...]) -> bool:
    child = node
    has_cleanup = False
    for ancestor in reversed(path):
        if isinstance(ancestor, TRY_TYPES) and child is ancestor.body:  # type: ignore[attr-defined]
            if ancestor.finalbody is not None:  # type: ignore[attr-defined]
                return False
            if ancestor.handlers:  # type: ignore[attr-defined]
                # The except block deals with the error; its else block is success-only
                # work. What comes after the whole try still runs only on success.
                child = ancestor
                continue
        if isinstance(ancestor, (cst.IndentedBlock, cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            statements = list(ancestor.body)
            position = next((i for i, s in enumerate(statements) if s is child), None)
            if position is not None:
                for following in statements[position + 1 :]:
                    if _is_cleanup(following):
                        has_cleanup = True
                    if _leaves(following):
                        # Nothing after a ``return`` runs after this ``yield``.
                        return has_cleanup
        if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
            break
        child = ancestor
    return has_cleanup


def _leaves(statement: cst.CSTNode) -> bool:
    if isinstance(statement, SMALL_CONTAINERS):
        return any(isinstance(small, (cst.Return, cst.Raise)) for small in statement.body)
    return False


def _is_cleanup(statement: cst.CSTNode) -> bool:
    if isinstance(statement, SMALL_CONTAINERS):
        return any(_is_cleanup(small) for small in statement.body)
    if isinstance(statement, (cst.Pass, cst.Return, cst.Break, cst.Continue)):
        return isinstance(statement, cst.Return) and statement.value is not None and any(
            True for _ in find(statement, (cst.Call,))
        )
    if isinstance(statement, cst.Expr) and isinstance(statement.value, (cst.SimpleString, cst.Ellipsis)):
        return False
    return any(True for _ in find(statement, (cst.Call, cst.Assign, cst.AugAssign, cst.Del))) or isinstance(
        statement, (cst.Assign, cst.AugAssign, cst.Del)
    )


def _check_exit(function: cst.FunctionDef, analysis: ModuleAnalysis) -> None:
    body = block_of(function.body)
    returns = [node for node, _ in find(function.body, (cst.Return,))]
    if not returns or not body:
        return
    if not all(isinstance(r.value, cst.Name) and r.value.value == "True" for r in returns):  # type: ignore[attr-defined]
        return
    last = body[-1]
    if isinstance(last, SMALL_CONTAINERS) and isinstance(last.body[-1], cst.Return):
        analysis.defects.append(
            Defect(
                "MEM004",
                function.name,
                f"`{function.name.value}` returns True unconditionally and so swallows every exception "
                f"raised in the `with` body",
                "exit-swallows",
            )
        )


def _check_prefer_with(ctx: ModuleContext, analysis: ModuleAnalysis) -> None:
    """MEM041 (off by default): a try/finally that only releases what was acquired just before."""
    for acquisition in analysis.acquisitions:
        statement = acquisition.statement
        if not isinstance(statement, cst.Assign) or len(acquisition.names) != 1:
            continue
        name = acquisition.names[0]
        block = _block_containing(acquisition.scope, statement)
        if block is None:
            continue
        statements, index = block
        if index + 1 >= len(statements):
            continue
        following = statements[index + 1]
        if not isinstance(following, cst.Try) or following.handlers or following.orelse or following.finalbody is None:
            continue
        final = block_of(following.finalbody.body)
        if final and all(_is_release_of(ctx, s, name) for s in final):
            analysis.defects.append(
                Defect(
                    "MEM041",
                    acquisition.call,
                    f"`{name}` is released by a hand-written `try`/`finally`: `with` says the same in one line",
                    "prefer-with",
                    acquisition=acquisition,
                )
            )


def _block_containing(scope: Optional[cst.CSTNode], small: cst.CSTNode) -> Optional[Tuple[List[cst.CSTNode], int]]:
    if scope is None:
        return None
    body = list(scope.body) if isinstance(scope, cst.Module) else list(block_of(scope.body))  # type: ignore[attr-defined]
    for statement in iter_statements(body, into_functions=False):
        for block in _blocks_of(statement):
            for index, item in enumerate(block):
                if isinstance(item, SMALL_CONTAINERS) and small in item.body and len(item.body) == 1:
                    return list(block), index
    for index, item in enumerate(body):
        if isinstance(item, SMALL_CONTAINERS) and small in item.body and len(item.body) == 1:
            return body, index
    return None


def _blocks_of(statement: cst.CSTNode) -> Iterable[Tuple[cst.CSTNode, ...]]:
    from memlint.analysis.names import child_blocks

    for block in child_blocks(statement, into_functions=False):
        yield tuple(block)


def _is_release_of(ctx: ModuleContext, statement: cst.CSTNode, name: str) -> bool:
    if isinstance(statement, cst.If) and statement.orelse is None:
        return all(_is_release_of(ctx, s, name) for s in block_of(statement.body))
    if not isinstance(statement, SMALL_CONTAINERS) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    if not isinstance(small, cst.Expr):
        return False
    value = small.value.expression if isinstance(small.value, cst.Await) else small.value
    if not isinstance(value, cst.Call) or not isinstance(value.func, cst.Attribute):
        return False
    return value.func.attr.value in ANY_RELEASE_METHODS and dotted(value.func.value) == name


def analyze_module(
    module: cst.Module, source: str, options: RuleOptions, tree: Optional[ast.Module] = None
) -> ModuleAnalysis:
    """The whole resource-lifetime analysis of one parsed module."""
    ctx = ModuleContext(module, options)
    analysis = ModuleAnalysis()
    scopes = _scan(ctx)
    # ``from gzip import open as gzopen``: the local alias is a candidate name too.
    ctx.candidates = ctx.candidates | {
        local for local, qualified in ctx.imports.aliases.items() if qualified.rsplit(".", 1)[-1] in ctx.candidates
    }
    _find_factories(ctx, scopes)
    _find_resource_classes(ctx, scopes)
    if tree is not None:
        _mark_quiet_functions(ctx, scopes, tree, source, options)
    for scope in scopes:
        if not scope.quiet:
            _analyze_scope(ctx, scope, analysis)
    ctx.scope = None
    _check_classes(ctx, analysis)
    _check_context_managers(ctx, scopes, analysis)
    _check_prefer_with(ctx, analysis)
    return analysis


__all__ = ["analyze_module", "ModuleContext", "SCOPES"]

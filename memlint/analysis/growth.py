"""Stage 7, memory growth: caches, long-lived containers and logging handlers (MEM051-053).

One walk over the module collects every statement and call that matters; the rest reads
that list. It establishes:

- ``CacheDecorator``: ``functools.cache`` / ``lru_cache`` on a function, with whether it is
  bounded and whether the function is an instance method (the cache keeps ``self`` alive);
- ``LongLivedContainer``: a container made at module level, in a class body, or on
  ``self`` — with everything the module does to it: where it grows, whether anything ever
  takes items out of it or resets it, and whether it escapes (handed to other code);
- ``UnevictedMemo``: such a dict used as a memo (read and stored under a key in one
  function) that nothing evicts from;
- ``Accumulation``: such a container growing in a function that can run many times,
  which nothing in the module bounds;
- ``RepeatedHandlerAddition``: ``addHandler`` in a function, with no guard and no
  ``removeHandler`` for it.

The knowledge (which calls make containers, which methods grow or shrink them, which types
bound themselves) is data: ``memlint/knowledge/memory-growth/growth.toml``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

import libcst as cst

from memlint.analysis.facts import ModuleContext, decorator_names
from memlint.analysis.names import dotted
from memlint.analysis.walk import find
from memlint.knowledge.growth import growth_knowledge
from memlint.prefilter import growth_candidates

# Where growth is setting-up by design, not accumulation.
SETUP_METHODS = frozenset({"__init__", "__new__", "__init_subclass__", "__post_init__", "__set_name__", "setUp", "setup_method"})
ONCE_FUNCTIONS = frozenset({"main", "_main", "cli", "run_cli"})
_WANTED = (
    cst.Assign, cst.AnnAssign, cst.AugAssign, cst.Call, cst.Del, cst.Subscript, cst.Comparison,
    cst.FunctionDef, cst.ClassDef, cst.Global, cst.Return,
)
Key = Tuple[str, str, str]  # ("module", "", name) / ("class", class, name) / ("self", class, name)


@dataclass(eq=False)
class CacheDecorator:
    """``@cache``/``@lru_cache`` on ``function``; ``unbounded``: no ``maxsize`` bound;
    ``method``: an instance method (the cache holds every ``self``)."""

    function: cst.FunctionDef
    decorator: cst.Decorator
    label: str
    unbounded: bool
    method: bool
    classmethod: bool


@dataclass(eq=False)
class LongLivedContainer:
    """A container kept beyond one call: ``where`` is "module", "class" or "instance"."""

    name: str
    where: str
    owner: str  # the class, for "class" and "instance"
    kind: str  # "dict", "list", "set"
    node: cst.CSTNode  # its creation
    # (function, node, how) for each growth in a function; ``how`` reads like "`x.append()`".
    growth: List[Tuple[cst.FunctionDef, cst.CSTNode, str, bool]] = field(default_factory=list)
    bounded: bool = False
    escapes: bool = False
    # Functions that store under a key and read under a key: memo use.
    stores: Dict[int, cst.CSTNode] = field(default_factory=dict)
    reads: Set[int] = field(default_factory=set)


@dataclass(eq=False)
class UnevictedMemo:
    container: LongLivedContainer
    function: cst.FunctionDef
    store: cst.CSTNode


@dataclass(eq=False)
class Accumulation:
    container: LongLivedContainer
    function: cst.FunctionDef
    growth: cst.CSTNode
    how: str


@dataclass(eq=False)
class RepeatedHandlerAddition:
    call: cst.Call
    function: cst.FunctionDef
    receiver: str


class _Module:
    """What the one walk found, and the scope of each node."""

    def __init__(self, ctx: ModuleContext) -> None:
        self.ctx = ctx
        self.nodes = find(ctx.module, _WANTED, stop=())
        self.locals: Dict[int, Set[str]] = {}
        self.globals: Dict[int, Set[str]] = {}
        for node, path in self.nodes:
            function = innermost_function(path)
            if function is None:
                continue
            if isinstance(node, cst.Global):
                self.globals.setdefault(id(function), set()).update(n.name.value for n in node.names)
            elif isinstance(node, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
                for target in _targets(node):
                    if isinstance(target, cst.Name):
                        self.locals.setdefault(id(function), set()).add(target.value)

    def is_local(self, function: cst.FunctionDef, name: str) -> bool:
        if name in self.globals.get(id(function), ()):
            return False
        params = {p.name.value for p in _all_params(function)}
        return name in self.locals.get(id(function), ()) or name in params


def innermost_function(path: Tuple[cst.CSTNode, ...]) -> Optional[cst.FunctionDef]:
    for node in reversed(path):
        if isinstance(node, cst.FunctionDef):
            return node
        if isinstance(node, (cst.ClassDef, cst.Lambda)):
            return None
    return None


def _enclosing_class(path: Tuple[cst.CSTNode, ...], function: Optional[cst.FunctionDef]) -> Optional[cst.ClassDef]:
    """The class whose method ``function`` is (directly in its body), or whose body holds the node."""
    scopes = [n for n in path if isinstance(n, (cst.FunctionDef, cst.ClassDef))]
    if function is None:
        return scopes[-1] if scopes and isinstance(scopes[-1], cst.ClassDef) else None
    index = next((i for i, n in enumerate(scopes) if n is function), -1)
    if index > 0 and isinstance(scopes[index - 1], cst.ClassDef):
        return scopes[index - 1]  # type: ignore[return-value]
    return None


def _all_params(function: cst.FunctionDef) -> List[cst.Param]:
    params = function.params
    found = list(params.posonly_params) + list(params.params) + list(params.kwonly_params)
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            found.append(star)
    return found


def _targets(node: cst.CSTNode) -> List[cst.BaseExpression]:
    if isinstance(node, cst.Assign):
        found: List[cst.BaseExpression] = []
        for target in node.targets:
            if isinstance(target.target, (cst.Tuple, cst.List)):
                found.extend(e.value for e in target.target.elements)
            else:
                found.append(target.target)
        return found
    if isinstance(node, (cst.AnnAssign, cst.AugAssign)):
        return [node.target]
    return []


def _self_name(function: cst.FunctionDef) -> Optional[str]:
    params = list(function.params.posonly_params) + list(function.params.params)
    if not params:
        return None
    names = {d.decorator.value for d in function.decorators if isinstance(d.decorator, cst.Name)}
    if "staticmethod" in names:
        return None
    return params[0].name.value


class _Containers:
    """The long-lived containers of the module and the expressions that name them."""

    def __init__(self, module: _Module) -> None:
        self.module = module
        known = growth_knowledge()
        self.kinds = {name: kind for kind in ("dicts", "lists", "sets") for name in known[f"containers.{kind}"]}
        self.bounded_types = known["containers.bounded"]
        self.by_key: Dict[Key, LongLivedContainer] = {}

    def container_kind(self, value: Optional[cst.BaseExpression]) -> Optional[str]:
        if isinstance(value, cst.Dict):
            return "dict"
        if isinstance(value, cst.List):
            return "list"
        if isinstance(value, cst.Set):
            return "set"
        if isinstance(value, cst.Call):
            name = self.module.ctx.resolve(value.func) or ""
            kind = self.kinds.get(name)
            if kind == "lists" and name.endswith("deque"):
                if any(a.keyword is not None and a.keyword.value == "maxlen" for a in value.args) or len(value.args) >= 2:
                    return None
            return kind[:-1] if kind else None
        return None

    def collect(self) -> None:
        for node, path in self.module.nodes:
            if not isinstance(node, (cst.Assign, cst.AnnAssign)):
                continue
            kind = self.container_kind(node.value)
            if kind is None:
                continue
            function = innermost_function(path)
            klass = _enclosing_class(path, function)
            for target in _targets(node):
                if function is None and isinstance(target, cst.Name):
                    if klass is None and not any(isinstance(p, cst.FunctionDef) for p in path):
                        self._add(("module", "", target.value), kind, node)
                    elif klass is not None and path and _directly_in_class(path, klass):
                        self._add(("class", klass.name.value, target.value), kind, node)
                elif function is not None and klass is not None and isinstance(target, cst.Attribute):
                    me = _self_name(function)
                    if me and isinstance(target.value, cst.Name) and target.value.value == me:
                        self._add(("self", klass.name.value, target.attr.value), kind, node)

    def _add(self, key: Key, kind: str, node: cst.CSTNode) -> None:
        if key not in self.by_key:
            where = {"module": "module", "class": "class", "self": "instance"}[key[0]]
            self.by_key[key] = LongLivedContainer(key[2], where, key[1], kind, node)

    def of(self, expr: cst.CSTNode, path: Tuple[cst.CSTNode, ...]) -> Optional[LongLivedContainer]:
        """The long-lived container ``expr`` names where it stands, if any."""
        function = innermost_function(path)
        if isinstance(expr, cst.Name):
            if function is not None and self.module.is_local(function, expr.value):
                return None
            return self.by_key.get(("module", "", expr.value))
        if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name):
            head, attr = expr.value.value, expr.attr.value
            klass = _enclosing_class(path, function)
            if function is not None and klass is not None and head == _self_name(function):
                owner = klass.name.value
                return self.by_key.get(("self", owner, attr)) or self.by_key.get(("class", owner, attr))
            return self.by_key.get(("class", head, attr))
        return None

    def any_named(self, attr: str) -> List[LongLivedContainer]:
        return [c for key, c in self.by_key.items() if key[2] == attr and key[0] != "module"]


def _directly_in_class(path: Tuple[cst.CSTNode, ...], klass: cst.ClassDef) -> bool:
    index = next(i for i, n in enumerate(path) if n is klass)
    return not any(isinstance(n, (cst.FunctionDef, cst.ClassDef)) for n in path[index + 1 :])


def growth_facts(ctx: ModuleContext, tree: Optional[ast.Module] = None) -> List[object]:
    """The growth facts of one module (nothing, unwalked, when ``tree`` shows no candidate)."""
    if tree is not None and not growth_candidates(tree):
        return []
    module = _Module(ctx)
    facts: List[object] = list(_cache_decorators(module))
    containers = _Containers(module)
    containers.collect()
    if containers.by_key:
        _follow_uses(module, containers)
        facts.extend(_container_facts(module, containers))
    facts.extend(_handler_additions(module))
    return facts


def _cache_decorators(module: _Module) -> List[CacheDecorator]:
    known = growth_knowledge()
    found = []
    for node, path in module.nodes:
        if not isinstance(node, cst.FunctionDef) or not node.decorators:
            continue
        klass = _enclosing_class(path + (node,), node)
        others = decorator_names(module.ctx, node)
        for decorator in node.decorators:
            expr = decorator.decorator
            call = expr if isinstance(expr, cst.Call) else None
            name = module.ctx.resolve(call.func if call else expr) or ""
            if name in known["caches.unbounded"]:
                unbounded = True
            elif name in known["caches.maxsize_bounded"]:
                unbounded = call is not None and _maxsize_none(call)
            else:
                continue
            is_static = "staticmethod" in others
            is_class = "classmethod" in others
            method = klass is not None and not is_static and not is_class and bool(_all_params(node))
            label = "`@" + " ".join(module.ctx.module.code_for_node(expr).split()) + "`"
            found.append(CacheDecorator(node, decorator, label, unbounded, method, is_class))
    return found


def _maxsize_none(call: cst.Call) -> bool:
    for index, arg in enumerate(call.args):
        if (arg.keyword is not None and arg.keyword.value == "maxsize") or (arg.keyword is None and index == 0):
            return isinstance(arg.value, cst.Name) and arg.value.value == "None"
    return False


def _follow_uses(module: _Module, containers: _Containers) -> None:
    """Record, for every long-lived container, what each mention of it does."""
    known = growth_knowledge()
    appending, keyed = known["containers.appending_methods"], known["containers.keyed_methods"]
    removing = known["containers.removing_methods"]
    growing_fns, shrinking_fns = known["containers.growing_functions"], known["containers.shrinking_functions"]
    reading_fns = known["containers.reading_functions"]
    code = module.ctx.module.code_for_node

    def bound_by_name(expr: cst.BaseExpression, path: Tuple[cst.CSTNode, ...]) -> None:
        # Generous on purpose: taking items out of ``<anything>.x`` bounds every ``x``.
        found = containers.of(expr, path)
        if found is not None:
            found.bounded = True
        elif isinstance(expr, cst.Attribute):
            for other in containers.any_named(expr.attr.value):
                other.bounded = True

    for node, path in module.nodes:
        function = innermost_function(path)
        if isinstance(node, cst.Call):
            func = node.func
            if isinstance(func, cst.Attribute):
                found = containers.of(func.value, path)
                method = func.attr.value
                if method in removing:
                    bound_by_name(func.value, path)
                elif found is not None and function is not None:
                    if method in appending or method in keyed:
                        found.growth.append((function, node, f"`{code(func).strip()}()`", method in appending))
                        if method == "setdefault" and not _constant_argument(node):
                            found.stores.setdefault(id(function), node)
                            found.reads.add(id(function))
                    elif method == "get":
                        found.reads.add(id(function))
            qualified = module.ctx.resolve(func) or ""
            for arg in node.args:
                value = arg.value
                if isinstance(value, cst.Attribute) and value.attr.value in removing:
                    # ``task.add_done_callback(_tasks.discard)``: removal handed on as a callback.
                    bound_by_name(value.value, path)
                    continue
                target = containers.of(value, path)
                if target is None:
                    continue
                if qualified in growing_fns and function is not None:
                    target.growth.append((function, node, f"`{qualified}()`", True))
                elif qualified in shrinking_fns:
                    target.bounded = True
                elif qualified == "len":
                    target.bounded = True  # a size check: trimming by hand is likely
                elif qualified not in reading_fns:
                    target.escapes = True
        elif isinstance(node, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
            value = node.value
            if value is not None and not isinstance(node, cst.AugAssign):
                aliased = containers.of(value, path)
                if aliased is not None and function is not None:
                    aliased.escapes = True
            for target in _targets(node):
                _assignment(module, containers, node, target, path, function)
        elif isinstance(node, cst.Del):
            for element in _deleted(node.target):
                bound_by_name(element.value if isinstance(element, cst.Subscript) else element, path)
        elif isinstance(node, cst.Subscript) and function is not None:
            found = containers.of(node.value, path)
            if found is not None and not _is_store(node, path):
                found.reads.add(id(function))
        elif isinstance(node, cst.Comparison) and function is not None:
            for target in node.comparisons:
                if isinstance(target.operator, (cst.In, cst.NotIn)):
                    found = containers.of(target.comparator, path)
                    if found is not None:
                        found.reads.add(id(function))
        elif isinstance(node, cst.Return) and node.value is not None and function is not None:
            found = containers.of(node.value, path)
            if found is not None:
                found.escapes = True


def _constant_argument(call: cst.Call) -> bool:
    return bool(call.args) and isinstance(call.args[0].value, (cst.SimpleString, cst.Integer, cst.Float))


def _constant_key(target: cst.Subscript) -> bool:
    """``d["name"] = ...``, ``d[0] = ...``: a key written in the code, not one from data."""
    return all(
        isinstance(s.slice, cst.Index) and isinstance(s.slice.value, (cst.SimpleString, cst.Integer, cst.Float))
        for s in target.slice
    )


def _deleted(target: cst.BaseExpression) -> List[cst.BaseExpression]:
    if isinstance(target, (cst.Tuple, cst.List)):
        return [e.value for e in target.elements]
    return [target]


def _is_store(node: cst.Subscript, path: Tuple[cst.CSTNode, ...]) -> bool:
    parent = path[-1] if path else None
    if isinstance(parent, cst.AssignTarget) and parent.target is node:
        return True
    return isinstance(parent, (cst.AnnAssign, cst.AugAssign)) and parent.target is node


def _assignment(
    module: _Module,
    containers: _Containers,
    node: cst.CSTNode,
    target: cst.BaseExpression,
    path: Tuple[cst.CSTNode, ...],
    function: Optional[cst.FunctionDef],
) -> None:
    code = module.ctx.module.code_for_node
    if isinstance(target, cst.Subscript):
        found = containers.of(target.value, path)
        if found is None:
            if isinstance(target.value, cst.Attribute):
                if any(isinstance(s.slice, cst.Slice) for s in target.slice):
                    for other in containers.any_named(target.value.attr.value):
                        other.bounded = True
            return
        if any(isinstance(s.slice, cst.Slice) for s in target.slice):
            found.bounded = True  # ``x[:] = ...``: trimmed or replaced
        elif found.kind == "list" or _constant_key(target):
            return  # an index of a list, a fixed key of a dict: replaced, not grown
        elif isinstance(node, cst.AugAssign) and not isinstance(node.operator, cst.AddAssign):
            return
        elif function is not None:
            found.growth.append((function, node, f"`{code(target.value).strip()}[...] = ...`", False))
            if not isinstance(node, cst.AugAssign):
                found.stores.setdefault(id(function), node)
        return
    found = containers.of(target, path)
    if found is None or function is None:
        return
    if isinstance(node, cst.AugAssign):
        if isinstance(node.operator, cst.AddAssign) and found.kind == "list":
            found.growth.append((function, node, f"`{code(target).strip()} += ...`", True))
        elif isinstance(node.operator, cst.BitOrAssign) and found.kind != "list":
            found.growth.append((function, node, f"`{code(target).strip()} |= ...`", False))
        else:
            found.bounded = True
        return
    if found.where == "instance" and function.name.value in SETUP_METHODS:
        return
    found.bounded = True  # reset outside set-up: rebuilt rather than grown for ever


def _container_facts(module: _Module, containers: _Containers) -> List[object]:
    facts: List[object] = []
    known = growth_knowledge()
    prefixes = tuple(known["containers.registering_prefixes"])
    long_lived = tuple(known["containers.long_lived_class_suffixes"])
    import_time = _called_only_at_import(module)
    for container in containers.by_key.values():
        if container.bounded or container.escapes or not container.growth:
            continue
        memo = next(
            (
                (function, container.stores[id(function)])
                for function, _, _, _ in container.growth
                if id(function) in container.stores and id(function) in container.reads
            ),
            None,
        )
        if memo is not None and container.kind == "dict" and container.where != "instance":
            facts.append(UnevictedMemo(container, memo[0], memo[1]))
            continue
        if container.where == "instance" and not container.owner.endswith(long_lived):
            continue  # the object's life is unknown: a parser's list goes with the parser
        for function, node, how, appending in container.growth:
            if not appending:
                continue  # a key or a member: bounded by the distinct keys, which code cannot see
            name = function.name.value
            if name in SETUP_METHODS or name in ONCE_FUNCTIONS or name.startswith(prefixes):
                continue
            if id(function) in import_time or _returns_a_parameter(function) or _is_once(module, function):
                continue
            facts.append(Accumulation(container, function, node, how))
            break
    return facts


def _called_only_at_import(module: _Module) -> Set[int]:
    """Module functions called at module level and from no function: they run at import."""
    at_import: Set[str] = set()
    elsewhere: Set[str] = set()
    for node, path in module.nodes:
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name):
            inside = any(isinstance(p, (cst.FunctionDef, cst.Lambda)) for p in path)
            (elsewhere if inside else at_import).add(node.func.value)
    return {
        id(function)
        for name, function in module.ctx.functions.items()
        if name in at_import and name not in elsewhere
    }


def _returns_a_parameter(function: cst.FunctionDef) -> bool:
    """A decorator: it hands back what it was given (a registry filled at import time)."""
    params = {p.name.value for p in _all_params(function)}
    for node, _ in find(function.body, (cst.Return,)):
        value = node.value  # type: ignore[attr-defined]
        if isinstance(value, cst.Name) and value.value in params:
            return True
    return False


def _is_once(module: _Module, function: cst.FunctionDef) -> bool:
    """Decorated to run once per argument set (a cache), or a module-level
    ``atexit``/import-time hook: growth there does not repeat."""
    names = decorator_names(module.ctx, function)
    known = growth_knowledge()
    return bool(names & (known["caches.unbounded"] | known["caches.maxsize_bounded"]))


def _handler_additions(module: _Module) -> List[RepeatedHandlerAddition]:
    known = growth_knowledge()
    adding, removing, guards = known["handlers.adding"], known["handlers.removing"], known["handlers.guards"]
    code = module.ctx.module.code_for_node
    additions: List[Tuple[cst.Call, cst.FunctionDef, str]] = []
    removed: Set[str] = set()
    removing_functions: Set[int] = set()
    module_names = _module_level_names(module.ctx.module)
    for node, path in module.nodes:
        function = innermost_function(path)
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            receiver = " ".join(code(node.func.value).split())
            if node.func.attr.value in adding and function is not None:
                base = _base_name(node.func.value)
                if base in {p.name.value for p in _all_params(function)} and base not in ("self", "cls"):
                    continue  # a helper attaching to the logger it is given: the caller decides
                if not _guarded_by_if(module, path, function, guards, module_names | ({base} if base else set())):
                    additions.append((node, function, receiver))
            elif node.func.attr.value in removing:
                removed.add(receiver)
                for scope in path:
                    if isinstance(scope, (cst.FunctionDef, cst.ClassDef)):
                        removing_functions.add(id(scope))
    found = []
    for call, function, receiver in additions:
        local = isinstance(call.func.value, cst.Name) and module.is_local(function, call.func.value.value)  # type: ignore[attr-defined]
        if (receiver in removed and not local) or id(function) in removing_functions or _mentions(module, function, guards):
            continue
        if function.name.value in ONCE_FUNCTIONS or _is_once(module, function):
            continue
        if _fresh_logger(module, function, call.func.value, known["handlers.fresh_loggers"]):  # type: ignore[attr-defined]
            continue
        found.append(RepeatedHandlerAddition(call, function, receiver))
    return found


def _base_name(expr: cst.BaseExpression) -> Optional[str]:
    """``logger`` for ``logger``, ``self`` for ``self.logger``; None for a call."""
    name = dotted(expr)
    return name.split(".", 1)[0] if name else None


def _mentions(module: _Module, function: cst.FunctionDef, names: frozenset) -> bool:
    """The function mentions ``logger.handlers`` or ``hasHandlers``: it looks before adding.
    (The module ``logging.handlers``, as in ``logging.handlers.RotatingFileHandler``, is no look.)"""
    return _guard_words(module, function.body, names)


def _guard_words(module: _Module, root: cst.CSTNode, names: frozenset) -> bool:
    for node, path in find(root, (cst.Name,), stop=()):
        if node.value not in names:  # type: ignore[attr-defined]
            continue
        parent = path[-1] if path else None
        if isinstance(parent, cst.Attribute) and parent.attr is node:
            if module.ctx.resolve(parent.value) == "logging":
                continue
        elif module.ctx.resolve(node) == "logging.handlers":  # type: ignore[arg-type]
            continue
        return True
    return False


def _module_level_names(module: cst.Module) -> Set[str]:
    names = set()
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                for target in _targets(small):
                    if isinstance(target, cst.Name):
                        names.add(target.value)
    return names


def _guarded_by_if(
    module: _Module, path: Tuple[cst.CSTNode, ...], function: cst.FunctionDef, guards: frozenset, module_names: Set[str]
) -> bool:
    """An ``if`` around the call (or one that returns early) that tests the handlers, the
    logger itself, a module-level once-flag, or an attribute of ``self``/``cls``."""
    start = next(i for i, n in enumerate(path) if n is function)
    tests = [node for node in path[start + 1 :] if isinstance(node, cst.If)]
    # ``if already_configured(logger): return``: an early way out counts as a guard too.
    tests.extend(
        node for node, _ in find(function.body, (cst.If,))
        if any(True for _ in find(node.body, (cst.Return, cst.Raise)))  # type: ignore[attr-defined]
    )
    for node in tests:
        if _guard_words(module, node.test, guards):  # type: ignore[attr-defined]
            return True
        for name, _ in find(node.test, (cst.Name,), stop=()):  # type: ignore[attr-defined]
            value = name.value  # type: ignore[attr-defined]
            if value in module_names or value in ("self", "cls"):
                return True
    return False


def _fresh_logger(module: _Module, function: cst.FunctionDef, receiver: cst.BaseExpression, fresh: frozenset) -> bool:
    """The receiver is a ``logging.Logger(...)`` made in the same function: its own logger,
    not one the process-wide registry keeps."""
    if isinstance(receiver, cst.Call):
        return (module.ctx.resolve(receiver.func) or "") in fresh
    if not isinstance(receiver, cst.Name):
        return False
    for node, _ in find(function.body, (cst.Assign,)):
        value = node.value  # type: ignore[attr-defined]
        if isinstance(value, cst.Call) and (module.ctx.resolve(value.func) or "") in fresh:
            if any(isinstance(t.target, cst.Name) and t.target.value == receiver.value for t in node.targets):  # type: ignore[attr-defined]
                return True
    return False

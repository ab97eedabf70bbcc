"""Project classes whose ``close()`` releases nothing: ``MemoryRecordsBuilder.close()``.

A value is taken for a resource when the scope that made it calls ``x.close()`` on it
(``inferred.py``). That premise fails for a class of the project whose ``close()`` only
finishes an in-memory object: kafka's ``MemoryRecordsBuilder.close()`` builds the batch's
bytes and drops its builder; nothing is closed, shut down or removed, so skipping it on an
exception leaks nothing.

The judgement is made on the ``ast`` of the class and its project bases (nearest first):
the release method must be found in that chain, every base must be a project class (a
class built on ``io.RawIOBase`` or ``socket.socket`` inherits a real release), and the
method's body, with the ``self`` methods it calls, must call nothing that releases or
that could: no call whose name is a release verb, no call of a bare function (it may
close what it is given), no ``super()`` call, no call that passes ``self`` on, and no
assignment of an attribute that a ``while`` loop of the chain tests (``self.active =
False`` stops a serve loop, which may close its sockets on the way out).
"""

from __future__ import annotations

import ast
from typing import Any, Dict, List, Optional, Set, Tuple

from memlint.analysis.ast_scopes import own_nodes
from memlint.analysis.project_owned import Loader, class_chain
from memlint.analysis.resources import KNOWLEDGE

# Appended to a class's name for the fact "these release methods of it release nothing"
# (summary ``"close"``), read by ``inferred.py`` through ``inert_release_methods_of``.
INERT_MARK = "#inert-release"

# Words that release, or may: a call whose name has one of them (as a ``_``-separated word,
# or as its start: ``closeall``) keeps the method a release.
_RELEASING_WORDS = (
    "close", "aclose", "release", "shutdown", "terminate", "kill", "stop", "disconnect", "cleanup",
    "unlink", "remove", "rmtree", "rmdir", "delete", "destroy", "dispose", "free", "detach", "quit",
    "logout", "exit", "join", "wait", "cancel", "unregister", "unmap", "drop", "finalize", "reset",
    "dup2", "abort", "unsubscribe", "teardown", "end", "finish", "clean", "purge", "discard", "del",
)
# Builtins whose call cannot release anything.
_PURE_BUILTINS = frozenset({
    "len", "bytes", "bytearray", "memoryview", "int", "str", "bool", "float", "list", "tuple", "dict",
    "set", "frozenset", "isinstance", "hasattr", "getattr", "min", "max", "sum", "abs", "repr", "iter",
    "sorted", "reversed", "enumerate", "zip", "range", "type", "id", "hash", "any", "all", "ord", "chr",
})
# How many ``self`` methods deep the body is followed.
_MAX_DEPTH = 3


def inert_release_methods(load: Loader, module: Any, node: ast.ClassDef, verbs: Tuple[str, ...]) -> List[str]:
    """The methods among ``verbs`` that the class has and that release nothing."""
    chain = class_chain(load, module, node)
    if not _only_project_bases(load, chain):
        return []
    methods = _chain_methods(chain)
    inert = [verb for verb in verbs if verb in methods and _releases_nothing(methods, verb, 0, set())]
    # The chain's loops are read only for a method that releases nothing (most have none).
    signals = _loop_tested_attributes(chain) if inert else set()
    return [
        verb for verb in inert
        if not _sets_any(methods[verb], signals)
    ]


def inert_release_methods_named(
    load: Loader, module: Any, name: str, found_class: Optional[Tuple[Any, ast.ClassDef]], verbs: Tuple[str, ...]
) -> List[str]:
    """The methods among ``verbs`` that release nothing on what ``module.name`` makes: a
    project class (above), or a function whose every ``return`` gives the value of a call
    that is never a resource (``inferred.toml`` ``not_from_callables``, ``in_memory_bases``:
    ``return tqdm.tqdm(total=size)``): whatever ``close()`` the caller calls on it finishes
    a display or a parse in memory."""
    if found_class is not None:
        return inert_release_methods(load, found_class[0], found_class[1], verbs)
    if name not in module.functions:
        return []
    function = module.functions[name]
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) or function.decorator_list:
        return []
    returns = [node for node in own_nodes(function) if isinstance(node, ast.Return)]
    if isinstance(function, ast.AsyncFunctionDef) or any(isinstance(node, (ast.Yield, ast.YieldFrom)) for node in own_nodes(function)):
        return []
    never = KNOWLEDGE.inferred_not_from | KNOWLEDGE.inferred_in_memory_bases
    for node in returns:
        value = node.value
        if not (isinstance(value, ast.Call) and (module.qualify(value.func) or "") in never):
            return []
    return list(verbs) if returns else []  # falling off the end returns None: nothing either


def _loop_tested_attributes(chain: List[Tuple[Any, ast.ClassDef]]) -> Set[str]:
    """Attributes of ``self`` a ``while`` loop of the chain tests (``while self.active:``):
    setting one is a stop signal to a loop that may release on its way out."""
    found: Set[str] = set()
    for _owner, cls in chain:
        for node in ast.walk(cls):
            if isinstance(node, ast.While):
                found.update(n.attr for n in ast.walk(node.test) if isinstance(n, ast.Attribute))
    return found


def _sets_any(function: ast.AST, attributes: Set[str]) -> bool:
    """Whether ``function`` assigns one of ``attributes`` (on any object)."""
    for node in ast.walk(function):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
        if any(isinstance(t, ast.Attribute) and t.attr in attributes for t in targets):
            return True
    return False


def inert_release_methods_of(ctx: Any) -> Dict[str, Set[str]]:
    """Qualified class name -> its release methods that release nothing (from the index)."""
    return vars(ctx).setdefault("project_inert_releases", {})


def _only_project_bases(load: Loader, chain: List[Tuple[Any, ast.ClassDef]]) -> bool:
    """Every base of every class of the chain is ``object`` or a class of the chain."""
    names = {cls.name for _owner, cls in chain}
    for _owner, cls in chain:
        if cls.keywords:
            return False  # a metaclass may supply methods
        for base in cls.bases:
            if isinstance(base, ast.Subscript):
                base = base.value
            last = base.attr if isinstance(base, ast.Attribute) else base.id if isinstance(base, ast.Name) else None
            if last is None or (last != "object" and last not in names):
                return False
    return True


def _chain_methods(chain: List[Tuple[Any, ast.ClassDef]]) -> Dict[str, ast.AST]:
    """Method name -> its definition, the nearest class's winning."""
    methods: Dict[str, ast.AST] = {}
    for _owner, cls in chain:
        for item in cls.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                methods.setdefault(item.name, item)
            elif isinstance(item, ast.Assign):
                for target in item.targets:  # ``close = _finish``: unknown here
                    if isinstance(target, ast.Name):
                        methods.setdefault(target.id, item)
    return methods


def _releases_nothing(methods: Dict[str, ast.AST], name: str, depth: int, seen: Set[str]) -> bool:
    function = methods.get(name)
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) or depth > _MAX_DEPTH:
        return False
    if function.decorator_list:
        return False  # a decorator may wrap it in anything
    if len(function.body) == 1 and isinstance(function.body[0], ast.Pass):
        return False  # maybe a member ``memlint.regions`` left out: its body is unknown
    seen = seen | {name}
    self_name = function.args.args[0].arg if function.args.args else None
    if self_name is None:
        return False
    # ``raise TokenParserException(...)``: building the exception releases nothing.
    raised = {id(node.exc) for node in ast.walk(function) if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)}
    bound = _locals_bound_to_plain_methods(function)
    for node in ast.walk(function):
        if id(node) in raised:
            continue
        if isinstance(node, (ast.Lambda, ast.Yield, ast.YieldFrom, ast.With, ast.AsyncWith, ast.Delete)):
            return False  # ``with``/``del`` run ``__exit__``/``__del__``: unknown here
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            return False
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in bound:
            continue  # ``code_append('n')`` after ``code_append = self._code.append``
        if isinstance(node, ast.Call) and not _call_releases_nothing(node, self_name, methods, depth, seen):
            return False
    return True


def _call_releases_nothing(
    call: ast.Call, self_name: str, methods: Dict[str, ast.AST], depth: int, seen: Set[str]
) -> bool:
    func = call.func
    if isinstance(func, ast.Name) and func.id in _PURE_BUILTINS:
        return True  # ``len(self._buffer)``
    if not isinstance(func, ast.Attribute):
        return False
    method = func.attr
    if _joins_strings(call):
        return True  # ``middle.join([horiz * w for w in self.widths])``: a string, not a thread
    if _sounds_releasing(method):
        return False
    owner = func.value
    if isinstance(owner, ast.Name) and owner.id == self_name:
        # what it is given stays inside the class, whose method is followed in turn
        if method not in methods:
            return _bound_attribute_releases_nothing(methods, method, depth, seen)
        return method in seen or _releases_nothing(methods, method, depth + 1, seen)
    if any(_mentions_self(arg, self_name) for arg in list(call.args) + [k.value for k in call.keywords]):
        return False  # hands ``self`` (or its parts) to something that may release them
    if isinstance(owner, ast.Call):
        return False  # ``super().close()``, ``get_pool().finish()``
    return True


def _locals_bound_to_plain_methods(function: ast.AST) -> Set[str]:
    """Local names the function binds only to ``x.method`` of a non-``self`` object whose
    name does not sound releasing (``code_append = self._code.append``): calling one
    runs that method, as ``self._code.append(...)`` would."""
    values: Dict[str, List[ast.AST]] = {}
    for node in ast.walk(function):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For, ast.NamedExpr)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        plain = isinstance(node, ast.Assign) and target is name
                        values.setdefault(name.id, []).append(node.value if plain else name)
    found: Set[str] = set()
    params = {arg.arg for arg in ast.walk(function) if isinstance(arg, ast.arg)}
    for name, bound in values.items():
        if name in params:
            continue
        if all(
            isinstance(v, ast.Attribute) and isinstance(v.value, ast.Attribute) and not isinstance(v.value.value, ast.Call)
            and not _sounds_releasing(v.attr)
            for v in bound
        ):
            found.add(name)
    return found


def _bound_attribute_releases_nothing(methods: Dict[str, ast.AST], attribute: str, depth: int, seen: Set[str]) -> bool:
    """``self._code_append('h')`` where ``_code_append`` is no method but an attribute the
    chain binds only to bound methods that release nothing: ``self._init_code_append`` (a
    method of the chain, followed) or ``self._code.append`` (a method whose name does not
    sound releasing), directly or through a local name of the same function."""
    values: List[ast.AST] = []
    for function in methods.values():
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        locals_: Dict[str, List[ast.AST]] = {}
        for node in ast.walk(function):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                locals_.setdefault(node.targets[0].id, []).append(node.value)
        for node in ast.walk(function):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr == attribute:
                    value = getattr(node, "value", None)
                    if isinstance(node, ast.AugAssign) or value is None:
                        return False
                    values.extend(locals_.get(value.id, [ast.Name(id="?")]) if isinstance(value, ast.Name) else [value])
    if not values:
        return False  # set from outside the class, or by ``setattr``: unknown
    for value in values:
        if not isinstance(value, ast.Attribute) or isinstance(value.value, ast.Call) or _sounds_releasing(value.attr):
            return False
        if value.attr in methods and not (value.attr in seen or _releases_nothing(methods, value.attr, depth + 1, seen)):
            return False
    return True


def _joins_strings(call: ast.Call) -> bool:
    """``sep.join(parts)`` on a string literal, or given one list, tuple, comprehension or
    generator: ``str.join`` (``Thread.join``/``Process.join`` take a timeout, never a
    sequence). The elements are only read."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr == "join") or call.keywords or len(call.args) != 1:
        return False
    if isinstance(func.value, ast.Constant) and isinstance(func.value.value, str):
        return True
    return isinstance(call.args[0], (ast.List, ast.Tuple, ast.ListComp, ast.GeneratorExp))


def _mentions_self(node: ast.AST, self_name: str) -> bool:
    """``self`` itself, or one of its attributes, as an argument."""
    return any(isinstance(n, ast.Name) and n.id == self_name for n in ast.walk(node))


def _sounds_releasing(name: str) -> bool:
    words = [word for word in name.lower().split("_") if word]
    if len(words) > 1 and words[-1] in _QUERIED_NOUNS:
        return False  # ``stop_reason()``, ``exit_code()``, ``close_time()``: a getter
    return any(word in _RELEASING_WORDS or word.startswith(_RELEASING_WORDS[:3]) for word in words)


# A name ending in one of these asks about a release instead of doing one.
_QUERIED_NOUNS = frozenset({
    "reason", "code", "time", "status", "state", "event", "signal", "count", "flag", "timeout", "message",
    "date", "deadline", "requested", "expected",
})

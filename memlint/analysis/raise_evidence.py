"""Evidence that a call can raise: MEM003's raise model for calls no other rule settles.

A call between acquiring and releasing a resource is an exception path only when there is
evidence that it can fail for a reason the code does not control:
- it is a method of the resource being followed (a socket's ``recv``, a file's ``write``);
- it calls a callable the function received as a parameter (what it runs is unknown);
- it is a known acquisition (``open()``, ``socket.create_connection()``);
- its qualified name is listed as raising (``calls.toml`` [raise-evidence]: the standard
  library's I/O, parsing, network, process and OS modules; ``int(text)``, ``next(it)``);
- it calls a function of a library or of another project module (its body is not read here);
- it calls a function or method of this module, or builds a class of this module, whose body
  raises (``raise``), looks a key or an index up in a value it did not build (a key just
  found by ``in``, or spelled by its own dict display, is there: ``checked_keys.py``), unpacks a
  value of unknown length, or makes a call with such evidence, transitively.
Not evidence: building an object of a class from elsewhere (``ExitStack()``, ``Future()``,
``urllib3.Retry(...)``), a pure standard-library helper (``copy.deepcopy``, ``time.time``),
other builtins, and a class of this module whose ``__init__`` only stores and computes.
``await`` and ``yield`` are judged by ``raises.py`` (always evidence).
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Dict, FrozenSet, Optional, Set

import libcst as cst

from memlint.analysis.checked_keys import checked_lookups
from memlint.analysis.local_holders import function_params
from memlint.analysis.names import dotted
from memlint.analysis.resources import (
    ANY_RELEASE_METHODS,
    KNOWLEDGE,
    LOGGING_METHODS,
    NON_RAISING_CALLS,
    NON_RAISING_METHODS,
)
from memlint.analysis.quiet_classes import made_from_resource
from memlint.analysis.quiet_functions import constant_call
from memlint.analysis.walk import find

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ClassInfo, ModuleContext

_BUILTIN_NAMES = frozenset(dir(builtins))
# Decorators that do not change what calling the function runs.
_PLAIN_DECORATORS = frozenset({"staticmethod", "classmethod", "property", "abstractmethod", "abc.abstractmethod"})
# How deep calls of this module's functions are followed; deeper is taken to raise.
_MAX_DEPTH = 4


def can_raise(ctx: "ModuleContext", call: cst.Call, held_names: Set[str]) -> bool:
    """Whether there is evidence ``call`` (in the scope being analysed) can raise."""
    scope = ctx.scope
    params = frozenset(scope.params) if scope is not None else frozenset()
    class_info = scope.class_info if scope is not None else None
    return _Judge(ctx).call(call, held_names, params, class_info, 0)


class _Judge:
    """Evidence for calls of one module; the verdicts on its functions are kept on ``ctx``."""

    def __init__(self, ctx: "ModuleContext") -> None:
        self.ctx = ctx
        self.bodies: Dict[int, bool] = vars(ctx).setdefault("raise_evidence_bodies", {})

    def call(
        self, call: cst.Call, held: Set[str], params: FrozenSet[str], class_info: Optional["ClassInfo"], depth: int
    ) -> bool:
        func = call.func
        if isinstance(func, cst.Attribute):
            return self._method(call, func, held, params, class_info, depth)
        if isinstance(func, cst.Name):
            return self._name(call, func.value, params, class_info, depth)
        return True  # ``handlers[kind](event)``, ``make()()``: what runs is not known

    # -- ``name(...)`` -------------------------------------------------------------------

    def _name(self, call: cst.Call, name: str, params: FrozenSet[str], class_info: Optional["ClassInfo"], depth: int) -> bool:
        ctx = self.ctx
        if name in params:
            return True  # a callable received from the caller
        if name in ctx.imports.aliases:
            return self._qualified(ctx.imports.resolve(name))
        function = ctx.functions.get(name)
        if function is not None:
            return self._function(function, None, depth)
        if name in ctx.shadowed:
            return True  # a local name bound to some callable
        info = ctx.classes.get(name)
        if info is not None:
            return self._local_class(info, depth)
        if name in ctx.table or name in ctx.factories:
            return True
        if name in _BUILTIN_NAMES:
            return name in KNOWLEDGE.raising_builtins and not _converts_a_number(call, name)
        return True  # bound in an enclosing function, or by a star import

    # -- ``obj.name(...)`` ---------------------------------------------------------------

    def _method(
        self, call: cst.Call, func: cst.Attribute, held: Set[str], params: FrozenSet[str],
        class_info: Optional["ClassInfo"], depth: int,
    ) -> bool:
        ctx = self.ctx
        last = func.attr.value
        receiver = dotted(func.value)
        if receiver is not None and receiver in held:
            return True  # the resource's own work
        if receiver is None:
            return True  # ``super().__init__()``, ``make().run()``: not followed
        head = receiver.split(".", 1)[0]
        if head in ctx.imports.aliases and head not in params:
            return self._qualified(ctx.imports.resolve(receiver + "." + last))
        if receiver in ("self", "cls") and class_info is not None:
            method = class_info.methods.get(last)
            if method is not None:
                return self._function(method, class_info, depth)
            return True  # inherited from a class read elsewhere (a test case's assertions)
        return True  # a method of a parameter or of some other object: what it does is not known

    # -- qualified names -----------------------------------------------------------------

    def _qualified(self, qualified: str) -> bool:
        if qualified in NON_RAISING_CALLS:
            return False
        if qualified in self.ctx.table or qualified in KNOWLEDGE.raising_constructors:
            return True
        if qualified.startswith("."):
            return True  # a function of another project module, by a relative import
        raising = _longest_prefix(qualified, KNOWLEDGE.raising_prefixes)
        quiet = _longest_prefix(qualified, KNOWLEDGE.quiet_prefixes)
        if raising or quiet:
            return raising > quiet
        last = qualified.rsplit(".", 1)[-1]
        if last[:1].isupper():
            return False  # a class of a library or another module: building it is not evidence
        return True  # a library function

    # -- bodies of this module -----------------------------------------------------------

    def _function(self, function: cst.FunctionDef, class_info: Optional["ClassInfo"], depth: int) -> bool:
        if isinstance(function.asynchronous, cst.Asynchronous) or any(True for _ in find(function.body, (cst.Yield,))):
            return False  # calling it makes a coroutine or a generator; running it is an await or a loop
        for decorator in function.decorators:
            if (dotted(decorator.decorator) or "") not in _PLAIN_DECORATORS:
                return True  # a wrapper runs instead
        key = id(function)
        if key in self.bodies:
            return self.bodies[key]
        if depth >= _MAX_DEPTH:
            return True
        self.bodies[key] = True  # a recursive call is taken to raise
        if class_info is None:
            class_info = self.ctx.function_class.get(key)
        params = frozenset(_parameters(function))
        self.bodies[key] = self._body_raises(function.body, params, class_info, depth + 1)
        return self.bodies[key]

    def _local_class(self, info: "ClassInfo", depth: int) -> bool:
        for base in info.bases:
            # A base from elsewhere is a class built by a library: not evidence by itself.
            if base in self.ctx.classes and depth < _MAX_DEPTH and self._local_class(self.ctx.classes[base], depth + 1):
                return True
        init = info.methods.get("__init__")
        return init is not None and self._function(init, info, depth)

    def _body_raises(
        self, body: cst.CSTNode, params: FrozenSet[str], class_info: Optional["ClassInfo"], depth: int
    ) -> bool:
        for found, path in find(body, (cst.Raise, cst.Call, cst.Subscript, cst.Assign, cst.For)):
            if isinstance(found, cst.Raise):
                return True
            if isinstance(found, cst.Subscript):
                if _looks_up(found, path) and id(found) not in checked_lookups(self.ctx):
                    return True
                continue
            if isinstance(found, (cst.Assign, cst.For)):
                if _unpacks(found) and not _unpacks_a_pair(self.ctx, found):
                    return True
                continue
            if _listed_quiet(self.ctx, found, params):  # type: ignore[arg-type]
                continue
            if self.call(found, set(), params, class_info, depth):  # type: ignore[arg-type]
                return True
        return False


def _listed_quiet(ctx: "ModuleContext", call: cst.Call, params: FrozenSet[str]) -> bool:
    """Calls the [raising] knowledge takes not to raise (as ``raises.raising_calls`` does). A
    container or string method (``get``, ``update``, ``strip``) is taken as one only on a plain
    name or a literal: ``self.client.get("/headers")`` may be a request. A logging method on a
    parameter is not taken for logging: ``redis_client.info("cluster")`` asks the server."""
    func = call.func
    name = dotted(func) or ""
    qualified = ctx.resolve(func) or ""
    if name in NON_RAISING_CALLS or qualified in NON_RAISING_CALLS or constant_call(call, qualified or name):
        return True
    if isinstance(func, cst.Attribute):
        last = func.attr.value
        if last in ANY_RELEASE_METHODS or last.startswith("close"):
            return True
        if last in LOGGING_METHODS:
            return (dotted(func.value) or "").split(".", 1)[0] not in params
        own_value = isinstance(func.value, (cst.Name, cst.Dict, cst.List, cst.Set, cst.SimpleString))
        return last in NON_RAISING_METHODS and own_value
    return name in LOGGING_METHODS


_LITERALS = (cst.List, cst.Tuple, cst.Dict, cst.Set, cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)


def _looks_up(subscript: cst.Subscript, path) -> bool:
    """A lookup in a value the helper does not build itself (``config[key]``, ``parts[2]``):
    a missing key or a short list is a KeyError or IndexError the caller's data can cause.
    Slices never fail, and a subscript in an annotation (``Dict[str, int]``) is a type."""
    if any(isinstance(ancestor, cst.Annotation) for ancestor in path):
        return False
    if isinstance(subscript.value, _LITERALS):
        return False
    return not all(isinstance(element.slice, cst.Slice) for element in subscript.slice)


def _unpacks(statement) -> bool:
    """Unpacking a value of unknown length (``host, port = address``): a wrong shape is a
    ValueError the caller's data can cause; unpacking a literal tuple cannot fail."""
    if isinstance(statement, cst.For):
        return isinstance(statement.target, (cst.Tuple, cst.List)) and not isinstance(statement.iter, _LITERALS)
    if isinstance(statement.value, (cst.Tuple, cst.List)):
        return False
    return any(isinstance(target.target, (cst.Tuple, cst.List)) for target in statement.targets)


# Arithmetic whose result is a number whatever numbers it is given (``+``, ``*`` and ``%`` also
# join, repeat or format strings, which ``int()`` would then parse).
_NUMERIC_OPERATORS = (cst.Subtract, cst.Divide, cst.FloorDivide, cst.Power)


def _converts_a_number(call: cst.Call, name: str) -> bool:
    """``int((now - then) / 10**9)``: ``int()`` or ``float()`` of a subtraction, division or
    power converts a number; only parsing text fails on the caller's data."""
    if name not in ("int", "float") or len(call.args) != 1 or call.args[0].keyword or call.args[0].star:
        return False
    value = call.args[0].value
    return isinstance(value, cst.BinaryOperation) and isinstance(value.operator, _NUMERIC_OPERATORS)


def _unpacks_a_pair(ctx: "ModuleContext", statement) -> bool:
    """``guess, _ = mimetypes.guess_type(path)``: two names bound to a call that always returns
    a pair (``calls.toml`` [raising] returns_pairs)."""
    if not isinstance(statement, cst.Assign) or len(statement.targets) != 1 or not isinstance(statement.value, cst.Call):
        return False
    target = statement.targets[0].target
    if not isinstance(target, (cst.Tuple, cst.List)) or len(target.elements) != 2:
        return False
    if any(isinstance(element, cst.StarredElement) for element in target.elements):
        return False
    return (ctx.resolve(statement.value.func) or "") in KNOWLEDGE.returns_pairs


def _parameters(function: cst.FunctionDef) -> Set[str]:
    return function_params(function) - {"self", "cls"}


def _longest_prefix(qualified: str, prefixes) -> int:
    best = 0
    for prefix in prefixes:
        if len(prefix) > best and (
            qualified == prefix or qualified.startswith(prefix if prefix.endswith(".") else prefix + ".")
            or (not prefix.endswith(".") and qualified == prefix)
        ):
            best = len(prefix)
    return best


def direct_evidence(ctx: "ModuleContext", node: cst.CSTNode, held_names: Set[str]) -> bool:
    """Whether the evidence that ``node`` can raise is direct: an ``await`` or ``yield``, a
    method of the resource itself or of an object one of its methods returned (a cursor), a
    known acquisition, or a function of the standard
    library's I/O, parsing, network, process or OS modules (``calls.toml`` [raise-evidence]).
    The rest (a method of some other object, a helper whose body is read or not read) is
    taken to raise for want of knowing better; when a statement or a path holds both kinds,
    the message names a call with direct evidence, the likelier cause of the leak. A helper
    of this module whose own body has a ``raise`` is direct evidence too."""
    if not isinstance(node, cst.Call):
        return True
    func = node.func
    if isinstance(func, cst.Attribute) and dotted(func.value) in held_names:
        return True
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and made_from_resource(
        ctx, func.value.value, held_names
    ):
        return True  # ``cursor.execute(sql)`` of ``cursor = connection.cursor()``: the resource's work
    if _own_helper_raises(ctx, func):
        return True  # ``_strict(name)``: a helper of this module with a ``raise`` of its own
    if isinstance(func, cst.Name) and func.value not in ctx.functions and func.value not in ctx.classes and (
        func.value not in ctx.imports.aliases and func.value not in _BUILTIN_NAMES
        and not func.value.lstrip("_")[:1].isupper()  # a class under a local name builds an object
    ):
        return True  # ``handler_class(path)``: a callable bound from data, what runs is not known
    qualified = ctx.resolve(func) or ""
    if not qualified:
        return False
    if qualified in ("getattr", "builtins.getattr"):
        return False  # a missing attribute is most often a programming error
    if qualified in ctx.table or qualified in KNOWLEDGE.raising_constructors:
        return True
    if qualified in KNOWLEDGE.raising_builtins or (qualified.startswith("builtins.") and qualified[9:] in KNOWLEDGE.raising_builtins):
        return True
    raising = _longest_prefix(qualified, KNOWLEDGE.raising_prefixes)
    return raising > _longest_prefix(qualified, KNOWLEDGE.quiet_prefixes)


def _own_helper_raises(ctx: "ModuleContext", func: cst.BaseExpression) -> bool:
    function = None
    if isinstance(func, cst.Name):
        function = ctx.functions.get(func.value)
    elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self":
        info = ctx.scope.class_info if ctx.scope is not None else None
        function = info.methods.get(func.attr.value) if info is not None else None
    return function is not None and any(True for _ in find(function.body, (cst.Raise,)))

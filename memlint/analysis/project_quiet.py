"""Classes of other project modules whose construction cannot raise, for the project index.

MEM003 asks which calls between acquiring and releasing a resource can raise. A class of
the project built there (``parser = HttpParser(RESPONSE)``, ``ColorFormatter(fmt)``) is
such a call; when its ``__init__`` only stores what it is given, it is no exception path.
This module judges that from the class's ``ast`` alone:

- every base is ``object``, a call the knowledge data says cannot raise (``calls.toml``
  [raising], e.g. ``logging.Formatter``), or a project class judged the same way;
- no ``__new__``, ``__post_init__``, metaclass keyword or class decorator (they run code we
  do not read);
- ``__init__``, if any, holds only assignments, ``if`` blocks, ``assert`` and docstrings
  whose expressions call nothing but the base's ``__init__``, calls that cannot raise,
  methods of the plain values it made (``kwargs.setdefault``) and quiet project classes.

The same-module judge (libcst) is ``memlint.analysis.quiet_classes``.
"""

from __future__ import annotations

import ast
import re
from typing import Any, Callable, FrozenSet, Iterator, Optional, Set, Tuple, Union

from memlint.analysis.ast_scopes import walk
from memlint.analysis.constant_calls import BROAD_EXCEPTIONS, SUPPRESSORS, constant_name
from memlint.analysis.project_scan import is_word
from memlint.analysis.resources import (
    LOGGING_METHODS,
    NON_RAISING_CALLS,
    NON_RAISING_METHODS,
    NON_RAISING_WITH_CONSTANTS,
    NON_RAISING_WITH_SEVERAL,
    NON_RAISING_WITH_A_DEFAULT,
)

# Appended to a class's name for the fact "constructing it cannot raise" (summary "quiet").
QUIET_MARK = "#quiet"
# Where a base or a called class lives: (its module's ``qualify``, the class node), True when
# it is already known to be quiet, or None.
ClassLookup = Callable[[str], Union[None, bool, Tuple[Callable[[ast.AST], Optional[str]], ast.AST]]]
# How deep a chain of project bases and called classes is followed.
_MAX_DEPTH = 4
_SKIPPED_METHODS = frozenset({"__new__", "__post_init__"})


def project_class_is_quiet(load: Callable[[str], Any], module: str, name: str) -> bool:
    """Whether ``name`` of the project module ``module`` is a class (also one its package
    re-exports) whose construction cannot raise. ``load`` gives a summarised module of the
    index (with ``classes``, ``aliases`` and ``qualify``) by name, or None."""
    found = _project_class(load, module, f"{module}.{name}")
    return isinstance(found, tuple) and constructor_cannot_raise(lambda qualified: _project_class(load, module, qualified), *found)


def _project_class(load: Callable[[str], Any], module: str, qualified: str) -> Optional[Tuple[Any, ast.AST]]:
    """A class of ``module``'s project by its absolute name, following re-exports: its
    module's namer and node."""
    for _hop in range(3):
        owner, _, name = qualified.rpartition(".")
        loaded = load(owner) if owner.split(".", 1)[0] == module.split(".", 1)[0] else None
        if loaded is None or name in loaded.classes or name not in loaded.aliases:
            return (loaded.qualify, loaded.classes[name]) if loaded is not None and name in loaded.classes else None
        qualified = loaded.aliases[name]
    return None


def constructor_cannot_raise(
    lookup: ClassLookup,
    qualify: Callable[[ast.AST], Optional[str]],
    node: ast.AST,
    depth: int = 0,
    arguments: Optional["CallConstants"] = None,
) -> bool:
    """Whether building an instance of the class ``node`` (whose module names things
    through ``qualify``) cannot realistically raise; with the ``arguments`` of one call, an
    ``if`` its ``__init__`` tests on a parameter that call makes false runs only its ``else``
    (``LogFormatter(color=False)`` never reaches the ``if color and ...:`` branch)."""
    if not isinstance(node, ast.ClassDef) or depth > _MAX_DEPTH or node.decorator_list or node.keywords:
        return False
    methods = {item.name: item for item in node.body if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))}
    if _SKIPPED_METHODS & set(methods):
        return False
    base_names: Set[str] = set()
    for base in node.bases:
        written = dotted_name(base)
        if written is None or not _quiet_class_name(lookup, qualify, written, depth):
            return False
        base_names.add(written)
    init = methods.get("__init__")
    if init is None:
        return True
    if not isinstance(init, ast.FunctionDef) or init.decorator_list:
        return False
    judge = _InitJudge(lookup, qualify, base_names, init, depth)
    judge.false_names = _false_parameters(init, arguments) if arguments is not None else frozenset()
    return judge.block(init.body)


# One call's arguments as far as they are constants: the truth of each positional argument and
# of each keyword argument (None: not a constant), and whether it unpacks ``*args``/``**kwargs``.
CallConstants = Tuple[list, dict, bool]


def _false_parameters(init: ast.FunctionDef, arguments: CallConstants) -> FrozenSet[str]:
    """The parameters of ``__init__`` that the call binds to a false constant, given or left
    to a false default (``color=False``; ``fg=None`` not passed)."""
    positional, keywords, unpacks = arguments
    if unpacks:
        return frozenset()
    params = (init.args.posonlyargs + init.args.args)[1:]
    defaults = dict(zip(reversed([p.arg for p in params]), reversed(init.args.defaults)))
    defaults.update({p.arg: d for p, d in zip(init.args.kwonlyargs, init.args.kw_defaults) if d is not None})
    false = set()
    for index, param in enumerate(params + init.args.kwonlyargs):
        name = param.arg
        if index < len(params) and index < len(positional):
            truth = positional[index]
        elif name in keywords:
            truth = keywords[name]
        else:
            default = defaults.get(name)
            truth = bool(default.value) if isinstance(default, ast.Constant) else None
        if truth is False:
            false.add(name)
    return frozenset(false)


def _decided_false(test: ast.AST, false_names: FrozenSet[str]) -> bool:
    """``color`` or ``color and other()`` where ``color`` is false for this call."""
    if isinstance(test, ast.Name):
        return test.id in false_names
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return any(_decided_false(value, false_names) for value in test.values)
    return False


def _quiet_class_name(lookup: ClassLookup, qualify: Callable[[ast.AST], Optional[str]], written: str, depth: int) -> bool:
    if written == "object":
        return True
    qualified = qualify(ast.parse(written, mode="eval").body) or written
    if qualified in NON_RAISING_CALLS or written in NON_RAISING_CALLS:
        return True
    return _judged(lookup, qualified, depth)


def _judged(lookup: ClassLookup, qualified: str, depth: int) -> bool:
    found = lookup(qualified)
    if isinstance(found, tuple):
        return constructor_cannot_raise(lookup, found[0], found[1], depth + 1)
    return found is True


class _InitJudge:
    def __init__(self, lookup: ClassLookup, qualify: Callable[[ast.AST], Optional[str]], bases: Set[str], init: ast.FunctionDef, depth: int) -> None:
        self.lookup = lookup
        self.qualify = qualify
        self.bases = bases
        self.init = init
        self._local: Optional[Set[str]] = None
        self.depth = depth
        self.false_names: FrozenSet[str] = frozenset()

    @property
    def local(self) -> Set[str]:
        """The ``**kwargs`` parameter and the names ``__init__`` assigns: read on the first
        statement that needs them (most ``__init__``s fail the judge before)."""
        if self._local is None:
            init = self.init
            self._local = {arg.arg for arg in ([init.args.kwarg] if init.args.kwarg else [])}
            self._local |= {t.id for n in walk(init) if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
        return self._local

    def block(self, statements: list) -> bool:
        for statement in statements:
            if isinstance(statement, ast.If) and _decided_false(statement.test, self.false_names):
                if not self.block(statement.orelse):
                    return False  # the call's constant argument skips the body (and its test's rest)
            elif isinstance(statement, ast.If):
                if not (self.quiet(statement.test) and self.block(statement.body) and self.block(statement.orelse)):
                    return False
            elif isinstance(statement, (ast.Pass, ast.Assert)):
                continue
            elif isinstance(statement, ast.Expr):
                if not (isinstance(statement.value, ast.Constant) or self.quiet(statement.value)):
                    return False
            elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                if not all(self.target(t) for t in targets):
                    return False
                if statement.value is not None and not self.quiet(statement.value):
                    return False
            elif isinstance(statement, ast.Return) and statement.value is None:
                continue
            else:
                return False
        return True

    def target(self, node: ast.AST) -> bool:
        """``self.x``, a local name, or an item of a plain value made here (``kwargs[k]``)."""
        if isinstance(node, (ast.Name, ast.Attribute)):
            return isinstance(node, ast.Name) or self.quiet(node.value)
        if isinstance(node, ast.Subscript):
            return isinstance(node.value, ast.Name) and node.value.id in self.local and self.quiet(node.slice)
        if isinstance(node, (ast.Tuple, ast.List)):
            return all(self.target(item) for item in node.elts)
        return False

    def quiet(self, node: ast.AST) -> bool:
        for found in evaluated_nodes(node):
            if isinstance(found, (ast.Subscript, ast.Await, ast.Yield, ast.YieldFrom)):
                return False
            if isinstance(found, ast.Call) and not self.quiet_call(found):
                return False
        return True

    def quiet_call(self, call: ast.Call) -> bool:
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr == "__init__":
            # ``super().__init__(...)`` or ``Base.__init__(self, ...)``: the bases are judged.
            receiver = func.value
            if isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Name) and receiver.func.id == "super":
                return True
            return dotted_name(receiver) in self.bases
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in self.local:
            return func.attr in NON_RAISING_METHODS
        written = dotted_name(func)
        if written is None:
            return False
        if written in NON_RAISING_CALLS or (self.qualify(func) or "") in NON_RAISING_CALLS:
            return True
        return _judged(self.lookup, self.qualify(func) or written, self.depth)


def evaluated_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """The nodes of ``node`` that run when it is evaluated: as ``walk``, but of a ``lambda``
    only its default values. Making a function object runs nothing of its body
    (``dispose_func=lambda p: p.close()`` stores a function; it does not close anything)."""
    todo = [node]
    while todo:
        found = todo.pop()
        if isinstance(found, ast.Lambda):
            todo.extend(found.args.defaults)
            todo.extend(default for default in found.args.kw_defaults if default is not None)
            continue
        todo.extend(ast.iter_child_nodes(found))
        yield found


def dotted_name(node: ast.AST) -> Optional[str]:
    """``a.b.c`` for a chain of attributes on a name (an ``ast`` node), else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.insert(0, node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id] + parts)


# -- functions of the project that cannot raise ---------------------------------------------

# How deep a chain of project functions calling project functions is followed.
_MAX_CALL_DEPTH = 3
_BAD_DIVISORS = (ast.Div, ast.FloorDiv, ast.Mod)
_INDENTED_DEF = re.compile(r"^[ \t]+def[ \t]+(\w+)", re.M)


def project_callable_is_quiet(load: Callable[[str], Any], module: str, name: str) -> bool:
    """Whether calling ``name`` of the project module ``module`` cannot raise: a class whose
    construction cannot (``project_class_is_quiet``) or a function whose body cannot."""
    return project_class_is_quiet(load, module, name) or _callable_is_quiet(load, module, f"{module}.{name}", 0)


def _callable_is_quiet(load: Callable[[str], Any], project: str, qualified: str, depth: int) -> bool:
    """``qualified`` (absolute) is a function (every definition of it, as in ``if HAVE_SSL:
    def f(): ... else: def f(): ...``) or a class of the project that cannot raise."""
    if depth > _MAX_CALL_DEPTH:
        return False
    for _hop in range(3):
        owner, _, name = qualified.rpartition(".")
        loaded = load(owner) if owner.split(".", 1)[0] == project.split(".", 1)[0] else None
        if loaded is None:
            return False
        if name in loaded.aliases and name not in loaded.kinds:
            qualified = loaded.aliases[name]
            continue
        if name in loaded.classes:
            found = _project_class(load, project, qualified)
            return isinstance(found, tuple) and constructor_cannot_raise(
                lambda other: _project_class(load, project, other), *found
            )
        verdicts: dict = vars(loaded).setdefault("quiet_function_verdicts", {})
        if name not in verdicts:
            verdicts[name] = False  # a recursive call is taken to raise
            definitions = _function_definitions(loaded, name)
            verdicts[name] = bool(definitions) and all(
                _FunctionJudge(load, project, loaded, node, depth).judge() for node in definitions
            )
        return verdicts[name]
    return False


def _function_definitions(loaded: Any, name: str) -> list:
    """The module-level definitions of the function ``name``: the top-level one, or those in
    the branches of a module-level ``if``/``try`` (read from the whole module, once)."""
    if name in loaded.functions:
        return [loaded.functions[name]]
    if name in loaded.kinds or not _indented_def(loaded, name):
        return []
    nested: dict = vars(loaded).get("quiet_nested_functions")  # type: ignore[assignment]
    if nested is None:
        nested = vars(loaded)["quiet_nested_functions"] = {}
        try:
            body = ast.parse(loaded.text).body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            body = []
        for statement in body:
            if isinstance(statement, (ast.If, ast.Try)):
                for node in walk(statement):
                    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        nested.setdefault(node.name, []).append(node)
    return nested.get(name, [])


def _indented_def(loaded: Any, name: str) -> bool:
    """A line of the module's text is ``def name`` below column 0."""
    if not is_word(name):
        return re.search(r"^[ \t]+def[ \t]+%s\b" % re.escape(name), loaded.text, re.M) is not None
    # A pattern per name overflowed ``re``'s cache; the defined names, read once, answer all.
    found: FrozenSet[str] = vars(loaded).get("quiet_indented_defs")  # type: ignore[assignment]
    if found is None:
        found = vars(loaded)["quiet_indented_defs"] = frozenset(_INDENTED_DEF.findall(loaded.text))
    return name in found


def _module_table(loaded: Any, name: str) -> bool:
    """``name`` is bound at the module's top level to a dict, list or tuple display: a fixed
    table (``_ANSI_COLORS = {...}``), whose lookup fails only on a programming error."""
    return re.search(r"^%s[ \t]*(?::[^=\n]*)?=[ \t]*[\[{(]" % re.escape(name), loaded.text, re.M) is not None


def _module_value(loaded: Any, name: str) -> bool:
    """``name`` is bound by an assignment at the module's top level (``TIMEOUT = ContextVar(...)``)."""
    return re.search(r"^%s[ \t]*(?::[^=\n]*)?=[^=]" % re.escape(name), loaded.text, re.M) is not None


class _FunctionJudge:
    """Whether a project function only computes a value: assignments to its own names,
    ``if``/``else``, returns, f-strings and formatting, arithmetic without a division by a
    value, lookups in a module's fixed tables, and calls that cannot raise (the knowledge
    data's, methods such as ``get`` of its own values and module globals, and other quiet
    functions and classes of the project, a few calls deep)."""

    def __init__(self, load: Callable[[str], Any], project: str, loaded: Any, node: ast.AST, depth: int) -> None:
        self.load = load
        self.project = project
        self.loaded = loaded
        self.node = node
        self.depth = depth
        self._local: Optional[Set[str]] = None

    def judge(self) -> bool:
        node = self.node
        if not isinstance(node, ast.FunctionDef) or node.decorator_list:
            return False
        return self.block(node.body)

    @property
    def local(self) -> Set[str]:
        """The names the function assigns: read on the first statement that needs them
        (most functions fail the judge before)."""
        if self._local is None:
            self._local = {t.id for n in walk(self.node) if isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign))
                           for t in (n.targets if isinstance(n, ast.Assign) else [n.target]) if isinstance(t, ast.Name)}
        return self._local

    def block(self, statements: list) -> bool:
        for statement in statements:
            if isinstance(statement, ast.If):
                if not (self.quiet(statement.test) and self.block(statement.body) and self.block(statement.orelse)):
                    return False
            elif isinstance(statement, ast.Pass) or swallows_every_exception(statement):
                continue  # ``with contextlib.suppress(Exception): sock.setsockopt(...)``
            elif isinstance(statement, ast.Expr):
                if not (isinstance(statement.value, ast.Constant) or self.quiet(statement.value)):
                    return False
            elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                if not all(isinstance(t, ast.Name) for t in targets):
                    return False
                if statement.value is not None and not self.quiet(statement.value):
                    return False
            elif isinstance(statement, ast.Return):
                if statement.value is not None and not self.quiet(statement.value):
                    return False
            else:
                return False
        return True

    def quiet(self, node: ast.AST) -> bool:
        for found in evaluated_nodes(node):
            if isinstance(found, (ast.Await, ast.Yield, ast.YieldFrom, ast.Starred)):
                return False
            if isinstance(found, ast.Subscript) and not (
                isinstance(found.value, ast.Name) and found.value.id not in self.local and _module_table(self.loaded, found.value.id)
            ):
                return False
            if isinstance(found, ast.BinOp) and isinstance(found.op, _BAD_DIVISORS) and not _safe_division(found):
                return False
            if isinstance(found, ast.Call) and not self.quiet_call(found):
                return False
        return True

    def quiet_call(self, call: ast.Call) -> bool:
        func = call.func
        if any(keyword.arg is None for keyword in call.keywords):
            return False
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            receiver = func.value.id
            if func.attr in LOGGING_METHODS and receiver not in self.loaded.aliases:
                return True
            if func.attr in NON_RAISING_METHODS and (
                receiver in self.local or (receiver not in self.loaded.aliases and _module_value(self.loaded, receiver))
            ):
                return True  # ``TIMEOUT.get(None)`` of a module global, ``parts.append(x)``
        written = dotted_name(func)
        if written is None:
            return False
        qualified = self.loaded.qualify(func) or written
        if written in NON_RAISING_CALLS or qualified in NON_RAISING_CALLS:
            return True
        if qualified in NON_RAISING_WITH_SEVERAL and len(call.args) >= 2 and not call.keywords:
            return True  # ``min(timeout, max_timeout)``
        if qualified in NON_RAISING_WITH_A_DEFAULT and len(call.args) == 3 and not call.keywords:
            return True  # ``getattr(settings, "TIMEOUT", None)``
        if qualified in NON_RAISING_WITH_CONSTANTS and all(_constant(arg) for arg in call.args) and all(
            _constant(keyword.value) for keyword in call.keywords
        ):
            return True
        return _callable_is_quiet(self.load, self.project, qualified, self.depth + 1)


def swallows_every_exception(statement: ast.AST) -> bool:
    """``with contextlib.suppress(Exception): ...`` or ``try: ... except Exception: pass``
    (no ``else``/``finally``, handlers that call and raise nothing): whatever the block does,
    no failure leaves the statement (a ``return`` inside it only ends the function early)."""
    if isinstance(statement, ast.With):
        return bool(statement.items) and all(_broad_suppressor(item.context_expr) for item in statement.items)
    if not isinstance(statement, ast.Try) or statement.orelse or statement.finalbody:
        return False
    if not any(handler.type is None or _broad_name(handler.type) for handler in statement.handlers):
        return False
    return not any(isinstance(node, (ast.Raise, ast.Call, ast.Await, ast.Yield, ast.YieldFrom))
                   for handler in statement.handlers for node in ast.walk(handler))


def _broad_suppressor(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and dotted_name(node.func) in SUPPRESSORS
        and any(_broad_name(arg) for arg in node.args)
    )


def _broad_name(node: ast.AST) -> bool:
    if isinstance(node, ast.Tuple):
        return any(_broad_name(element) for element in node.elts)
    return (dotted_name(node) or "").rsplit(".", 1)[-1] in BROAD_EXCEPTIONS


def _safe_division(node: ast.BinOp) -> bool:
    """``x / 2`` or ``"%s" % x``: no division by a value that may be zero."""
    if isinstance(node.op, ast.Mod) and isinstance(node.left, (ast.Constant, ast.JoinedStr)):
        return isinstance(node.left, ast.JoinedStr) or isinstance(node.left.value, str)
    return isinstance(node.right, ast.Constant) and isinstance(node.right.value, (int, float)) and bool(node.right.value)


def _constant(node: ast.AST) -> bool:
    """A literal, a builtin type, or a module constant written in capitals (``IFF_FMT``)."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp):
        return _constant(node.operand)
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_constant(item) for item in node.elts)
    if isinstance(node, (ast.Name, ast.Attribute)):
        return constant_name(node.id if isinstance(node, ast.Name) else node.attr)
    return False

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
from typing import Any, Callable, Optional, Set, Tuple, Union

from memlint.analysis.resources import NON_RAISING_CALLS, NON_RAISING_METHODS

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
    lookup: ClassLookup, qualify: Callable[[ast.AST], Optional[str]], node: ast.AST, depth: int = 0
) -> bool:
    """Whether building an instance of the class ``node`` (whose module names things
    through ``qualify``) cannot realistically raise."""
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
    local = {arg.arg for arg in ([init.args.kwarg] if init.args.kwarg else [])}
    local |= {t.id for n in ast.walk(init) if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    judge = _InitJudge(lookup, qualify, base_names, local, depth)
    return judge.block(init.body)


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
    def __init__(self, lookup: ClassLookup, qualify: Callable[[ast.AST], Optional[str]], bases: Set[str], local: Set[str], depth: int) -> None:
        self.lookup = lookup
        self.qualify = qualify
        self.bases = bases
        self.local = local
        self.depth = depth

    def block(self, statements: list) -> bool:
        for statement in statements:
            if isinstance(statement, ast.If):
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
        for found in ast.walk(node):
            if isinstance(found, (ast.Subscript, ast.Await, ast.Yield, ast.YieldFrom, ast.Lambda)):
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


def dotted_name(node: ast.AST) -> Optional[str]:
    """``a.b.c`` for a chain of attributes on a name (an ``ast`` node), else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.insert(0, node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id] + parts)

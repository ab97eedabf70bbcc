"""Fixes for the memory-growth rules: a bound for an unbounded cache (MEM051), a guard around
a logging handler added on every call (MEM053). MEM052 has none (rules/MEM052.md says why).

Unlike the ``with`` rewrites of ``builders``, these change a node in place or put one
statement under an ``if``, so they carry their own text edits: ``GrowthRewrite.text_fix``
is what the engine calls once it knows positions (the builders still never compute any).

- ``bounded_cache_rewrite``: ``@functools.cache`` / ``@lru_cache(maxsize=None)`` on a function
  becomes ``lru_cache(maxsize=1024)``. Always unsafe: entries past the bound are evicted and
  recomputed, which a function with side effects or a caller relying on identity can see.
- ``handler_guard_rewrite``: ``logger.addHandler(logging.StreamHandler())`` becomes

      if getattr(logger, "_mod_get_logger_handler", None) not in logger.handlers:
          logger.addHandler(logging.StreamHandler())
          logger._mod_get_logger_handler = logger.handlers[-1]

  The guard asks "is the handler this very statement added still on this logger?": the
  first call on each logger adds it exactly as before, a later call adds nothing while it is
  still there, and a call after something removed it adds it again, as before. Safe only
  when the handler is a standard ``logging`` handler built in the same statement from values
  that do not depend on the call (a later call could only have added the same handler again)
  on a logger of the registry (``logging.getLogger``); unsafe when it is built from the
  call's values or by another function; no fix when it was built before the statement (the
  guard would leave it made and unused).
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import PurePath
from typing import Dict, List, Mapping, Optional, Set, Tuple

import libcst as cst

from memlint.analysis.names import dotted
from memlint.analysis.walk import find
from memlint.diagnostics import Edit, Fix
from memlint.fixes.text import source_lines

# The bound an unbounded cache gets. Larger than the small key domains most unbounded caches
# turn out to have on real code (types, names, flags: those then never evict, so nothing
# changes for them), small enough that a cache of per-request keys stops growing.
CACHE_BOUND = 1024

# The handler classes of the standard library: built in the statement, nothing else happens.
_STANDARD_HANDLER_MODULES = ("logging", "logging.handlers")
_GET_LOGGER = "logging.getLogger"


@dataclass(frozen=True)
class GrowthRewrite:
    """Replace nodes by text (``replacements``), or put ``statement`` under ``guard`` with
    ``after`` as the last line of the guarded block."""

    message: str
    safe: bool
    replacements: Tuple[Tuple[cst.CSTNode, str], ...] = ()
    statement: Optional[cst.CSTNode] = None
    guard: str = ""
    after: str = ""
    indent_step: str = "    "

    def text_fix(self, positions: Mapping[cst.CSTNode, object], module: cst.Module, source: str) -> Optional[Fix]:
        """The text edits of this rewrite, or None when the text around it is not plain enough."""
        try:
            edits = [_replace_edit(positions, node, text) for node, text in self.replacements]
            if self.statement is not None:
                edits.append(self._guard_edit(positions, module, source))
        except (KeyError, _Unplaceable, tokenize.TokenError, IndentationError, SyntaxError):
            return None
        return Fix(self.message, self.safe, tuple(edits)) if edits else None

    def _guard_edit(self, positions: Mapping[cst.CSTNode, object], module: cst.Module, source: str) -> Edit:
        start, column, end, _ = _span(positions, self.statement)  # type: ignore[arg-type]
        lines = source_lines(source)
        first = lines[start - 1]
        indent = first[:column]
        if indent.strip():
            raise _Unplaceable("the statement shares its line")
        body = lines[start - 1 : end]
        if _has_multiline_string("".join(body)):
            raise _Unplaceable("indenting would change a string")
        newline = module.default_newline
        step = "\t" if "\t" in indent else self.indent_step
        last = body[-1].rstrip("\r\n")
        stripped = [line.rstrip("\r\n") for line in body]
        new_lines = [indent + self.guard]
        new_lines.extend(step + line if line.strip() else line for line in stripped)
        new_lines.append(indent + step + self.after)
        return Edit(start, 1, end, len(last) + 1, newline.join(new_lines))


class _Unplaceable(Exception):
    """The text around the rewrite is not in a shape a line edit can keep."""


def _span(positions: Mapping[cst.CSTNode, object], node: cst.CSTNode) -> Tuple[int, int, int, int]:
    code_range = positions[node]
    start, end = code_range.start, code_range.end  # type: ignore[attr-defined]
    return start.line, start.column, end.line, end.column


def _replace_edit(positions: Mapping[cst.CSTNode, object], node: cst.CSTNode, text: str) -> Edit:
    start, column, end, end_column = _span(positions, node)
    return Edit(start, column + 1, end, end_column + 1, text)


def _has_multiline_string(text: str) -> bool:
    for token in tokenize.generate_tokens(io.StringIO(text.lstrip()).readline):
        if token.type == tokenize.STRING and token.end[0] > token.start[0]:
            return True
        if getattr(tokenize, "FSTRING_START", None) == token.type and token.string[-3:] in ('"""', "'''"):
            return True
    return False


class ModuleNames:
    """What the top-level imports and assignments of a module bind, by dotted origin."""

    def __init__(self, module: cst.Module) -> None:
        self.imported: Dict[str, str] = {}  # local name -> dotted origin
        self.assigned: Dict[str, cst.BaseExpression] = {}  # module-level name -> its value
        for statement in module.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                self._record(small)

    def _record(self, small: cst.BaseSmallStatement) -> None:
        if isinstance(small, cst.Import):
            for alias in small.names:
                name = dotted(alias.name) or ""
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    self.imported[alias.asname.name.value] = name
                else:
                    self.imported[name.split(".", 1)[0]] = name.split(".", 1)[0]
        elif isinstance(small, cst.ImportFrom) and small.relative == () and not isinstance(small.names, cst.ImportStar):
            origin = dotted(small.module) if small.module is not None else None
            for alias in small.names if origin else ():
                local = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else alias.name.value  # type: ignore[union-attr]
                self.imported[local] = f"{origin}.{alias.name.value}"  # type: ignore[union-attr]
        elif isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
            self.assigned[small.targets[0].target.value] = small.value

    def resolve(self, expr: cst.BaseExpression) -> str:
        """``logging.getLogger`` for ``logging.getLogger`` / ``getLogger`` / ``lg.getLogger``."""
        name = dotted(expr)
        if name is None:
            return ""
        head, _, rest = name.partition(".")
        origin = self.imported.get(head)
        if origin is None:
            return ""
        return f"{origin}.{rest}" if rest else origin

    def local_name_for(self, origin: str) -> Optional[str]:
        """How the module can name ``origin`` (``functools.lru_cache``): an imported name or
        an attribute of an imported module; None when it cannot without a new import."""
        module, _, attr = origin.rpartition(".")
        for local, imported in sorted(self.imported.items()):
            if imported == origin:
                return local
        for local, imported in sorted(self.imported.items()):
            if imported == module:
                return f"{local}.{attr}"
        return None


# -- MEM051 ------------------------------------------------------------------------------


def bounded_cache_rewrite(module: cst.Module, decorator: cst.Decorator, names: ModuleNames) -> Optional[GrowthRewrite]:
    """``maxsize=None`` -> ``maxsize=1024``; ``@cache`` -> ``@lru_cache(maxsize=1024)``. Unsafe."""
    expr = decorator.decorator
    message = f"bound the cache to {CACHE_BOUND} entries (least recently used ones are dropped and recomputed)"
    if isinstance(expr, cst.Call):
        for index, arg in enumerate(expr.args):
            keyword = arg.keyword.value if arg.keyword is not None else None
            if keyword == "maxsize" or (keyword is None and index == 0):
                if isinstance(arg.value, cst.Name) and arg.value.value == "None":
                    return GrowthRewrite(message, False, replacements=((arg.value, str(CACHE_BOUND)),))
                return None
        return None
    if names.resolve(expr) != "functools.cache":
        return None
    lru = names.local_name_for("functools.lru_cache")
    if lru is None:
        return None
    return GrowthRewrite(message, False, replacements=((expr, f"{lru}(maxsize={CACHE_BOUND})"),))


# -- MEM053 ------------------------------------------------------------------------------


def handler_guard_rewrite(
    module: cst.Module, call: cst.Call, names: ModuleNames, file_path: str, statements: "AddHandlerStatements"
) -> Optional[GrowthRewrite]:
    """``logger.addHandler(<handler built here>)`` under a guard that lets it run once per logger."""
    found = statements.of(call)
    if found is None or len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
        return None
    statement, function, klass, ordinal = found
    if not isinstance(call.func, cst.Attribute):
        return None
    receiver = call.func.value
    handler = call.args[0].value
    if not isinstance(handler, cst.Call) or not _repeatable(receiver, names):
        return None  # a handler made before the statement would be left made and unused
    receiver_text = " ".join(module.code_for_node(receiver).split())
    attribute = _marker_attribute(file_path, klass, function, ordinal)
    guard = f'if getattr({receiver_text}, "{attribute}", None) not in {receiver_text}.handlers:'
    after = f"{receiver_text}.{attribute} = {receiver_text}.handlers[-1]"
    own = _own_names(function)
    standard = names.resolve(handler.func).rpartition(".")[0] in _STANDARD_HANDLER_MODULES
    safe = standard and _registry_logger(receiver, names, function) and not _depends_on(handler, own)
    if safe:
        message = "add the handler once per logger: skip the statement while the handler it added is still there"
    else:
        message = (
            "add the handler once per logger (unsafe: a later call would have added a handler "
            "built from other values, or by code that may do more than build it)"
        )
    return GrowthRewrite(message, safe, statement=statement, guard=guard, after=after, indent_step=module.default_indent)


class AddHandlerStatements:
    """Every ``x.addHandler(...)`` that is a statement of its own in a function: its
    statement, function, enclosing class and ordinal among the function's additions."""

    def __init__(self, module: cst.Module) -> None:
        self._by_call: Dict[int, Tuple[cst.CSTNode, cst.FunctionDef, Optional[cst.ClassDef], int]] = {}
        counts: Dict[int, int] = {}
        for node, path in find(module, (cst.Call,), stop=()):
            call = node
            if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value == "addHandler"):
                continue
            functions = [i for i, n in enumerate(path) if isinstance(n, cst.FunctionDef)]
            if not functions:
                continue
            function = path[functions[-1]]
            klass = path[functions[-1] - 2] if functions[-1] >= 2 and isinstance(path[functions[-1] - 2], cst.ClassDef) else None
            counts[id(function)] = counts.get(id(function), 0) + 1
            # ... -> IndentedBlock -> SimpleStatementLine -> Expr -> the call
            if (
                len(path) >= 3
                and isinstance(path[-1], cst.Expr)
                and isinstance(path[-2], cst.SimpleStatementLine)
                and len(path[-2].body) == 1
                and isinstance(path[-3], cst.IndentedBlock)
            ):
                self._by_call[id(call)] = (path[-2], function, klass, counts[id(function)])  # type: ignore[assignment]

    def of(self, call: cst.Call) -> Optional[Tuple[cst.CSTNode, cst.FunctionDef, Optional[cst.ClassDef], int]]:
        return self._by_call.get(id(call))


def _marker_attribute(file_path: str, klass: Optional[cst.ClassDef], function: cst.FunctionDef, ordinal: int) -> str:
    """An attribute name for this statement's handler: module, class, function and ordinal,
    so that two statements never share one (no leading ``__``: no name mangling)."""
    parts = [PurePath(file_path).stem if file_path not in ("", "-", "<stdin>") else ""]
    parts += [klass.name.value if klass is not None else "", function.name.value]
    cleaned = [re.sub(r"\W", "_", part).strip("_") for part in parts]
    name = "_" + "_".join(part for part in cleaned if part) + "_handler"
    return name if ordinal == 1 else f"{name}_{ordinal}"


def _repeatable(receiver: cst.BaseExpression, names: ModuleNames) -> bool:
    """Evaluating the receiver again gives the same logger: a name or attribute chain, or
    ``logging.getLogger`` of literals and names."""
    if dotted(receiver) is not None:
        return True
    if isinstance(receiver, cst.Call) and names.resolve(receiver.func) == _GET_LOGGER:
        return all(_plain_value(arg.value) and not arg.star for arg in receiver.args)
    return False


def _plain_value(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, (cst.SimpleString, cst.Integer)) or dotted(expr) is not None


def _registry_logger(receiver: cst.BaseExpression, names: ModuleNames, function: cst.FunctionDef) -> bool:
    """The receiver is known to be a logger of ``logging``'s registry (it has ``handlers``)."""
    if isinstance(receiver, cst.Call):
        return names.resolve(receiver.func) == _GET_LOGGER
    if not isinstance(receiver, cst.Name):
        return False
    values = [
        node.value  # type: ignore[attr-defined]
        for node, _ in find(function.body, (cst.Assign,))
        if any(isinstance(t.target, cst.Name) and t.target.value == receiver.value for t in node.targets)  # type: ignore[attr-defined]
    ]
    if not values and receiver.value in names.assigned:
        values = [names.assigned[receiver.value]]
    return bool(values) and all(isinstance(v, cst.Call) and names.resolve(v.func) == _GET_LOGGER for v in values)


def _own_names(function: cst.FunctionDef) -> Set[str]:
    """The parameters and local names of ``function``: values that can differ from call to call."""
    params = function.params
    every = list(params.posonly_params) + list(params.params) + list(params.kwonly_params)
    every += [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
    own = {p.name.value for p in every}
    for node, _ in find(function.body, (cst.Assign, cst.AnnAssign, cst.AugAssign, cst.For, cst.With, cst.NamedExpr)):
        targets: List[cst.CSTNode] = []
        if isinstance(node, cst.Assign):
            targets = [t.target for t in node.targets]
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign, cst.For, cst.NamedExpr)):
            targets = [node.target]
        elif isinstance(node, cst.With):
            targets = [item.asname.name for item in node.items if item.asname is not None]
        for target in targets:
            own.update(n.value for n, _ in find(target, (cst.Name,), stop=()))  # type: ignore[attr-defined]
    return own


def _depends_on(handler: cst.Call, own: Set[str]) -> bool:
    """The handler is built from the call's values (a parameter, a local) or from another call."""
    for arg in handler.args:
        if find(arg.value, (cst.Call, cst.Lambda), stop=()):
            return True
        if any(n.value in own for n, _ in find(arg.value, (cst.Name,), stop=())):  # type: ignore[attr-defined]
            return True
    return False

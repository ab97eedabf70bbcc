"""Functions of the module that cannot raise: MEM003's raise model for module-local calls.

Two shapes, read from the function's own body (functions of other modules stay unknown):
- its work all sits in a ``try`` with a handler for every ``Exception`` (bare ``except:``,
  ``except Exception``, ``except BaseException``) that does not raise again, or in a ``with
  contextlib.suppress(Exception)`` block, around which
  only plain values are computed and returned: every failure comes back as a value
  (``_ioctl_GWINSZ(fd)`` returns None);
- it only builds plain values: assignments, ``if``/``else`` and returns whose calls are all
  taken not to raise (``headers.update({...})`` on a local dict, ``platform.system()``, setting
  an option such as ``sock.setsockopt(*opt)``, another function of this module of these shapes), as a method that assembles request headers from
  the object's settings or picks the editor command from the environment.
A call of either is no exception path.
"""

from __future__ import annotations

from typing import AbstractSet, Any, Dict, FrozenSet, Mapping, Optional, Sequence, Set

import libcst as cst

from memlint.analysis.constant_calls import BROAD_EXCEPTIONS, SUPPRESSORS, constant_name
from memlint.analysis.names import block_of, dotted
from memlint.analysis.resources import (
    CONFIGURING_OWN_METHODS,
    EXCEPTION_BASES,
    LOGGING_METHODS,
    NON_RAISING_CALLS,
    NON_RAISING_METHODS,
    NON_RAISING_WITH_CONSTANTS,
    NON_RAISING_WITH_SEVERAL,
    NON_RAISING_WITH_A_DEFAULT,
    NON_RAISING_OWN_METHODS,
    OS_ERROR_MODELS,
    OS_ERROR_NAMES,
    OS_ERROR_PREFIXES,
)
from memlint.analysis.walk import find

_LITERALS = (cst.SimpleString, cst.Integer, cst.Float)


def quiet_functions_of(ctx: Any) -> "QuietFunctions":  # ctx: facts.ModuleContext
    """The module's judge, kept on its context: function ids are only unique while its tree
    lives, so the verdicts must not outlive it."""
    quiet = vars(ctx).get("quiet_functions")
    if quiet is None:
        quiet = vars(ctx)["quiet_functions"] = QuietFunctions(ctx.functions)
    return quiet


class QuietFunctions:
    """The verdicts for one module (function ids are unique only while its tree lives)."""

    def __init__(self, functions: Mapping[str, cst.FunctionDef]) -> None:
        self.functions = functions
        self._verdicts: Dict[int, bool] = {}
        self._raised: Dict[int, Optional[FrozenSet[str]]] = {}
        # While ``raised_types`` judges a function: the names of the exceptions it raises.
        self._collecting: Optional[Set[str]] = None
        # Inside a ``try`` whose handler swallows OSError: calls that fail only with OSError
        # (``sock.getsockopt(...)``, ``os.chmod(...)``) are caught there.
        self._os_errors_caught = 0
        # ``(object, name)`` pairs an enclosing ``if hasattr(object, name):`` has checked.
        self._has_attributes: Set[tuple] = set()

    def cannot_raise(self, function: cst.FunctionDef) -> bool:
        """Whether every failure inside ``function`` is caught and turned into a value, or
        it calls nothing that can fail."""
        key = id(function)
        if key not in self._verdicts:
            self._verdicts[key] = False  # a recursive call is taken to raise
            collecting, self._collecting = self._collecting, None  # a callee must not raise at all
            try:
                self._verdicts[key] = self._judge(function)
            finally:
                self._collecting = collecting
        return self._verdicts[key]

    def raised_types(self, function: cst.FunctionDef) -> Optional[FrozenSet[str]]:
        """The exception names ``function`` raises when it only computes a value apart from
        ``raise Name(...)`` statements (``_remaining(deadline)`` raising TimeoutError), else None."""
        key = id(function)
        if key not in self._raised:
            self._raised[key] = None
            self._collecting = set()
            try:
                plain = self._judge(function)
                self._raised[key] = frozenset(self._collecting) if plain else None
            finally:
                self._collecting = None
        return self._raised[key]

    def _judge(self, function: cst.FunctionDef) -> bool:
        if isinstance(function.asynchronous, cst.Asynchronous) or function.decorators:
            return False
        statements = list(block_of(function.body))
        if any(isinstance(s, cst.Try) or _suppresses_everything(s) for s in statements):
            return all(
                _catches_everything(s) if isinstance(s, cst.Try) else _suppresses_everything(s) or _literal_line(s)
                for s in statements
            )
        targets = [found.target for found, _ in find(function.body, (cst.AssignTarget,))]  # type: ignore[attr-defined]
        local = {target.value for target in targets if isinstance(target, cst.Name)}
        return self._plain_block(statements, local)

    def _plain_block(self, statements: Sequence[cst.CSTNode], local: Set[str]) -> bool:
        for statement in statements:
            if isinstance(statement, cst.If):
                orelse = statement.orelse
                rest = [] if orelse is None else [orelse] if isinstance(orelse, cst.If) else list(block_of(orelse.body))
                checked = _hasattr_pair(statement.test)
                self._has_attributes.add(checked)
                try:
                    body_plain = self._plain_block(block_of(statement.body), local)
                finally:
                    self._has_attributes.discard(checked)
                if not (self._quiet(statement.test, local) and body_plain and self._plain_block(rest, local)):
                    return False
            elif isinstance(statement, cst.Try):
                if not self._swallows_os_errors(statement):
                    return False
                self._os_errors_caught += 1
                try:
                    if not self._plain_block(block_of(statement.body), local):
                        return False
                finally:
                    self._os_errors_caught -= 1
            elif isinstance(statement, cst.For) and statement.orelse is None:
                # ``for opt in options: sock.setsockopt(*opt)``
                if not (self._quiet(statement.iter, local) and self._plain_block(block_of(statement.body), local)):
                    return False
            elif not isinstance(statement, cst.SimpleStatementLine):
                return False
            elif not all(self._plain_small(small, local) for small in statement.body):
                return False
        return True

    def _swallows_os_errors(self, node: cst.Try) -> bool:
        """``try: ... except OSError: pass``: every handler catches OSError (or everything)
        and does nothing that can fail."""
        if node.finalbody is not None or node.orelse is not None or not node.handlers:
            return False
        for handler in node.handlers:
            kind = handler.type
            names = [e.value for e in kind.elements] if isinstance(kind, cst.Tuple) else [kind]
            if kind is not None and not any((dotted(n) or "") in OS_ERROR_NAMES | BROAD_EXCEPTIONS for n in names if n is not None):
                return False
        handlers = cst.IndentedBlock(body=[s for h in node.handlers for s in block_of(h.body)])
        return not any(True for _ in find(handlers, (cst.Raise, cst.Call, cst.Await, cst.Yield)))

    def _plain_small(self, small: cst.BaseSmallStatement, local: Set[str]) -> bool:
        if isinstance(small, cst.Raise) and self._collecting is not None:
            exc = small.exc.func if isinstance(small.exc, cst.Call) else None
            arguments = small.exc.args if isinstance(small.exc, cst.Call) else ()
            if isinstance(exc, cst.Name) and exc.value in EXCEPTION_BASES and all(self._quiet(a, local) for a in arguments):
                self._collecting.add(exc.value)  # ``raise TimeoutError("timed out")``
                return True
            return False
        if isinstance(small, cst.Pass) or isinstance(small, cst.Return) and small.value is None:
            return True
        if isinstance(small, cst.Expr):
            if isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString)):
                return True  # the docstring
            return isinstance(small.value, cst.Call) and self._quiet(small.value, local)
        return isinstance(small, (cst.Return, cst.Assign, cst.AnnAssign)) and self._quiet(small, local)

    def _quiet(self, node: cst.CSTNode, local: Set[str]) -> bool:
        """No subscript, await or yield, and only calls known not to raise."""
        for found, _ in find(node, (cst.Call, cst.Subscript, cst.Await, cst.Yield)):
            if not isinstance(found, cst.Call):
                return False
            func = found.func
            if (dotted(func) or "") in NON_RAISING_CALLS or constant_call(found, dotted(func) or ""):
                continue
            if isinstance(func, cst.Name) and func.value in self.functions:
                if self.cannot_raise(self.functions[func.value]):
                    continue
                return False
            if (
                isinstance(func, cst.Attribute)
                and (func.attr.value in NON_RAISING_METHODS or func.attr.value in LOGGING_METHODS)
                and isinstance(func.value, cst.Name)
                and func.value.value in local
            ):
                continue  # ``headers.update(...)`` on a value made here, not ``client.get(...)``
            if isinstance(func, cst.Attribute) and func.attr.value in LOGGING_METHODS:
                continue  # ``logger.isEnabledFor(DEBUG)`` of a module's logger, as everywhere
            if isinstance(func, cst.Attribute) and func.attr.value in CONFIGURING_OWN_METHODS:
                continue  # setting an option (``sock.setsockopt(...)``)
            if self._os_errors_caught and _fails_only_with_os_error(func):
                continue  # ``sock.getsockopt(...)`` in ``try: ... except OSError: pass``
            if (dotted(func) or "") == "getattr" and len(found.args) == 2 and _hasattr_pair(found) in self._has_attributes:
                continue  # ``getattr(socket, name)`` under ``if hasattr(socket, name):``
            return False
        return True


def constant_call(call: cst.Call, qualified: str, names: AbstractSet[str] = frozenset()) -> bool:
    """``set()``, ``struct.pack(IFF_FMT, b"tun", 0)``: a call ``calls.toml`` says fails only on a
    programming error when fed constants, fed only constants (``qualified`` is its name;
    ``names`` are local names bound once to a constant, ``own_values.local_constants``)."""
    if qualified in NON_RAISING_WITH_SEVERAL and len(call.args) >= 2 and not any(arg.star for arg in call.args):
        return True  # ``max(timeout, 0.001)``
    if qualified in NON_RAISING_WITH_A_DEFAULT and len(call.args) == 3 and not any(arg.star or arg.keyword for arg in call.args):
        return True  # ``getattr(module, "__package__", None)``
    return qualified in NON_RAISING_WITH_CONSTANTS and all(constant_value(arg.value, names) for arg in call.args)


def constant_value(node: cst.BaseExpression, names: AbstractSet[str] = frozenset()) -> bool:
    """A literal, a tuple of them, flags joined by ``|``, a builtin type (``defaultdict(list)``),
    a module constant written in capitals (``IFF_FMT``, ``socket.AF_INET``) or one of ``names``."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float, cst.Imaginary)):
        return True
    if isinstance(node, cst.UnaryOperation):
        return constant_value(node.expression, names)
    if isinstance(node, cst.BinaryOperation):
        return constant_value(node.left, names) and constant_value(node.right, names) and not isinstance(
            node.operator, (cst.Divide, cst.FloorDivide, cst.Modulo)
        )
    if isinstance(node, (cst.Tuple, cst.List)):
        return all(constant_value(element.value, names) for element in node.elements)
    if isinstance(node, cst.Name) and node.value in names:
        return True
    if isinstance(node, (cst.Name, cst.Attribute)):
        return constant_name(node.value if isinstance(node, cst.Name) else node.attr.value)
    return False


def _fails_only_with_os_error(func: cst.BaseExpression) -> bool:
    """A method a socket-like model says fails only with OSError, or an ``os.`` function."""
    if isinstance(func, cst.Attribute) and any(
        func.attr.value in NON_RAISING_OWN_METHODS.get(model, ()) for model in OS_ERROR_MODELS
    ):
        return True
    return (dotted(func) or "").startswith(OS_ERROR_PREFIXES)


def _hasattr_pair(node: cst.BaseExpression) -> tuple:
    """``(a, b)`` for ``hasattr(a, b)`` (or ``getattr(a, b)``), written as source; else ()."""
    if isinstance(node, cst.Call) and dotted(node.func) in ("hasattr", "getattr") and len(node.args) >= 2:
        return (dotted(node.args[0].value), dotted(node.args[1].value) or _literal(node.args[1].value))
    return ()


def _literal(node: cst.BaseExpression) -> Optional[str]:
    return node.value if isinstance(node, cst.SimpleString) else None


def _catches_everything(node: cst.Try) -> bool:
    if node.finalbody is not None or node.orelse is not None:
        return False
    if not any(h.type is None or (dotted(h.type) or "").rsplit(".", 1)[-1] in BROAD_EXCEPTIONS for h in node.handlers):
        return False
    handlers = cst.IndentedBlock(body=[s for h in node.handlers for s in block_of(h.body)])
    if any(True for _ in find(handlers, (cst.Raise, cst.Await, cst.Yield))):
        return False
    return all(_only_logs(call) for call, _ in find(handlers, (cst.Call,)))


def _only_logs(call: cst.CSTNode) -> bool:
    """``logger.debug(f"cannot resolve {host} ({e})")`` in a catch-all handler: logging is taken
    not to raise everywhere else, so a handler that only logs still turns the failure into a
    value. Its arguments must make no call or lookup of their own."""
    func = call.func if isinstance(call, cst.Call) else None
    if not (isinstance(func, cst.Attribute) and func.attr.value in LOGGING_METHODS):
        return False
    parts = cst.Tuple(elements=[cst.Element(func.value)] + [cst.Element(a.value) for a in call.args])  # type: ignore[attr-defined]
    return not any(True for _ in find(parts, (cst.Call, cst.Subscript, cst.Await)))


def _suppresses_everything(statement: cst.CSTNode) -> bool:
    """``with contextlib.suppress(Exception): ...``: every failure of the block is swallowed,
    as by ``try: ... except Exception: pass`` (the items themselves only build the suppressor;
    a ``with`` that also enters something else is not this shape)."""
    if not isinstance(statement, cst.With) or statement.asynchronous is not None:
        return False
    for item in statement.items:
        call = item.item
        if not (isinstance(call, cst.Call) and (dotted(call.func) or "") in SUPPRESSORS):
            return False
        if not any(not arg.keyword and (dotted(arg.value) or "").rsplit(".", 1)[-1] in BROAD_EXCEPTIONS for arg in call.args):
            return False
    return True


def _literal_line(statement: cst.CSTNode) -> bool:
    """Around a catch-all ``try``: plain values and calls fed only literals (``Struct("HHHH")``
    fails only on a programming error)."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    for small in statement.body:
        if isinstance(small, cst.Expr) and isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString)):
            continue
        if not isinstance(small, (cst.Return, cst.Assign, cst.AnnAssign, cst.Pass)):
            return False
        for found, _ in find(small, (cst.Call, cst.Subscript, cst.Await)):
            if not isinstance(found, cst.Call) or not all(isinstance(arg.value, _LITERALS) for arg in found.args):
                return False
    return True

"""Which states an ``except`` clause for this module's own exception classes can be entered with.

An exception class defined in this module (``class SConscriptReturn(Exception)``) is raised
only by code that names it: a ``raise`` statement, or a call into code that is not the
standard library's. A method of a file, socket or process the standard library made
(``f.read()``) or a plain function of a standard-library module that never calls back into
the caller's code (``time.perf_counter()``, ``os.path.join()``) cannot raise it. So
``try: data = f.read(); f.close(); exec(data) except SConscriptReturn: pass`` enters its
handler only after ``f.close()``: the only call that can raise it runs with the file closed.

The path interpreter asks here, at every expression it evaluates inside a ``try``, whether
that expression may raise such a class, and records the states where it may; a handler that
catches only this module's classes is entered with those states alone (as an ``except
ImportError`` is entered only where the body imports). ``for`` loops (each turn calls the
iterator's ``__next__``, a generator of the module may raise anything) and ``with`` blocks
(``__exit__`` runs later) are taken to raise in every state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, FrozenSet, Optional, Sequence

import libcst as cst

from memlint.analysis.flow import DONE, NONE, OPEN, Tracker
from memlint.analysis.names import dotted
from memlint.analysis.walk import find

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ModuleContext

_EVERY_STATE = NONE | OPEN | DONE
# Standard-library modules whose functions take no callback and run no code of the caller:
# they fail with built-in errors only. (``functools``, ``itertools``, ``runpy``, ``importlib``,
# ``threading``, ``json`` with its hooks and the like are left out on purpose.)
_CALLBACK_FREE_MODULES = frozenset({
    "time", "os", "os.path", "posixpath", "ntpath", "math", "errno", "stat", "sys", "struct",
    "zlib", "binascii", "base64", "hashlib", "platform", "tempfile", "shutil", "socket", "select",
})
# Standard-library modules whose resources' methods run no code of the caller (a process
# pool's ``map`` or an event loop's ``run_until_complete`` re-raise what the caller's code
# raised, a server calls its handlers: those modules are not here).
_CALLBACK_FREE_RESOURCES = frozenset({
    "builtins", "io", "os", "socket", "ssl", "subprocess", "tempfile", "gzip", "bz2", "lzma",
    "zipfile", "tarfile", "mmap", "select", "selectors", "http", "urllib", "ftplib", "smtplib",
    "poplib", "imaplib", "wave", "fcntl",
})
# What the body may call back into even though the standard library runs it.
_RUNS_CALLER_CODE = frozenset({"exec", "eval", "builtins.exec", "builtins.eval"})


def own_exception_classes(module: cst.Module) -> FrozenSet[str]:
    """The names of the exception-like classes defined at the top level of ``module``."""
    return frozenset(
        statement.name.value
        for statement in module.body
        if isinstance(statement, cst.ClassDef) and statement.bases
    )


def catches_only_own_exceptions(ctx: "ModuleContext", handler: cst.ExceptHandler, own: FrozenSet[str]) -> bool:
    """``except X`` / ``except (X, Y)`` where every name is a class defined in this module."""
    caught = handler.type
    if caught is None or not own:
        return False
    names = [element.value for element in caught.elements] if isinstance(caught, cst.Tuple) else [caught]
    if not names:
        return False
    for name in names:
        if not isinstance(name, cst.Name) or name.value not in own or ctx.imports.aliases.get(name.value):
            return False
    return True


def _resource_is_stdlib(ctx: "ModuleContext", tracker: Tracker) -> bool:
    call = tracker.acquisition_node
    if not isinstance(call, cst.Call):
        return False
    qualified = ctx.resolve(call.func) or ""
    if qualified.startswith("<local>"):
        return False
    return qualified == "open" or qualified.split(".", 1)[0] in _CALLBACK_FREE_RESOURCES


def _cannot_raise_own(ctx: "ModuleContext", tracker: Tracker, call: cst.Call, stdlib_resource: bool) -> bool:
    func = call.func
    if isinstance(func, cst.Attribute) and stdlib_resource and dotted(func.value) in tracker.names:
        return True  # ``f.read()`` of a file ``open()`` made
    qualified = ctx.resolve(func) or ""
    if qualified in _RUNS_CALLER_CODE or "." not in qualified:
        return False
    module = qualified.rsplit(".", 1)[0]
    return module in _CALLBACK_FREE_MODULES and not _passes_a_function(call)


def _passes_a_function(call: cst.Call) -> bool:
    return any(isinstance(arg.value, cst.Lambda) for arg in call.args)


def may_raise_own(ctx: "ModuleContext", tracker: Tracker, node: cst.CSTNode, statement: Optional[cst.CSTNode]) -> Optional[int]:
    """The extra states to record besides the current one (``_EVERY_STATE`` for a loop or a
    ``with``), 0 to record just the current one, None when ``node`` cannot raise one of this
    module's own exception classes."""
    if isinstance(statement, (cst.For, cst.With)):
        return _EVERY_STATE
    if isinstance(node, (cst.Raise, cst.Yield, cst.Await)) or any(True for _ in find(node, (cst.Raise, cst.Yield, cst.Await))):
        return 0
    stdlib_resource = _resource_is_stdlib(ctx, tracker)
    for call, _path in find(node, (cst.Call,)):
        if not _cannot_raise_own(ctx, tracker, call, stdlib_resource):  # type: ignore[arg-type]
            return 0
    return None


class OwnErrorStates:
    """By ``id`` of a ``try``: the states in which its body may raise an own exception class."""

    def __init__(self, ctx: "ModuleContext", tracker: Tracker) -> None:
        self.ctx = ctx
        self.tracker = tracker
        self.own = own_exception_classes(ctx.module)
        self.masks: Dict[int, int] = {}

    def note(self, open_tries: Sequence[cst.CSTNode], node: cst.CSTNode, statement: Optional[cst.CSTNode], mask: int) -> None:
        if not open_tries or not self.own:
            return
        extra = may_raise_own(self.ctx, self.tracker, node, statement)
        if extra is None:
            return
        for open_try in open_tries:
            self.masks[id(open_try)] = self.masks.get(id(open_try), 0) | mask | extra

    def given(self, try_node: cst.CSTNode, handler: cst.ExceptHandler, default: int) -> int:
        """What ``handler`` is entered with: only the recorded states when it catches
        nothing but this module's own classes."""
        if not catches_only_own_exceptions(self.ctx, handler, self.own):
            return default
        return default & self.masks.get(id(try_node), 0)

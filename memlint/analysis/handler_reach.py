"""Which ``except`` clauses the path interpreter lets a held resource into, and with what.

- ``except Exception`` (or bare) catches everything; ``except OSError`` around calls that
  fail only with OSError catches every failure that can realistically happen there.
- ``except ImportError`` (``ModuleNotFoundError``) can only catch what an import raises: an
  ``import`` statement, ``importlib.import_module()``/``__import__()``, or a function of this
  module that imports when called (the optional-dependency helper). Such a handler is entered
  only with the states the resource had at those points, not at every call of the ``try``:
  ``try: import watchdog ...; proc = Popen(...); ... except ImportError: proc = Popen(...)``
  cannot reach its handler with the first process alive.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import libcst as cst

from memlint.analysis.flow import Tracker
from memlint.analysis.names import dotted
from memlint.analysis.raises import raising_calls
from memlint.analysis.resources import OS_ERROR_MODELS, OS_ERROR_NAMES, OS_ERROR_PREFIXES
from memlint.analysis.walk import find

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ModuleContext

BROAD_EXCEPTIONS = frozenset({"Exception", "BaseException", "builtins.Exception", "builtins.BaseException"})
IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "builtins.ImportError", "builtins.ModuleNotFoundError"})
_IMPORTING_CALLS = frozenset({"importlib.import_module", "__import__", "builtins.__import__", "importlib.__import__"})


def _caught_names(handler: cst.ExceptHandler) -> list:
    kind = handler.type
    return [element.value for element in kind.elements] if isinstance(kind, cst.Tuple) else [kind]


def is_broad(ctx: "ModuleContext", handler: cst.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    return any((ctx.resolve(name) or "") in BROAD_EXCEPTIONS for name in _caught_names(handler))


def names_os_error(ctx: "ModuleContext", handler: cst.ExceptHandler) -> bool:
    names = _caught_names(handler) if handler.type is not None else []
    return any((ctx.resolve(name) or dotted(name) or "") in OS_ERROR_NAMES for name in names)


def catches_realistic(ctx: "ModuleContext", tracker: Tracker, node: cst.CSTNode) -> bool:
    """``except OSError`` around calls that fail only with OSError (a socket's own
    methods, ``os.chown``) catches every failure that can realistically happen there (a
    TypeError is a bug, not a path)."""
    if not any(names_os_error(ctx, handler) for handler in node.handlers):  # type: ignore[attr-defined]
        return False
    own_calls_qualify = tracker.spec.model in OS_ERROR_MODELS
    for call in raising_calls(ctx, node.body, set(), tracker.names, False, True, tracker.spec.model):  # type: ignore[attr-defined]
        if call is tracker.acquisition_node:
            continue
        func = call.func if isinstance(call, cst.Call) else None
        if func is None:
            return False
        if own_calls_qualify and isinstance(func, cst.Attribute) and dotted(func.value) in tracker.names:
            continue
        if (ctx.resolve(func) or "").startswith(OS_ERROR_PREFIXES):
            continue
        return False
    return True


def catches_only_import_errors(ctx: "ModuleContext", handler: cst.ExceptHandler) -> bool:
    if handler.type is None:
        return False
    return all((ctx.resolve(name) or dotted(name) or "") in IMPORT_ERRORS for name in _caught_names(handler))


def may_raise_import_error(ctx: "ModuleContext", node: cst.CSTNode, body: Sequence[cst.CSTNode]) -> bool:
    """Whether the small statement ``node`` imports, directly or through a function of this
    module (or of ``body``, the function being followed) that contains an import."""
    if isinstance(node, (cst.Import, cst.ImportFrom)):
        return True
    for call, _ in find(node, (cst.Call,)):
        func = call.func  # type: ignore[attr-defined]
        if (ctx.resolve(func) or dotted(func) or "") in _IMPORTING_CALLS:
            return True
        if isinstance(func, cst.Name) and _imports_when_called(ctx, func.value, body):
            return True
    return False


def _imports_when_called(ctx: "ModuleContext", name: str, body: Sequence[cst.CSTNode]) -> bool:
    definitions = [ctx.functions[name]] if name in ctx.functions else []
    definitions += [s for s in body if isinstance(s, cst.FunctionDef) and s.name.value == name]
    return any(
        any(True for _ in find(definition.body, (cst.Import, cst.ImportFrom), stop=()))
        or any((ctx.resolve(c.func) or "") in _IMPORTING_CALLS for c, _ in find(definition.body, (cst.Call,), stop=()))  # type: ignore[attr-defined]
        for definition in definitions
    )

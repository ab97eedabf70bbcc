"""An ``except OSError`` clause that releases the resource it guards (issue 13, fifth round).

The author of ::

    try:
        op_fd.write(line)
    except OSError:
        op_fd.close()
        raise

wrote the handler for the failures of the resource's own work, and those failures are I/O
errors: a write, a flush, a seek or a binary read fails with an OSError (a compressed
stream's ``read`` with the ``EOFError`` or ``zlib.error`` its handler names next to it). What
else such a method raises is a programming error (a closed file, a wrong type). The one
exception is reading text: a file opened in text mode raises ``UnicodeDecodeError`` (a
``ValueError``) on bad data, which the handler does not catch, so a read of a file that
``open()`` made without ``"b"`` in its mode is left to the other rules of ``caught_here``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Set

import libcst as cst

from memlint.analysis.names import dotted, mode_argument
from memlint.analysis.resources import ANY_RELEASE_METHODS
from memlint.analysis.walk import find

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ModuleContext

# Methods that read text from a file opened in text mode, where bad data is a decode error.
_TEXT_READS = frozenset({"read", "readline", "readlines", "__next__"})
# Openers whose files are in text mode unless the mode says ``b``.
_TEXT_OPENERS = frozenset({"open", "builtins.open", "io.open", "codecs.open"})


def handler_releases(node: cst.CSTNode, held_names: Set[str]) -> bool:
    """Whether some ``except`` clause of the ``try`` ``node`` releases the followed resource
    (``op_fd.close()``) in its own body."""
    for handler in getattr(node, "handlers", ()):
        for call, _path in find(handler.body, (cst.Call,)):
            func = call.func  # type: ignore[attr-defined]
            if isinstance(func, cst.Attribute) and dotted(func.value) in held_names and (
                func.attr.value in ANY_RELEASE_METHODS or func.attr.value.startswith("close")
            ):
                return True
    return False


def own_io_failure_is_os_error(ctx: "ModuleContext", call: cst.CSTNode, held_names: Set[str]) -> bool:
    """``op_fd.write(...)`` on the followed resource: its realistic failures are OSErrors,
    unless it reads text from a file ``open()`` made in text mode."""
    func = call.func if isinstance(call, cst.Call) else None
    if not isinstance(func, cst.Attribute):
        return False
    receiver = dotted(func.value)
    if receiver not in held_names:
        return False
    if func.attr.value not in _TEXT_READS:
        return True
    return not _opened_in_text_mode(ctx, receiver)


def _opened_in_text_mode(ctx: "ModuleContext", name: str) -> bool:
    """Whether ``name = open(path)`` (or ``io.open``, ``codecs.open``) in the function being
    analysed opens it without ``b`` in the mode; unknown acquisitions count as text."""
    scope = ctx.scope.node if ctx.scope is not None else ctx.module
    opened = False
    for assign, _path in find(scope, (cst.Assign,)):
        targets = [dotted(target.target) for target in assign.targets]  # type: ignore[attr-defined]
        value = assign.value  # type: ignore[attr-defined]
        if name not in targets or not isinstance(value, cst.Call):
            continue
        opened = True
        if (ctx.resolve(value.func) or "") not in _TEXT_OPENERS:
            return False  # ``gzip.GzipFile(...)``, ``socket.socket()``: bytes
        mode = mode_argument(value)
        if mode is None or "b" not in mode:
            return True
    return not opened

"""Writes that cannot realistically fail on a file just made.

A fact about the standard library, read by ``fresh_calls.quiet_on_what_was_made``: a file opened for writing with the default buffering (``open(p, "w")``,
  ``tempfile.NamedTemporaryFile()``) keeps what is written in its buffer until the buffer is
  full, flushed, sought or closed: ``write()`` of data that fits in the free part of the
  buffer only copies it (no system call, so no ENOSPC or EIO). The buffer is the file's
  ``st_blksize`` (at least 512 bytes on the file systems Python runs on) or 8 KiB, so writes
  whose sizes the code spells itself (literals, ``struct.pack`` of a literal format), adding
  up to at most 512 bytes since the open with nothing else done to the file, cannot fail.
  A ``str`` must be ASCII (every text encoding encodes it) in text mode, ``bytes`` in binary
  mode. ``open()`` of a terminal turns on line buffering in text mode, so there a text
  with a line end would be written at once: only temporary files (never terminals) are
  trusted with one.

Not ``bind(("", 0))`` of a fresh socket: it fails when the ephemeral ports run out and with
EACCES where a sandbox forbids binding (two findings judged true rest on it).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, List, Optional, Tuple

import libcst as cst

from memlint.analysis.names import dotted
from memlint.analysis.walk import Path, find

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ModuleContext

# The smallest buffer a default-buffered file gets (its st_blksize, or 8 KiB).
_SMALLEST_BUFFER = 512
# A str of n ASCII characters encodes to at most 4n bytes plus a byte-order mark (UTF-32).
_WIDEST_CHARACTER = 4
_BYTE_ORDER_MARK = 4

# Callee -> (position of ``mode``, its default, position of ``buffering``, can it be a terminal).
_BUFFERED_OPENERS = {
    "open": (1, "r", 2, True),
    "io.open": (1, "r", 2, True),
    "builtins.open": (1, "r", 2, True),
    "tempfile.TemporaryFile": (0, "w+b", 1, False),
    "tempfile.NamedTemporaryFile": (0, "w+b", 1, False),
}


def quiet_write(ctx: "ModuleContext", call: cst.Call, maker: str, acquisition: Optional[cst.CSTNode]) -> bool:
    """Whether ``call`` is a small spelled-out write into the buffer of the file ``acquisition``
    just opened."""
    func = call.func
    if not isinstance(func, cst.Attribute) or not isinstance(acquisition, cst.Call):
        return False
    if func.attr.value == "write" and maker in _BUFFERED_OPENERS:
        return _write_fits_in_buffer(ctx, call, maker, acquisition)
    return False


def _argument(call: cst.Call, position: int, keyword: str) -> Tuple[bool, Optional[cst.BaseExpression]]:
    """(given, value) of an argument passed by position or by keyword."""
    positional = [arg for arg in call.args if arg.keyword is None]
    if any(arg.star for arg in call.args):
        return True, None  # ``open(*args)``: unknown
    if position < len(positional):
        return True, positional[position].value
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return True, arg.value
    return False, None


def _literal(node: Optional[cst.BaseExpression]):
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        try:
            return node.evaluated_value
        except Exception:  # an f-string part, or a literal libcst cannot evaluate
            return None
    return None


def _write_fits_in_buffer(ctx: "ModuleContext", call: cst.Call, maker: str, acquisition: cst.Call) -> bool:
    mode_at, mode_default, buffering_at, may_be_terminal = _BUFFERED_OPENERS[maker]
    given, mode_node = _argument(acquisition, mode_at, "mode")
    mode = _literal(mode_node) if given else mode_default
    if not isinstance(mode, str) or not any(flag in mode for flag in "wax+"):
        return False
    given, buffering = _argument(acquisition, buffering_at, "buffering")
    if given and not (
        isinstance(buffering, cst.UnaryOperation)
        and isinstance(buffering.operator, cst.Minus)
        and isinstance(buffering.expression, cst.Integer)
        and buffering.expression.value == "1"
    ):
        return False  # unbuffered, line-buffered or a buffer size the code chose
    scope = ctx.scope.node if ctx.scope is not None else ctx.module
    nodes = find(scope, (cst.BaseExpression, cst.WithItem, cst.Assign, cst.FunctionDef, cst.ClassDef))
    receiver, start = _bound_name(nodes, acquisition)
    if receiver is None or _used_in_nested_scope(nodes, receiver, call):
        return False  # a nested function may write to it before this call
    if receiver is None or dotted(call.func.value) != receiver:  # type: ignore[attr-defined]
        return False
    acquisition_trail = nodes[start][1]
    written = 0
    skip_until = -1
    for index in range(start + 1, len(nodes)):
        node, trail = nodes[index]
        if index <= skip_until:
            continue
        if _on_other_branch(trail, acquisition_trail):
            continue
        if _repeats(trail, acquisition_trail):
            if _mentions(node, receiver):
                return False  # a write in a loop adds up without bound
            continue
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and dotted(node.func.value) == receiver:
            if node.func.attr.value != "write":
                return False  # flush(), seek(), ...: the buffer is no longer the fresh one
            size = _known_size(ctx, node, "b" in mode, may_be_terminal)
            if size is None:
                return False
            written += size
            if written > _SMALLEST_BUFFER:
                return False
            if node is call:
                return True
            skip_until = index + _count_inside(nodes, index)
            continue
        if dotted(node) == receiver and not _binds(node, acquisition_trail):
            return False  # handed on or aliased: what else writes to it is unknown
    return False


def _bound_name(nodes: List[Tuple[cst.CSTNode, Path]], acquisition: cst.Call) -> Tuple[Optional[str], int]:
    """``f`` of ``f = open(...)`` or ``with open(...) as f``, and where the acquisition is."""
    for index, (node, trail) in enumerate(nodes):
        if node is acquisition:
            parent = trail[-1] if trail else None
            if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
                return dotted(parent.targets[0].target), index
            if isinstance(parent, cst.WithItem) and parent.asname is not None:
                return dotted(parent.asname.name), index
            return None, index
    return None, -1


def _used_in_nested_scope(nodes: List[Tuple[cst.CSTNode, Path]], receiver: str, call: cst.Call) -> bool:
    """A nested function or class that names the file and may run before ``call``: one defined
    before it, or any when ``call`` is in a loop (a closure of the last round may run first)."""
    root = receiver.split(".", 1)[0]
    reached = False
    call_in_loop = False
    for node, trail in nodes:
        if node is call:
            reached = True
            call_in_loop = any(isinstance(ancestor, (cst.For, cst.While)) for ancestor in trail)
        if trail and isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)) and (not reached or call_in_loop):
            if any(name.value == root for name, _trail in find(node, (cst.Name,), stop=())):  # type: ignore[attr-defined]
                return True
    return False


def _binds(node: cst.CSTNode, acquisition_trail: Path) -> bool:
    """The ``f`` of ``with open(...) as f`` itself."""
    parent = acquisition_trail[-1] if acquisition_trail else None
    return isinstance(parent, cst.WithItem) and parent.asname is not None and parent.asname.name is node


def _count_inside(nodes: List[Tuple[cst.CSTNode, Path]], index: int) -> int:
    """How many of the nodes after ``index`` lie inside it."""
    node = nodes[index][0]
    count = 0
    for later, trail in nodes[index + 1:]:
        if not any(ancestor is node for ancestor in trail):
            break
        count += 1
    return count


def _on_other_branch(trail: Path, acquisition_trail: Path) -> bool:
    """The node lies in the other branch of an ``if`` whose one branch holds the acquisition."""
    for depth, ancestor in enumerate(acquisition_trail):
        if isinstance(ancestor, cst.If) and depth + 1 < len(acquisition_trail) and depth + 1 < len(trail):
            if trail[depth] is ancestor and trail[depth + 1] is not acquisition_trail[depth + 1]:
                branch = acquisition_trail[depth + 1]
                other = trail[depth + 1]
                if ancestor.test is branch or ancestor.test is other:
                    continue
                return True
    return False


def _repeats(trail: Path, acquisition_trail: Path) -> bool:
    """The node lies in a loop (or comprehension) that the acquisition is not in."""
    outer = set(id(ancestor) for ancestor in acquisition_trail)
    return any(
        isinstance(ancestor, (cst.For, cst.While, cst.CompFor)) and id(ancestor) not in outer for ancestor in trail
    )


def _mentions(node: cst.CSTNode, receiver: str) -> bool:
    return dotted(node) == receiver if isinstance(node, cst.BaseExpression) else False


def _known_size(ctx: "ModuleContext", write: cst.Call, binary: bool, may_be_terminal: bool) -> Optional[int]:
    """The most bytes ``write``'s one argument can put in the buffer, when the code spells it."""
    if len(write.args) != 1 or write.args[0].keyword is not None or write.args[0].star:
        return None
    value = write.args[0].value
    literal = _literal(value)
    if isinstance(literal, bytes):
        return len(literal) if binary else None
    if isinstance(literal, str):
        if binary or not literal.isascii():
            return None
        if may_be_terminal and ("\n" in literal or "\r" in literal):
            return None  # a terminal's text file is line-buffered
        return len(literal) * _WIDEST_CHARACTER + _BYTE_ORDER_MARK
    if binary and isinstance(value, cst.Call) and (ctx.resolve(value.func) or "") == "struct.pack" and value.args:
        fmt = _literal(value.args[0].value)
        if isinstance(fmt, (str, bytes)) and value.args[0].keyword is None:
            try:
                return struct.calcsize(fmt)
            except struct.error:
                return None
    return None

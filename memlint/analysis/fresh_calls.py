"""Calls that cannot realistically fail because of what the function has just made.

MEM003's raise model (``raises.py``) asks of each call between an acquisition and its release
whether it can fail. Some standard-library calls that can fail in general cannot on the object
this code has just made and still holds:

- ``fcntl.flock(f, LOCK_EX)`` (blocking) or ``fcntl.fcntl(fd, F_GETFD)`` on the followed file
  or its ``fileno()``: with the constants ``calls.toml`` [raising] non_raising_on_held_with
  names, they fail only for a bad descriptor;
- ``os.makedirs(tmp, exist_ok=True)`` on the directory ``tempfile.mkdtemp()`` just made, and
  the first ``os.mkdir``/``os.makedirs`` of a path inside it: the directory is new, empty and
  private to this user (mode 0o700), so no name in it can already be taken; a second one
  can collide with the first (a case-insensitive file system), and stays a call that raises;
- ``os.write(w, data)`` on the write end of a pipe ``os.pipe()`` just made, while the function
  has not closed the read end: a blocking write to a pipe whose reader is open waits, it
  cannot fail with EPIPE or EAGAIN;
- a small write the code spells itself into the buffer of a file just opened
  (``fresh_writes.py``);
- ``VAR.reset(token)`` of the token ``VAR.set()`` gave in the function (``context_tokens.py``);
- ``open(r, "rb", 0)`` of an end of a pipe ``os.pipe()`` just made, not yet closed or handed
  on, with a valid literal mode: wrapping a valid descriptor only asks fstat() about it;
- ``os.chmod(path, mode)``/``os.fchmod(fd, mode)`` of what a tempfile maker or an exclusive
  ``os.open`` has just created, which this process owns (``fresh_modes.py``);
- a predicate of a path built in place (``Path(p).exists()``): ``calls.toml``
  non_raising_methods_of names the predicates of ``pathlib.Path`` (only paths are read this way).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Set

import libcst as cst

from memlint.analysis.context_tokens import resets_own_token
from memlint.analysis.fresh_modes import mode_change_of_fresh_creation
from memlint.analysis.fresh_writes import quiet_write
from memlint.analysis.names import dotted
from memlint.analysis.resources import KNOWLEDGE
from memlint.analysis.walk import find

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ModuleContext

_MAKE_DIRECTORY = ("os.mkdir", "os.makedirs")
_OPEN = ("open", "io.open", "builtins.open")


def quiet_on_what_was_made(
    ctx: "ModuleContext", call: cst.Call, held_names: Set[str], acquisition: Optional[cst.CSTNode]
) -> bool:
    """Whether ``call`` cannot realistically fail on the resource ``held_names`` names, made by
    ``acquisition``, or on an object built in the call itself."""
    qualified = ctx.resolve(call.func) or ""
    made_by = _maker(ctx, acquisition)
    return (
        _flag_call_on_held(call, qualified, held_names)
        or (made_by == "os.pipe" and _flag_call_on_held(call, qualified, _other_pipe_end(ctx, call, acquisition)))
        or _predicate_of_path_built_here(ctx, call)
        or (made_by == "tempfile.mkdtemp" and qualified in _MAKE_DIRECTORY and _first_directory_inside(ctx, call, acquisition))
        or (made_by == "os.pipe" and qualified == "os.write" and _write_end_with_reader_open(ctx, call, acquisition))
        or quiet_write(ctx, call, made_by, acquisition)
        or resets_own_token(ctx, call)
        or mode_change_of_fresh_creation(ctx, call, qualified, made_by, acquisition)
        or (qualified in _OPEN and _opens_fresh_pipe_end(ctx, call))
        or (made_by == "tempfile.mkdtemp" and _expands_fresh_directory(ctx, call, held_names, acquisition))
    )


# ``pathlib`` methods that only compute a path: ``expanduser()`` fails (RuntimeError) only for
# a path that starts with ``~`` when no home directory is known, ``absolute()`` never,
# ``resolve()`` for a symbolic link loop or (strict) a path that does not exist.
_EXPANDING = ("expanduser", "absolute", "resolve")
_STRINGS = ("str", "os.fspath", "builtins.str")


def _expands_fresh_directory(
    ctx: "ModuleContext", call: cst.Call, held_names: Set[str], acquisition: Optional[cst.CSTNode]
) -> bool:
    """``Path(str(root)).expanduser()`` of ``root = tempfile.mkdtemp(prefix=...)``: without a
    ``dir`` the directory is made in ``gettempdir()``, an absolute path (the tempfile
    documentation), so there is no ``~`` to expand, and the directory just made exists and is
    no link: nothing can fail."""
    made = acquisition.expression if isinstance(acquisition, cst.Await) else acquisition
    if not isinstance(made, cst.Call) or len([a for a in made.args if a.keyword is None]) > 2 or any(
        a.keyword is not None and a.keyword.value == "dir" for a in made.args
    ):
        return False
    func = call.func
    if not (isinstance(func, cst.Attribute) and func.attr.value in _EXPANDING and isinstance(func.value, cst.Call)):
        return False
    built = func.value
    while isinstance(built.func, cst.Attribute) and built.func.attr.value in _EXPANDING and isinstance(
        built.func.value, cst.Call
    ):
        built = built.func.value  # ``Path(root).expanduser().resolve()``
    if (ctx.resolve(built.func) or "") not in KNOWLEDGE.path_constructors or len(built.args) != 1:
        return False
    argument = built.args[0].value
    if isinstance(argument, cst.Call) and (ctx.resolve(argument.func) or "") in _STRINGS and len(argument.args) == 1:
        argument = argument.args[0].value
    return dotted(argument) in held_names


def _maker(ctx: "ModuleContext", acquisition: Optional[cst.CSTNode]) -> str:
    call = acquisition.expression if isinstance(acquisition, cst.Await) else acquisition
    return (ctx.resolve(call.func) or "") if isinstance(call, cst.Call) else ""


def _flag_call_on_held(call: cst.Call, qualified: str, held_names: Set[str]) -> bool:
    """``fcntl.flock(lock, fcntl.LOCK_EX)``, ``fcntl.fcntl(sock.fileno(), fcntl.F_GETFD)``."""
    allowed = KNOWLEDGE.non_raising_on_held_with.get(qualified)
    positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
    if not allowed or len(positional) < 2:
        return False
    target = positional[0].value
    if isinstance(target, cst.Call) and isinstance(target.func, cst.Attribute) and target.func.attr.value == "fileno":
        target = target.func.value
    if dotted(target) not in held_names:
        return False
    flag = positional[1].value  # a plain constant: ``LOCK_EX | LOCK_NB`` is no longer one of them
    last = flag.attr.value if isinstance(flag, cst.Attribute) else flag.value if isinstance(flag, cst.Name) else ""
    return last in allowed


def _predicate_of_path_built_here(ctx: "ModuleContext", call: cst.Call) -> bool:
    """``Path(temp_dir).exists()``: a method the knowledge data says cannot raise on what the
    constructor called right there makes."""
    func = call.func
    if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Call)):
        return False
    made = ctx.resolve(func.value.func) or ""
    # Only a path (``calls.toml`` [paths] constructors): a thread built and started in one
    # expression (``Thread(target=f).start()``) is still taken to fail when none can be made.
    return made in KNOWLEDGE.path_constructors and func.attr.value in KNOWLEDGE.non_raising_methods_of.get(made, ())


def _first_directory_inside(ctx: "ModuleContext", call: cst.Call, acquisition: Optional[cst.CSTNode]) -> bool:
    """``os.makedirs(name, exist_ok=True)`` on the fresh directory itself, or the first
    directory made inside it (``os.mkdir(os.path.join(base, "A"))``, also through a name bound
    once to such a join)."""
    if not call.args or call.args[0].keyword is not None:
        return False
    directory = _bound_name(ctx, acquisition)
    path = call.args[0].value
    if directory is None:
        return False
    if dotted(path) == directory:
        return any(
            arg.keyword is not None and arg.keyword.value == "exist_ok" and dotted(arg.value) == "True" for arg in call.args
        )
    if not _inside(ctx, path, directory):
        return False
    scope = ctx.scope.node if ctx.scope is not None else ctx.module
    first = True
    for found, trail in find(scope, (cst.Call,)):
        if found is call:
            # The first one in the function (in source order) has nothing to collide with; a
            # later one collides only with an earlier name: FileExistsError, caught around it.
            return first or any(_catches_file_exists(ctx, ancestor, trail) for ancestor in trail)
        if (ctx.resolve(found.func) or "") in _MAKE_DIRECTORY:  # type: ignore[attr-defined]
            first = False
    return False


_COLLISION_CATCHERS = frozenset({"FileExistsError", "OSError", "IOError", "EnvironmentError", "Exception", "BaseException"})


def _catches_file_exists(ctx: "ModuleContext", ancestor: cst.CSTNode, trail) -> bool:
    """``try: os.mkdir(lower) except FileExistsError: ...`` with the call in the try's body."""
    if not isinstance(ancestor, cst.Try) or not any(node is ancestor.body for node in trail):
        return False
    for handler in ancestor.handlers:
        kind = handler.type
        for element in kind.elements if isinstance(kind, cst.Tuple) else [kind] if kind is not None else []:
            value = element.value if isinstance(element, cst.Element) else element
            if (ctx.resolve(value) or dotted(value) or "").rsplit(".", 1)[-1] in _COLLISION_CATCHERS:
                return True
    return False


def _bound_name(ctx: "ModuleContext", acquisition: Optional[cst.CSTNode]) -> Optional[str]:
    """``base`` of ``base = tempfile.mkdtemp()``."""
    scope = ctx.scope.node if ctx.scope is not None else ctx.module
    for found, _path in find(scope, (cst.Assign,)):
        if found.value is acquisition and len(found.targets) == 1:  # type: ignore[attr-defined]
            return dotted(found.targets[0].target)  # type: ignore[attr-defined]
    return None


def _inside(ctx: "ModuleContext", path: cst.BaseExpression, directory: str) -> bool:
    """``os.path.join(base, ...)`` of the held directory, or a name the function binds only to
    one such join."""
    if isinstance(path, cst.Name):
        value = _only_value_bound(ctx, path.value)
        return value is not None and _joins_under(ctx, value, directory)
    return _joins_under(ctx, path, directory)


def _only_value_bound(ctx: "ModuleContext", name: str) -> Optional[cst.BaseExpression]:
    """The value of the one assignment to ``name`` in the function, or None when it is bound
    more than once or not by a plain assignment."""
    scope = ctx.scope.node if ctx.scope is not None else ctx.module
    values = [
        parent.value  # type: ignore[attr-defined]
        for found, trail in find(scope, (cst.AssignTarget,))
        for parent in trail[-1:]
        if isinstance(found.target, cst.Name) and found.target.value == name  # type: ignore[attr-defined]
    ]
    return values[0] if len(values) == 1 else None


def _joins_under(ctx: "ModuleContext", value: cst.BaseExpression, directory: str) -> bool:
    """``os.path.join(base, "TESTDIR")``: the fresh directory and names the code spells itself
    (a name from the caller's data may be invalid, or nest in a directory that is not there)."""
    return (
        isinstance(value, cst.Call)
        and (ctx.resolve(value.func) or "") in ("os.path.join", "posixpath.join")
        and bool(value.args)
        and dotted(value.args[0].value) == directory
        and all(_spelled_here(ctx, arg.value, 0) for arg in value.args[1:])
    )


# String methods that make a name from a name (``test_dir.upper()``).
_NAME_METHODS = frozenset({"upper", "lower", "strip", "lstrip", "rstrip", "replace", "format"})


def _spelled_here(ctx: "ModuleContext", node: cst.BaseExpression, depth: int) -> bool:
    """A string literal, a local name bound once to one, or a slice, sum or string method of
    such (``test_dir[:6] + "~1"``), with literal arguments: a name fixed by the code."""
    if depth > 4:
        return False
    if isinstance(node, (cst.SimpleString, cst.Integer)):
        return True
    if isinstance(node, cst.ConcatenatedString):
        return not any(True for _ in find(node, (cst.FormattedStringExpression,)))
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        return _spelled_here(ctx, node.left, depth + 1) and _spelled_here(ctx, node.right, depth + 1)
    if isinstance(node, cst.Subscript):
        return _spelled_here(ctx, node.value, depth + 1) and all(
            isinstance(element.slice, cst.Slice)
            and all(part is None or isinstance(part, cst.Integer) for part in (element.slice.lower, element.slice.upper))
            for element in node.slice
        )
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in _NAME_METHODS:
        return _spelled_here(ctx, node.func.value, depth + 1) and all(
            _spelled_here(ctx, arg.value, depth + 1) for arg in node.args
        )
    if isinstance(node, cst.Name):
        value = _only_value_bound(ctx, node.value)
        return value is not None and _spelled_here(ctx, value, depth + 1)
    return False


def _other_pipe_end(ctx: "ModuleContext", call: cst.Call, acquisition: Optional[cst.CSTNode]) -> Set[str]:
    """``r, w = os.pipe(); fcntl.fcntl(w, fcntl.F_GETFL)`` while ``r`` is followed: both ends of
    the pipe just made are valid descriptors until one is closed or handed on, so the flag
    calls that fail only for a bad descriptor cannot fail on either. The end of the pair the
    call names, when no call before it in the function was given that end."""
    scope = ctx.scope.node if ctx.scope is not None else ctx.module
    ends: list = []
    for found, _trail in find(scope, (cst.Assign,)):
        if found.value is acquisition and len(found.targets) == 1:  # type: ignore[attr-defined]
            target = found.targets[0].target  # type: ignore[attr-defined]
            if isinstance(target, cst.Tuple) and len(target.elements) == 2:
                ends = [dotted(element.value) for element in target.elements]
    if not ends or None in ends or not call.args or dotted(call.args[0].value) not in ends:
        return set()
    end = dotted(call.args[0].value)
    if len(_bindings(scope, end)) != 1:
        return set()  # bound again somewhere: the number may be another descriptor
    for found, _trail in find(scope, (cst.Call,)):
        if found is call:
            return {end}
        if any(dotted(arg.value) == end for arg in found.args) and (  # type: ignore[attr-defined]
            ctx.resolve(found.func) or ""  # type: ignore[attr-defined]
        ) not in KNOWLEDGE.non_raising_on_held_with:
            return set()  # closed or given away before: the number may be stale
    return set()


def _write_end_with_reader_open(ctx: "ModuleContext", call: cst.Call, acquisition: Optional[cst.CSTNode]) -> bool:
    """``r, w = os.pipe(); os.write(w, data)`` with no ``os.close(r)`` before the write."""
    if not call.args:
        return False
    scope = ctx.scope.node if ctx.scope is not None else ctx.module
    ends = None
    for found, trail in find(scope, (cst.Assign,)):
        if found.value is acquisition and len(found.targets) == 1:  # type: ignore[attr-defined]
            target = found.targets[0].target  # type: ignore[attr-defined]
            if isinstance(target, cst.Tuple) and len(target.elements) == 2:
                ends = [dotted(element.value) for element in target.elements]
    if ends is None or ends[0] is None or dotted(call.args[0].value) != ends[1]:
        return False  # a write to the write end (the second), whichever end is followed
    reader = ends[0]
    for found, _path in find(scope, (cst.Call,)):
        if found is call:
            return True
        if any(dotted(arg.value) == reader for arg in found.args) and (ctx.resolve(found.func) or "") not in (  # type: ignore[attr-defined]
            "os.set_inheritable", "os.fstat",
        ):
            return False  # the read end is handed somewhere (closed, or given away) before the write
    return False


def _opens_fresh_pipe_end(ctx: "ModuleContext", call: cst.Call) -> bool:
    """``r, w = os.pipe(); reader = open(r, "rb", 0)``: the end is valid until closed or given
    away, so only a mode or buffering open() rejects could make it fail, and those are literals."""
    positional = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
    keywords = {arg.keyword.value: arg.value for arg in call.args if arg.keyword is not None}
    if len(positional) + len(keywords) != len(call.args) or not positional or len(positional) > 3:
        return False
    filled = ("mode", "buffering")[: max(len(positional) - 1, 0)]
    if set(keywords) - {"mode", "buffering", "closefd"} or any(name in keywords for name in filled):
        return False  # an argument open() does not take, or one given twice
    mode_node = positional[1] if len(positional) > 1 else keywords.get("mode")
    mode = mode_node.evaluated_value if isinstance(mode_node, cst.SimpleString) else "r" if mode_node is None else None
    if not isinstance(mode, str) or not _valid_descriptor_mode(mode):
        return False
    buffering_node = positional[2] if len(positional) > 2 else keywords.get("buffering")
    if buffering_node is not None:
        negative = isinstance(buffering_node, cst.UnaryOperation) and isinstance(buffering_node.operator, cst.Minus)
        buffering = -1 if negative else int(buffering_node.value) if isinstance(buffering_node, cst.Integer) else None
        if buffering is None or (buffering in (0, 1) and "b" not in mode) or (buffering == 1 and "b" in mode):
            return False  # unbuffered text is a ValueError; line-buffered binary a warning
    closefd = keywords.get("closefd")
    if closefd is not None and dotted(closefd) not in ("True", "False"):
        return False
    scope = ctx.scope.node if ctx.scope is not None else ctx.module
    end = dotted(positional[0])
    pipes = [
        found
        for found, _trail in find(scope, (cst.Assign,))
        if isinstance(found.value, cst.Call)  # type: ignore[attr-defined]
        and (ctx.resolve(found.value.func) or "") == "os.pipe"  # type: ignore[attr-defined]
        and any(isinstance(t.target, cst.Tuple) and end in [dotted(e.value) for e in t.target.elements] for t in found.targets)  # type: ignore[attr-defined]
    ]
    if end is None or len(pipes) != 1 or len(_bindings(scope, end)) != 1:
        return False  # the end of one pipe, bound nowhere else
    pipe_call = pipes[0].value  # type: ignore[attr-defined]
    reached_pipe = False
    for found, trail in find(scope, (cst.Call,)):
        reached_pipe = reached_pipe or found is pipe_call
        if found is call:
            return reached_pipe and not any(isinstance(ancestor, (cst.For, cst.While)) for ancestor in trail)
        if any(dotted(arg.value) == end for arg in found.args) and (ctx.resolve(found.func) or "") not in (  # type: ignore[attr-defined]
            "os.set_inheritable", "os.fstat",
        ):
            return False  # closed or given away before: the number may be stale
    return False


def _bindings(scope: cst.CSTNode, name: str) -> list:
    """Every place ``name`` is bound in the function (an element of a tuple target counts)."""
    bound = []
    for found, _trail in find(scope, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign, cst.For, cst.AsName)):
        target = found.name if isinstance(found, cst.AsName) else found.target  # type: ignore[attr-defined]
        bound.extend(node for node, _t in find(target, (cst.Name,)) if node.value == name)  # type: ignore[attr-defined]
    return bound


def _valid_descriptor_mode(mode: str) -> bool:
    """``r``, ``wb``, ``r+b``...: one of r/w, at most one of b/t, at most one ``+`` (``a`` and
    ``x`` left out: they ask more of the descriptor)."""
    return (
        set(mode) <= set("rwbt+")
        and sum(mode.count(letter) for letter in "rw") == 1
        and sum(mode.count(letter) for letter in "bt") <= 1
        and mode.count("+") <= 1
    )

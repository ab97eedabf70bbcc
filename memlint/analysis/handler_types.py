"""What the ``except`` clauses of a ``try`` say about the exceptions that get past them.

An exception that leaves ``try: ... except OSError: ...`` unhandled is not an OSError, so
a ``try`` right around it whose handlers catch only OSError does not catch it either: it
goes on out. Without this, the idiom below looked as if a failure the inner handler lets
through (a TypeError, say) reached the outer handler's ``return`` with the temporary file
still there::

    try:
        fd, tmp = tempfile.mkstemp()
        try:
            ...
        except OSError:
            os.unlink(tmp)
            raise
    except OSError:
        return None

The same handlers, matched against a raise's type (``caught_here``): ``raise TimeoutError()``
under ``except OSError`` is handled there, whatever else the body does.

Also here: the collections an ``except`` block fills, for the retry-loop check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, FrozenSet, Optional, Set

import libcst as cst

from memlint.analysis.facts import SMALL_CONTAINERS
from memlint.analysis.names import block_of, dotted
from memlint.analysis.own_error_family import iterated_elsewhere, own_error_family, own_work
from memlint.analysis.quiet_functions import quiet_functions_of
from memlint.analysis.raises import raising_calls
from memlint.analysis.releasing_handlers import handler_releases, own_io_failure_is_os_error
from memlint.analysis.resources import EXCEPTION_BASES, KNOWLEDGE, OS_ERROR_MODELS, OS_ERROR_NAMES, OS_ERROR_PREFIXES
from memlint.analysis.walk import find

if TYPE_CHECKING:
    from memlint.analysis.facts import ModuleContext


def handler_names(ctx: "ModuleContext", node: cst.CSTNode) -> Optional[FrozenSet[str]]:
    """The exception names the handlers of ``node`` catch (the OSError aliases as one), or
    None when one of them catches everything or names something unreadable."""
    names: Set[str] = set()
    for handler in node.handlers:  # type: ignore[attr-defined]
        kind = handler.type
        if kind is None:
            return None
        for element in kind.elements if isinstance(kind, cst.Tuple) else [kind]:
            name = element.value if isinstance(element, cst.Element) else element
            qualified = ctx.resolve(name) or dotted(name)
            if not qualified:
                return None
            names.add("OSError" if qualified in OS_ERROR_NAMES else qualified)
    return frozenset(names)


def passes_enclosing_handlers(ctx: "ModuleContext", node: cst.CSTNode, enclosing: Optional[cst.CSTNode]) -> bool:
    """True when what escapes the handlers of ``node`` cannot be caught by those of the
    ``try`` whose body holds ``node`` directly: they catch no type ``node``'s do not."""
    if enclosing is None or not getattr(enclosing, "handlers", None) or not node.handlers:  # type: ignore[attr-defined]
        return False
    if not any(statement is node for statement in block_of(enclosing.body)):  # type: ignore[attr-defined]
        return False
    inner, outer = handler_names(ctx, node), handler_names(ctx, enclosing)
    return inner is not None and outer is not None and outer <= inner


def collections_filled(body: cst.BaseSuite) -> Set[str]:
    """Names of collections that ``body`` adds to: ``errors.append(e)``, ``errors[a] = e``."""
    filled: Set[str] = set()
    for call, _ in find(body, (cst.Call,)):
        func = call.func  # type: ignore[attr-defined]
        if isinstance(func, cst.Attribute) and func.attr.value in ("append", "add", "extend", "insert", "update"):
            if isinstance(func.value, cst.Name):
                filled.add(func.value.value)
    for assign, _ in find(body, (cst.Assign, cst.AugAssign)):
        targets = [t.target for t in assign.targets] if isinstance(assign, cst.Assign) else [assign.target]  # type: ignore[attr-defined]
        for target in targets:
            if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name):
                filled.add(target.value.value)
            elif isinstance(assign, cst.AugAssign) and isinstance(target, cst.Name):
                filled.add(target.value)
    return filled


def caught_here(ctx: "ModuleContext", entry: tuple, node: cst.CSTNode, held_names: Set[str], model: str) -> bool:
    """Whether the handlers of the ``try`` ``node`` catch the exception of ``entry``, one of
    its body's ``(mask, node, kind)`` raises, by its type: ``raise TimeoutError(...)`` under
    ``except OSError`` (``calls.toml`` [exceptions] bases), or a call of a function of this
    module that can only raise what they catch (``settimeout(_remaining(deadline))`` under
    ``except TimeoutError``, when ``_remaining`` only raises TimeoutError). Each raise is
    judged by its own type: what the other calls of the body raise are raises of their own,
    judged (and leaked, or caught) each by itself; the one judged here reaches the handlers
    either way."""
    caught = handler_names(ctx, node)
    if not caught:
        return False
    _mask, raiser, kind = entry
    if kind == "raise":
        return isinstance(raiser, cst.Raise) and _is_caught(_raised_name(ctx, raiser), caught)
    if kind != "call" or not isinstance(raiser, cst.Call):
        return False
    calls = raising_calls(ctx, node.body, set(), held_names, False, False, model)  # type: ignore[attr-defined]
    # A timed release (``p.communicate(timeout=t)``) is a raise of its own, not among the calls.
    timed = _fails_only_with_caught(raiser, held_names, model, caught)
    if not timed and not any(call is raiser for call in calls):
        return False
    # A statement's raise stands for every call of that statement that may raise (its first
    # one names it): ``int(sock.recv(16))`` raises ValueError past ``except OSError`` too.
    statement = _small_statement_holding(node.body, raiser)  # type: ignore[attr-defined]
    if statement is not None:
        calls = raising_calls(ctx, statement, set(), held_names, False, False, model)
    family = own_error_family(model)
    family_handled = family is not None and _is_caught(family, caught)
    releases = ("OSError" in caught or family_handled) and handler_releases(node, held_names)
    releasing = "OSError" in caught and releases
    family_caught = family_handled and releases and not iterated_elsewhere(ctx, node, held_names)
    return all(
        _builds_exception(ctx, call)
        or _local_raises_only_caught(ctx, call, caught)
        or ("OSError" in caught and _fails_only_with_os_error(ctx, call, held_names, model))
        or (releasing and own_io_failure_is_os_error(ctx, call, held_names))
        or _fails_only_with_caught(call, held_names, model, caught)
        or (family_caught and own_work(ctx, call, held_names))
        or _parses_text_caught(ctx, call, caught)
        for call in calls
    )


def _fails_only_with_caught(call: cst.CSTNode, held_names: Set[str], model: str, caught: FrozenSet[str]) -> bool:
    """``p.communicate(timeout=t)`` under ``except subprocess.TimeoutExpired``: a method of the
    followed resource whose only realistic failure (``calls.toml`` [raising] fails_only_with)
    the handlers catch, on a resource made by that exception's module (a process from
    ``subprocess.Popen``)."""
    func = call.func if isinstance(call, cst.Call) else None
    spec = KNOWLEDGE.models.get(model)
    if not isinstance(func, cst.Attribute) or dotted(func.value) not in held_names or spec is None:
        return False
    for exception, methods in KNOWLEDGE.fails_only_with.items():
        module = exception.rsplit(".", 1)[0] + "."
        if func.attr.value in methods and _is_caught(exception, caught) and any(
            maker.startswith(module) for maker in spec.acquired_by
        ):
            return True
    return False


def _parses_text_caught(ctx: "ModuleContext", call: cst.CSTNode, caught: FrozenSet[str]) -> bool:
    """``int(os.environ.get("N", "15"))`` under ``except ValueError``: a builtin parsing text
    whose every failure on a str the handlers catch (``calls.toml`` [raising]
    fails_only_with_on_text), given a value that is text."""
    if not isinstance(call, cst.Call) or not isinstance(call.func, cst.Name) or len(call.args) != 1:
        return False
    name = ctx.resolve(call.func) or call.func.value
    name = name[len("builtins."):] if name.startswith("builtins.") else name
    argument = call.args[0]
    if argument.keyword is not None or argument.star or name != call.func.value:
        return False
    return any(
        name in builtins and _is_caught(exception, caught) for exception, builtins in KNOWLEDGE.fails_only_with_on_text.items()
    ) and _is_text(ctx, argument.value)


def _is_text(ctx: "ModuleContext", value: cst.BaseExpression) -> bool:
    if isinstance(value, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString)):
        return not (isinstance(value, cst.SimpleString) and "b" in value.prefix.lower())
    if isinstance(value, cst.Subscript):
        return (ctx.resolve(value.value) or "") == "os.environ"
    if isinstance(value, cst.Call) and (ctx.resolve(value.func) or "") in KNOWLEDGE.text_with_a_default:
        positional = [arg for arg in value.args if arg.keyword is None and not arg.star]
        return len(value.args) == 2 and len(positional) == 2 and _is_text(ctx, positional[1].value) and isinstance(
            positional[1].value, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString)
        )
    return False


def _small_statement_holding(body: cst.CSTNode, raiser: cst.CSTNode) -> Optional[cst.CSTNode]:
    """The simple statement of ``body`` whose expression holds ``raiser``, or None (a call in a
    compound statement's header: then the whole body is judged, as before)."""
    for statement, _path in find(body, (cst.SimpleStatementLine,)):
        if any(found is raiser for found, _ in find(statement, (cst.Call,))):
            return statement
    return None


def _builds_exception(ctx: "ModuleContext", call: cst.CSTNode) -> bool:
    """``TimeoutError("timed out")`` in a ``raise``: building a known exception."""
    func = call.func if isinstance(call, cst.Call) else None
    name = (ctx.resolve(func) or "") if func is not None else ""
    return (name[len("builtins."):] if name.startswith("builtins.") else name) in EXCEPTION_BASES


def _fails_only_with_os_error(ctx: "ModuleContext", call: cst.CSTNode, held_names: Set[str], model: str) -> bool:
    """``sock.connect(a)`` on a socket followed, ``os.chown(...)``: a call whose realistic
    failures are all OSErrors."""
    func = call.func if isinstance(call, cst.Call) else None
    if func is None:
        return False
    if model in OS_ERROR_MODELS and isinstance(func, cst.Attribute) and dotted(func.value) in held_names:
        return True
    return (ctx.resolve(func) or "").startswith(OS_ERROR_PREFIXES)


def _raised_name(ctx: "ModuleContext", node: cst.Raise) -> Optional[str]:
    exc = node.exc
    if isinstance(exc, cst.Call):
        exc = exc.func
    if not isinstance(exc, (cst.Name, cst.Attribute)):
        return None
    return ctx.resolve(exc) or dotted(exc)


def _is_caught(name: Optional[str], caught: FrozenSet[str]) -> bool:
    """``name`` or one of its bases (``TimeoutError`` -> ``OSError``) is among ``caught``."""
    seen = 0
    while name is not None and seen < 12:
        name = name[len("builtins."):] if name.startswith("builtins.") else name
        if name in caught or ("OSError" if name in OS_ERROR_NAMES else "") in caught:
            return True
        name = EXCEPTION_BASES.get(name)
        seen += 1
    return False


def _local_raises_only_caught(ctx: "ModuleContext", call: cst.CSTNode, caught: FrozenSet[str]) -> bool:
    func = call.func if isinstance(call, cst.Call) else None
    function = ctx.functions.get(func.value) if isinstance(func, cst.Name) else None
    if function is None:
        return False
    raised = quiet_functions_of(ctx).raised_types(function)
    return raised is not None and all(_is_caught(name, caught) for name in raised)


def all_attempts_failed(node: cst.If, failure_records: Set[str]) -> bool:
    """``if len(errors) == len(addrs): raise`` after a retry loop, ``errors`` one of the
    ``failure_records`` (filled only by a handler that closed the failed attempt)."""
    if not failure_records:
        return False
    body = block_of(node.body)
    last = body[-1] if body else None
    if not (isinstance(last, SMALL_CONTAINERS) and isinstance(last.body[-1], cst.Raise)):
        return False
    return any(found.value in failure_records for found, _ in find(node.test, (cst.Name,)))  # type: ignore[attr-defined]

"""Follow one resource through the body of one function, path by path.

A small abstract interpreter over the statement structure. The state of the resource is
a set of three facts (a bit mask): not yet acquired (``NONE``), held (``OPEN``), released
or handed on (``DONE``). Each statement moves the mask; branches join by union; loops run
to a fixed point; ``try``/``except``/``finally`` route the exceptional paths. What leaves
the function while ``OPEN`` is a leak, and how it leaves says which rule it breaks:
a normal exit, ``return``, ``break``/``continue`` or an explicit ``raise`` is MEM001; an
exception raised by a call between acquisition and release is MEM003.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, List, Optional, Sequence, Set, Tuple

import libcst as cst

from memlint.analysis.names import block_of, dotted, is_binding_target, self_attribute
from memlint.analysis.resources import (
    ANY_RELEASE_FUNCS,
    ANY_RELEASE_METHODS,
    BORROWER_PREFIXES,
    BORROWERS,
    HANDOFF_METHODS,
    PATH_CONSTRUCTORS,
    RECLAIM_METHODS,
    ResourceSpec,
)
from memlint.analysis.walk import find

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.module import ModuleContext

NONE, OPEN, DONE = 1, 2, 4

# Calls that cannot fail in a way that matters between acquiring and releasing: the
# question MEM003 asks is about I/O and real work, not about ``list.append`` running out
# of memory.
NON_RAISING_CALLS = frozenset(
    {
        "len", "isinstance", "issubclass", "id", "type", "callable", "hasattr", "super", "print",
        "repr", "str", "bool", "object", "time.time", "time.monotonic", "time.perf_counter",
        "os.getpid", "os.path.join", "os.path.basename", "os.path.dirname", "os.path.splitext",
        "os.path.split", "os.path.normpath", "os.path.abspath", "os.path.exists", "os.path.isfile",
        "os.path.isdir", "os.path.islink", "os.fspath", "stat.S_ISSOCK", "stat.S_ISDIR",
        "stat.S_ISREG", "sys.audit", "pathlib.Path", "Path", "textwrap.dedent", "dedent",
        "threading.Thread", "Thread", "threading.Event", "threading.Lock", "contextlib.suppress",
        "suppress",
    }
)
NON_RAISING_METHODS = frozenset(
    {
        "append", "appendleft", "extend", "add", "get", "setdefault", "items", "keys", "values",
        "copy", "format", "join", "split", "rsplit", "strip", "lstrip", "rstrip", "lower", "upper",
        "startswith", "endswith", "replace", "find", "rfind", "splitlines", "clear", "fileno",
        "getsockname", "getpeername", "gettimeout", "settimeout", "setblocking",
        "set_inheritable", "setsockopt",
        # registering a cleanup is how code makes itself safe, not a step that fails
        "addCleanup", "addClassCleanup", "callback", "push", "enter_context", "register",
        "add_done_callback",
    }
)
LOGGING_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log"})
# Calls that turn a path into another form of the same path.
PATH_WRAPPERS = frozenset(
    {"pathlib.Path", "Path", "os.path.join", "os.fspath", "str", "os.path.abspath", "os.path.realpath", "os.fsencode"}
)
# Calls after which the process is gone (or replaced).
TERMINATORS = frozenset(
    {"os._exit", "os.abort", "sys.exit", "os.execv", "os.execve", "os.execvp", "os.execvpe", "os.execl", "os.execlp", "os.execle", "os.execlpe"}
)
TRY_STAR = getattr(cst, "TryStar", None)
MATCH = getattr(cst, "Match", None)
SMALL_CONTAINERS = (cst.SimpleStatementLine, cst.SimpleStatementSuite)
BROAD_EXCEPTIONS = frozenset({"Exception", "BaseException", "builtins.Exception", "builtins.BaseException"})


@dataclass
class Flow:
    """How control leaves a statement or block, with the resource's state on each way out."""

    normal: int = 0
    breaks: int = 0
    continues: int = 0
    # Union of the states at every point where an exception may be raised.
    raise_any: int = 0
    # Every ``return`` with its mask; the raises that leave with the resource held.
    returns: List[Tuple[int, cst.CSTNode]] = field(default_factory=list)
    raises: List[Tuple[int, cst.CSTNode, str]] = field(default_factory=list)

    def absorb(self, other: "Flow") -> None:
        """Take on the non-normal ways out of ``other`` (its normal exit is the caller's)."""
        self.breaks |= other.breaks
        self.continues |= other.continues
        self.raise_any |= other.raise_any
        self.returns.extend(other.returns)
        self.raises.extend(other.raises)


@dataclass
class Tracker:
    """One resource being followed: the names it goes by and what happened to it."""

    names: Set[str]
    spec: ResourceSpec
    acquisition_node: cst.CSTNode
    acquisition_statement: cst.CSTNode
    # Extra ways to release it: methods of ``self`` that release what it was registered in.
    release_self_methods: Set[str] = field(default_factory=set)
    # Loops that contain the acquisition: a ``break``/``continue`` in them can skip release.
    enclosing_loops: Tuple[cst.CSTNode, ...] = ()
    # Local flags set next to the acquisition (``close_source = True``) that later guard
    # the release: ``if close_source:`` is true exactly when the resource is held.
    guards: Set[str] = field(default_factory=set)
    # For ``tmp.name``: the name of the object it belongs to. Handing that object on
    # (``yield tmp``, ``return tmp``) hands its path on too.
    holders: Set[str] = field(default_factory=set)
    # Held in a local container (``handles[p] = open(p)``): acquiring again adds to it.
    container: bool = False
    ever_released: bool = False
    rebinds: List[cst.CSTNode] = field(default_factory=list)
    loop_exits: List[Tuple[cst.CSTNode, str]] = field(default_factory=list)
    release_nodes: List[cst.CSTNode] = field(default_factory=list)


@dataclass
class Outcome:
    """What the interpreter concluded about one resource."""

    category: str  # "ok", "never", "return", "raise", "rebind", "loop-exit", "branch", "error"
    witness: Optional[cst.CSTNode] = None
    witness_kind: str = ""
    release_nodes: Tuple[cst.CSTNode, ...] = ()


def _keep_held(entries: list) -> list:
    return [entry for entry in entries if entry[0] & OPEN]


def _after_release(mask: int) -> int:
    return (mask & ~OPEN) | DONE if mask & OPEN else mask


class Interpreter:
    """Runs one tracker over one function body."""

    def __init__(
        self, ctx: "ModuleContext", tracker: Tracker, scope_class: Optional[str], yields_raise: bool = True
    ) -> None:
        self.ctx = ctx
        self.tracker = tracker
        self.scope_class = scope_class
        # In a @contextmanager generator the exception thrown in at ``yield`` is MEM004's
        # business (cleanup after yield), not a second finding on the resource.
        self.yields_raise = yields_raise
        self.handler_depth = 0
        self._seen_rebinds: Set[int] = set()

    # -- blocks and statements -------------------------------------------------------

    def block(self, statements: Sequence[cst.CSTNode], mask: int) -> Flow:
        flow = Flow()
        current = mask
        for statement in statements:
            if not current:
                break
            result = self.statement(statement, current)
            flow.absorb(result)
            current = result.normal
        flow.normal = current
        return flow

    def suite(self, suite: Optional[cst.BaseSuite], mask: int) -> Flow:
        if suite is None:
            return Flow(normal=mask)
        return self.block(block_of(suite), mask)

    def statement(self, node: cst.CSTNode, mask: int) -> Flow:
        if isinstance(node, SMALL_CONTAINERS):
            flow = Flow()
            current = mask
            for small in node.body:
                if not current:
                    break
                result = self.small(small, current)
                flow.absorb(result)
                current = result.normal
            flow.normal = current
            return flow
        if isinstance(node, cst.If):
            return self.if_statement(node, mask)
        if isinstance(node, (cst.For, cst.While)):
            return self.loop(node, mask)
        if isinstance(node, cst.Try) or (TRY_STAR is not None and isinstance(node, TRY_STAR)):
            return self.try_statement(node, mask)
        if isinstance(node, cst.With):
            return self.with_statement(node, mask)
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            return Flow(normal=self.nested_scope(node, mask))
        if MATCH is not None and isinstance(node, MATCH):
            return self.match_statement(node, mask)
        return Flow(normal=mask)

    def small(self, node: cst.CSTNode, mask: int) -> Flow:
        flow = Flow()
        if isinstance(node, cst.Return):
            current = self.effects(node, mask, flow)
            # Kept even when not held: a ``finally`` on the way out may still change that.
            flow.returns.append((current, node))
            return flow
        if isinstance(node, cst.Raise):
            current = self.effects(node, mask, flow, count_raise=False)
            kind = "reraise" if self.handler_depth else "raise"
            flow.raise_any |= current
            if current & OPEN:
                flow.raises.append((current, node, kind))
            return flow
        if isinstance(node, cst.Break):
            flow.breaks = mask
            if mask & OPEN:
                self._loop_exit(node, "break")
            return flow
        if isinstance(node, cst.Continue):
            flow.continues = mask
            if mask & OPEN:
                self._loop_exit(node, "continue")
            return flow
        if isinstance(node, (cst.Global, cst.Nonlocal)):
            declared = {item.name.value for item in node.names}
            if declared & self.tracker.names:
                self._release(None)
                flow.normal = _after_release(mask)
                return flow
            flow.normal = mask
            return flow
        flow.normal = self.effects(node, mask, flow)
        if isinstance(node, cst.Expr) and isinstance(node.value, cst.Call):
            if (self.ctx.resolve(node.value.func) or "") in TERMINATORS:
                # The process ends here: nothing is left to leak.
                flow.normal = 0
        return flow

    def if_statement(self, node: cst.If, mask: int) -> Flow:
        flow = Flow()
        current = self.effects(node.test, mask, flow, statement=node)
        when_true, when_false = self.refine(node.test, current)
        body = self.suite(node.body, when_true) if when_true else Flow()
        if node.orelse is None:
            other = Flow(normal=when_false)
        elif isinstance(node.orelse, cst.If):
            other = self.if_statement(node.orelse, when_false) if when_false else Flow()
        else:
            other = self.suite(node.orelse.body, when_false) if when_false else Flow()
        flow.absorb(body)
        flow.absorb(other)
        flow.normal = body.normal | other.normal
        return flow

    def loop(self, node: cst.CSTNode, mask: int) -> Flow:
        flow = Flow()
        is_while = isinstance(node, cst.While)
        forever = is_while and _is_true_constant(node.test)  # type: ignore[union-attr]
        head = mask
        if not is_while:
            head = self.effects(node.iter, head, flow, statement=node)  # type: ignore[union-attr]
        body_flow = Flow()
        for _ in range(6):
            entry = head
            if is_while:
                entry = self.effects(node.test, entry, flow, statement=node)  # type: ignore[union-attr]
                entry, _false = self.refine(node.test, entry)  # type: ignore[union-attr]
            else:
                entry = self.bind_targets(node.target, entry, flow)  # type: ignore[union-attr]
                if self.tracker.container and self._mentions(node.iter):  # type: ignore[union-attr]
                    # Iterating over a container of resources: each item is one of them.
                    for name_node, _ in find(node.target, (cst.Name,)):  # type: ignore[union-attr]
                        self.tracker.names.add(name_node.value)  # type: ignore[attr-defined]
            body_flow = self.suite(node.body, entry)  # type: ignore[union-attr]
            new_head = head | body_flow.normal | body_flow.continues
            if new_head == head:
                break
            head = new_head
        flow.raise_any |= body_flow.raise_any
        flow.returns.extend(body_flow.returns)
        flow.raises.extend(body_flow.raises)
        exit_mask = 0 if forever else head
        if (
            not is_while
            and self.tracker.container
            and self._mentions(node.iter)  # type: ignore[union-attr]
            and not (body_flow.normal & OPEN)
            and head & OPEN
        ):
            # ``for h in handles: h.close()`` releases every resource the container holds.
            exit_mask = _after_release(head)
        if is_while and not forever:
            _true, exit_mask = self.refine(node.test, head)  # type: ignore[union-attr]
        orelse = node.orelse  # type: ignore[union-attr]
        if orelse is not None and exit_mask:
            else_flow = self.suite(orelse.body, exit_mask)
            flow.absorb(else_flow)
            exit_mask = else_flow.normal
        flow.normal = exit_mask | body_flow.breaks
        return flow

    def try_statement(self, node: cst.CSTNode, mask: int) -> Flow:
        body = self.suite(node.body, mask)  # type: ignore[attr-defined]
        result = Flow()
        result.breaks, result.continues = body.breaks, body.continues
        result.returns.extend(body.returns)
        normal = body.normal
        orelse = node.orelse  # type: ignore[attr-defined]
        if orelse is not None and body.normal:
            # What the else block raises is not caught by this try's handlers.
            else_flow = self.suite(orelse.body, body.normal)
            result.absorb(else_flow)
            normal = else_flow.normal
        handlers = node.handlers  # type: ignore[attr-defined]
        if handlers and not any(self._is_broad(handler) for handler in handlers):
            # ``except OSError`` lets a UnicodeDecodeError through: what the body raises can
            # also leave the statement unhandled.
            result.raise_any |= body.raise_any
            result.raises.extend(body.raises)
        if handlers:
            handler_in = body.raise_any
            if handler_in:
                self.handler_depth += 1
                try:
                    for handler in handlers:
                        handled = self.suite(handler.body, handler_in)
                        result.absorb(handled)
                        normal |= handled.normal
                finally:
                    self.handler_depth -= 1
        else:
            result.raise_any |= body.raise_any
            result.raises.extend(body.raises)
        result.normal = normal
        finalbody = node.finalbody  # type: ignore[attr-defined]
        if finalbody is None:
            return result
        return self.through_finally(finalbody.body, result)

    def _is_broad(self, handler: cst.ExceptHandler) -> bool:
        kind = handler.type
        if kind is None:
            return True
        names = [element.value for element in kind.elements] if isinstance(kind, cst.Tuple) else [kind]
        return any((self.ctx.resolve(name) or "") in BROAD_EXCEPTIONS for name in names)  # type: ignore[arg-type]

    def through_finally(self, final: cst.BaseSuite, flow: Flow) -> Flow:
        """Route every way out of a ``try`` through its ``finally`` block."""
        out = Flow()

        def run(mask: int) -> int:
            if not mask:
                return 0
            result = self.suite(final, mask)
            out.returns.extend(result.returns)
            out.raises.extend(result.raises)
            out.raise_any |= result.raise_any
            return result.normal

        out.normal = run(flow.normal)
        out.breaks = run(flow.breaks)
        out.continues = run(flow.continues)
        out.raise_any |= run(flow.raise_any)
        for mask, node in flow.returns:
            out.returns.append((run(mask), node))
        for mask, node, kind in flow.raises:
            after = run(mask)
            if after & OPEN:
                out.raises.append((after, node, kind))
        return out

    def with_statement(self, node: cst.With, mask: int) -> Flow:
        flow = Flow()
        current = mask
        suppresses = False
        for item in node.items:
            if self._manages(item.item):
                self._release(item)
                current = _after_release(current)
            else:
                current = self.effects(item.item, current, flow, statement=node)
            if item.asname is not None:
                current = self.bind_targets(item.asname.name, current, flow)
            call = item.item
            if isinstance(call, cst.Call) and (self.ctx.resolve(call.func) or "").endswith("suppress"):
                suppresses = True
        body = self.suite(node.body, current)
        flow.breaks |= body.breaks
        flow.continues |= body.continues
        flow.returns.extend(body.returns)
        if suppresses:
            flow.normal = body.normal | body.raise_any
        else:
            flow.raise_any |= body.raise_any
            flow.raises.extend(body.raises)
            flow.normal = body.normal
        return flow

    def match_statement(self, node: cst.CSTNode, mask: int) -> Flow:
        flow = Flow()
        current = self.effects(node.subject, mask, flow, statement=node)  # type: ignore[attr-defined]
        normal = current
        for case in node.cases:  # type: ignore[attr-defined]
            result = self.suite(case.body, current)
            flow.absorb(result)
            normal |= result.normal
        flow.normal = normal
        return flow

    def nested_scope(self, node: cst.CSTNode, mask: int) -> int:
        """A nested function or class that refers to the resource takes it over."""
        for name_node, _ in find(node, (cst.Name,), stop=()):
            if name_node.value in self.tracker.names:  # type: ignore[attr-defined]
                self._release(None)
                return _after_release(mask)
        return mask

    # -- tests ------------------------------------------------------------------------

    def refine(self, test: cst.BaseExpression, mask: int) -> Tuple[int, int]:
        """The masks on the true and false branches of ``test``."""
        if isinstance(test, cst.BooleanOperation):
            left_true, left_false = self.refine(test.left, mask)
            if isinstance(test.operator, cst.And):
                right_true, right_false = self.refine(test.right, left_true)
                return right_true, left_false | right_false
            right_true, right_false = self.refine(test.right, left_false)
            return left_true | right_true, right_false
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            when_true, when_false = self.refine(test.expression, mask)
            return when_false, when_true
        verdict = self._truth_of(test)
        if verdict is None:
            return mask, mask
        if verdict:
            return mask & ~NONE, mask & ~OPEN
        return mask & ~OPEN, mask & ~NONE

    def _truth_of(self, test: cst.BaseExpression) -> Optional[bool]:
        """True if ``test`` holds exactly when the resource is bound, False if exactly when
        it is not, None if it says nothing about it."""
        if isinstance(test, (cst.Name, cst.Attribute)):
            name = dotted(test)
            if name in self.tracker.names or name in self.tracker.guards:
                return True
            if name is not None and "!" + name in self.tracker.guards:
                return False
            return None
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
            target = test.comparisons[0]
            left, right = test.left, target.comparator
            if isinstance(right, cst.Name) and right.value == "None" and dotted(left) in self.tracker.names:
                if isinstance(target.operator, (cst.IsNot, cst.NotEqual)):
                    return True
                if isinstance(target.operator, (cst.Is, cst.Equal)):
                    return False
            if dotted(left) in self.tracker.names and isinstance(target.operator, (cst.Is, cst.IsNot)):
                # ``if f is not sys.stdin: f.close()``: the resource is never identical to
                # the stand-in it was chosen instead of.
                return isinstance(target.operator, cst.IsNot)
            if isinstance(left, cst.SimpleString) and isinstance(target.operator, (cst.In, cst.NotIn)):
                if left.evaluated_value in self.tracker.names:
                    return isinstance(target.operator, cst.In)
        return None

    # -- expressions ------------------------------------------------------------------

    def _manages(self, expr: cst.BaseExpression) -> bool:
        """``with x:``, ``with closing(x):``, ``with Wrapper(x):`` take care of ``x``;
        ``with x.cursor():`` does not."""
        if dotted(expr) in self.tracker.names:
            return True
        if isinstance(expr, cst.Call):
            return any(dotted(arg.value) in self.tracker.names for arg in expr.args)
        return False

    def _mentions(self, node: cst.CSTNode) -> bool:
        for found, _ in find(node, (cst.Name, cst.Attribute)):
            if dotted(found) in self.tracker.names:  # type: ignore[arg-type]
                return True
        return False

    def bind_targets(self, target: cst.CSTNode, mask: int, flow: Flow) -> int:
        """Assigning to ``target``: rebinding a name of the resource loses it."""
        current = mask
        for found, path in find(target, (cst.Name, cst.Attribute)):
            name = dotted(found)  # type: ignore[arg-type]
            if name in self.tracker.names and not _is_attribute_part(found, path):
                current = self._rebind(name, found, current)
        return current

    def _rebind(self, name: str, node: cst.CSTNode, mask: int) -> int:
        if len(self.tracker.names) > 1:
            self.tracker.names.discard(name)
            return mask
        if mask & OPEN:
            if id(node) not in self._seen_rebinds:
                self._seen_rebinds.add(id(node))
                self.tracker.rebinds.append(node)
            return (mask & ~OPEN) | DONE
        return mask

    def _release(self, node: Optional[cst.CSTNode]) -> None:
        self.tracker.ever_released = True
        if node is not None:
            self.tracker.release_nodes.append(node)

    def _loop_exit(self, node: cst.CSTNode, kind: str) -> None:
        if self.tracker.enclosing_loops:
            self.tracker.loop_exits.append((node, kind))

    def effects(
        self,
        node: cst.CSTNode,
        mask: int,
        flow: Flow,
        count_raise: bool = True,
        statement: Optional[cst.CSTNode] = None,
    ) -> int:
        """Apply one small statement (or a compound statement's header) to the mask."""
        tracker = self.tracker
        holder = statement if statement is not None else node
        if holder is tracker.acquisition_statement or node is tracker.acquisition_statement:
            return self._acquire(node, mask, flow, count_raise)
        occurrences = [
            (found, path)
            for found, path in find(node, (cst.Name, cst.Attribute, cst.Lambda, cst.FunctionDef))
            if not isinstance(found, (cst.Lambda, cst.FunctionDef)) or self._mentions_inside(found)
        ]
        released = escaped = reclaimed = raising_use = False
        handled_calls: Set[int] = set()
        rebinds: List[Tuple[str, cst.CSTNode]] = []
        aliases: List[str] = []
        for found, path in occurrences:
            if isinstance(found, (cst.Lambda, cst.FunctionDef)):
                escaped = True
                continue
            name = dotted(found)  # type: ignore[arg-type]
            if name in tracker.holders and not _is_attribute_part(found, path):
                escaped = escaped or self._holder_handed_on(found, path)
                continue
            if name not in tracker.names or _is_attribute_part(found, path):
                continue
            verdict, call = self.classify(found, path)
            if call is not None and verdict in ("release", "escape", "register", "reclaim"):
                handled_calls.add(id(call))
            if verdict == "release":
                released = True
                self._release(_statement_of(path, node))
            elif verdict == "escape":
                escaped = True
            elif verdict == "rebind":
                rebinds.append((name, found))
            elif verdict.startswith("alias:"):
                aliases.extend(verdict[6:].split(","))
            elif verdict == "reclaim":
                reclaimed = True
            elif verdict == "raising-use":
                raising_use = True
        self_release = self._calls_self_release(node, handled_calls)
        # A statement that hands the resource on is taken to do so before anything in it
        # fails; only statements that merely use it can leave it stranded.
        hands_on = released or escaped or self_release
        if count_raise and mask and not hands_on and (raising_use or self._can_raise(node, handled_calls)):
            flow.raise_any |= mask
            if mask & OPEN:
                flow.raises.append((mask, self._first_raising(node, handled_calls) or node, "call"))
        current = mask
        if hands_on:
            if escaped and not released:
                self.tracker.ever_released = True
            current = _after_release(current)
        elif reclaimed and current & DONE:
            current = (current & ~DONE) | OPEN
        for alias in aliases:
            tracker.names.add(alias)
        for name, found in rebinds:
            current = self._rebind(name, found, current)
        return current

    def _mentions_inside(self, scope: cst.CSTNode) -> bool:
        for found, _ in find(scope, (cst.Name,), stop=()):
            if found.value in self.tracker.names:  # type: ignore[attr-defined]
                return True
        return False

    def _acquire(self, node: cst.CSTNode, mask: int, flow: Flow, count_raise: bool) -> int:
        if count_raise and mask and not self.tracker.container:
            flow.raise_any |= mask
            # Whatever is raised before the new resource exists concerns the old one.
            if mask & OPEN:
                flow.raises.append((mask, self.tracker.acquisition_node, "call"))
        if mask & OPEN and not self.tracker.container:
            key = id(self.tracker.acquisition_node)
            if key not in self._seen_rebinds:
                self._seen_rebinds.add(key)
                self.tracker.rebinds.append(self.tracker.acquisition_node)
        return OPEN

    def _calls_self_release(self, node: cst.CSTNode, handled: Set[int]) -> bool:
        methods = self.tracker.release_self_methods
        if not methods:
            return False
        for call, _ in find(node, (cst.Call,)):
            func = call.func  # type: ignore[attr-defined]
            if (
                isinstance(func, cst.Attribute)
                and isinstance(func.value, cst.Name)
                and func.value.value == "self"
                and func.attr.value in methods
            ):
                handled.add(id(call))
                self._release(node)
                return True
        return False

    def classify(self, found: cst.CSTNode, path: Tuple[cst.CSTNode, ...]) -> Tuple[str, Optional[cst.CSTNode]]:
        """What one mention of the resource does to it: use, release, escape, rebind, alias."""
        spec = self.tracker.spec
        parent = path[-1] if path else None
        grand = path[-2] if len(path) > 1 else None
        if parent is None:
            return "use", None
        if is_binding_target(found, path):
            if isinstance(parent, cst.AugAssign) and parent.target is found:
                return "use", None
            return "rebind", None
        if isinstance(parent, cst.Attribute) and parent.value is found:
            method = parent.attr.value
            if isinstance(grand, cst.Call) and grand.func is parent:
                if method in spec.release or method in ("__exit__", "__aexit__"):
                    return "release", grand
                return "use", None
            if isinstance(grand, cst.Arg) and method in spec.release | {"__exit__", "__aexit__"}:
                # ``atexit.register(f.close)``, ``stack.callback(s.close)``: released later.
                return "escape", path[-3] if len(path) > 2 else None
            return "use", None
        if isinstance(parent, cst.Subscript) and parent.value is found:
            return "raising-use", None
        if isinstance(parent, cst.Arg):
            call = grand
            if not isinstance(call, cst.Call):
                return "use", None
            return self._argument_verdict(call, path), call
        if isinstance(parent, (cst.Return, cst.Yield)):
            return "escape", None
        if isinstance(parent, (cst.Element, cst.DictElement, cst.StarredElement, cst.StarredDictElement)):
            container = grand
            if isinstance(container, (cst.Tuple, cst.List)) and len(path) > 2:
                holder = path[-3]
                if isinstance(holder, (cst.For, cst.CompFor)) or _is_borrowing_arg(self, path, 3):
                    return "use", None
            return "escape", None
        if isinstance(parent, (cst.Assign, cst.AnnAssign)) and parent.value is found:
            targets = [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else [parent.target]
            names = [t.value for t in targets if isinstance(t, cst.Name)]
            if len(names) == len(targets):
                return "alias:" + ",".join(names), None
            return self._store_verdict(targets), None
        if isinstance(parent, cst.WithItem):
            return "release", None
        if isinstance(parent, cst.Del) or (isinstance(parent, cst.Tuple) and isinstance(grand, cst.Del)):
            # ``del f`` drops the name; the object is closed only by the garbage collector.
            return "rebind", None
        if isinstance(parent, cst.NamedExpr) and parent.value is found:
            return "alias:" + dotted(parent.target), None  # type: ignore[arg-type,operator]
        return "use", None

    def _store_verdict(self, targets: Sequence[cst.BaseExpression]) -> str:
        """Storing the resource somewhere else: on ``self`` it is registered with its owner."""
        for target in targets:
            attr = self_attribute(target)
            if attr is not None and self._registers_with_owner(attr):
                return "register"
        return "escape"

    def _registers_with_owner(self, attr: str) -> bool:
        """True when this method itself calls the method that releases ``self.attr``, so the
        registration does not end its responsibility (the rules document's MEM-003 case)."""
        releasers = self.ctx.releasers_of(self.scope_class, attr)
        active = releasers & self.ctx.self_calls_in_scope
        if active:
            self.tracker.release_self_methods |= active
            return True
        return False

    def _argument_verdict(self, call: cst.Call, path: Tuple[cst.CSTNode, ...]) -> str:
        spec = self.tracker.spec
        func = call.func
        qualified = self.ctx.resolve(func) or ""
        if qualified in spec.release_funcs:
            return "release"
        if spec.is_path and qualified in PATH_CONSTRUCTORS and len(path) > 2:
            outer = path[-3] if len(path) > 2 else None
            if isinstance(outer, cst.Attribute) and outer.attr.value in ("unlink", "rmdir"):
                return "release"
        last = func.attr.value if isinstance(func, cst.Attribute) else (func.value if isinstance(func, cst.Name) else "")
        if isinstance(func, cst.Attribute):
            attr = self_attribute(func.value)
            if attr is not None and last in HANDOFF_METHODS and self._registers_with_owner(attr):
                return "register"
        if last in HANDOFF_METHODS or qualified in ("contextlib.closing", "contextlib.aclosing", "atexit.register", "weakref.finalize"):
            return "escape"
        if isinstance(func, cst.Attribute) and last in RECLAIM_METHODS:
            return "reclaim"
        if isinstance(func, cst.Attribute) and dotted(func.value) in self.tracker.names:
            return "use"
        if spec.is_path:
            if any(word in last.lower() for word in ("remove", "unlink", "rmtree", "delete", "cleanup")):
                return "release"
            if self._path_handed_back(path):
                return "escape"
            return "use"
        if qualified in BORROWERS or qualified.startswith(BORROWER_PREFIXES):
            return "use"
        if last.startswith("assert") or last in LOGGING_METHODS:
            return "use"
        local = self.ctx.parameter_behaviour(qualified, call, path)
        if local is not None:
            return local
        return "escape"

    def _holder_handed_on(self, found: cst.CSTNode, path: Tuple[cst.CSTNode, ...]) -> bool:
        """Whether this mention gives the object that owns the tracked path to someone else."""
        parent = path[-1] if path else None
        if isinstance(parent, (cst.Return, cst.Yield, cst.Element, cst.DictElement)):
            return True
        if isinstance(parent, (cst.Assign, cst.AnnAssign)) and parent.value is found:
            return True
        if isinstance(parent, cst.Arg) and len(path) > 1 and isinstance(path[-2], cst.Call):
            qualified = self.ctx.resolve(path[-2].func) or ""  # type: ignore[attr-defined]
            return not (qualified in BORROWERS or qualified.startswith(BORROWER_PREFIXES))
        return False

    def _path_handed_back(self, path: Tuple[cst.CSTNode, ...]) -> bool:
        """``yield Path(tmp)``, ``return os.path.join(tmp, name)``: the caller gets the path."""
        for node in reversed(path):
            if isinstance(node, (cst.Return, cst.Yield)):
                return True
            if isinstance(node, cst.Arg):
                continue
            if isinstance(node, cst.Call) and (self.ctx.resolve(node.func) or "") in PATH_WRAPPERS:
                continue
            return False
        return False

    # -- can it raise? ------------------------------------------------------------------

    def _raising_calls(self, node: cst.CSTNode, handled: Set[int]) -> List[cst.CSTNode]:
        raising: List[cst.CSTNode] = []
        if self.handler_depth:
            # An except block is already the error path; what its own calls might raise
            # is a second failure, not the one the code is written for.
            return raising
        for found, path in find(node, (cst.Call, cst.Await, cst.Yield)):
            if isinstance(found, cst.Call):
                if id(found) in handled:
                    continue
                func = found.func
                name = dotted(func) or ""
                last = func.attr.value if isinstance(func, cst.Attribute) else name.rsplit(".", 1)[-1]
                if name in NON_RAISING_CALLS or (self.ctx.resolve(func) or "") in NON_RAISING_CALLS:
                    continue
                on_resource = isinstance(func, cst.Attribute) and dotted(func.value) in self.tracker.names
                if isinstance(func, cst.Attribute) and not on_resource and (
                    last in LOGGING_METHODS or last in NON_RAISING_METHODS
                ):
                    continue
                if isinstance(func, cst.Name) and last in LOGGING_METHODS:
                    continue
                # Releasing something else is taken not to fail (``os.close(fd)``, ``b.close()``,
                # ``pty.close_w()``).
                if isinstance(func, cst.Attribute) and (
                    last in ANY_RELEASE_METHODS or last.startswith(("close", "release"))
                ):
                    continue
                if (self.ctx.resolve(func) or "") in ANY_RELEASE_FUNCS:
                    continue
                raising.append(found)
            elif isinstance(found, cst.Await):
                if isinstance(found.expression, cst.Call) and id(found.expression) in handled:
                    continue
                raising.append(found)
            elif isinstance(found, cst.Yield):
                if self.yields_raise:
                    raising.append(found)
            # ``assert proc.stdout is not None`` narrows a type; it is not an error path.
        return raising

    def _can_raise(self, node: cst.CSTNode, handled: Set[int]) -> bool:
        return bool(self._raising_calls(node, handled))

    def _first_raising(self, node: cst.CSTNode, handled: Set[int]) -> Optional[cst.CSTNode]:
        calls = self._raising_calls(node, handled)
        return calls[0] if calls else None


def _is_true_constant(test: cst.BaseExpression) -> bool:
    if isinstance(test, cst.Name) and test.value == "True":
        return True
    return isinstance(test, cst.Integer) and test.value not in ("0",)


def _is_attribute_part(found: cst.CSTNode, path: Tuple[cst.CSTNode, ...]) -> bool:
    """True for the ``b`` of ``a.b`` and for keyword names: they are not references."""
    if not path:
        return False
    parent = path[-1]
    if isinstance(parent, cst.Attribute) and parent.attr is found:
        return True
    if isinstance(parent, cst.Arg) and parent.keyword is found:
        return True
    if isinstance(parent, (cst.ImportAlias, cst.Param, cst.FunctionDef, cst.ClassDef)):
        return True
    return False


def _statement_of(path: Tuple[cst.CSTNode, ...], default: cst.CSTNode) -> cst.CSTNode:
    for node in reversed(path):
        if isinstance(node, cst.BaseSmallStatement):
            return node
    return default


def _is_borrowing_arg(interpreter: Interpreter, path: Tuple[cst.CSTNode, ...], depth: int) -> bool:
    if len(path) <= depth:
        return False
    arg = path[-depth]
    if isinstance(arg, cst.Arg) and len(path) > depth and isinstance(path[-depth - 1], cst.Call):
        call = path[-depth - 1]
        qualified = interpreter.ctx.resolve(call.func) or ""  # type: ignore[attr-defined]
        return qualified in BORROWERS or qualified.startswith(BORROWER_PREFIXES)
    return False


def conclude(tracker: Tracker, flow: Flow) -> Outcome:
    """Turn the flows out of a whole function into one verdict."""
    releases = tuple(tracker.release_nodes)
    explicit = [entry for entry in flow.raises if entry[2] == "raise"]
    error = [entry for entry in flow.raises if entry[2] != "raise"]
    held_at_end = bool(flow.normal & OPEN)
    returns = _keep_held(flow.returns)
    normal_leak = held_at_end or returns or tracker.rebinds or explicit
    if normal_leak:
        if not tracker.ever_released:
            return Outcome("never", release_nodes=releases)
        if returns:
            return Outcome("return", returns[0][1], "return", releases)
        if explicit:
            return Outcome("raise", explicit[0][1], "raise", releases)
        if tracker.loop_exits:
            node, kind = tracker.loop_exits[0]
            return Outcome("loop-exit", node, kind, releases)
        if tracker.rebinds:
            return Outcome("rebind", tracker.rebinds[0], "rebind", releases)
        return Outcome("branch", release_nodes=releases)
    if error:
        return Outcome("error", error[0][1], error[0][2], releases)
    return Outcome("ok", release_nodes=releases)


def run(
    ctx: "ModuleContext",
    tracker: Tracker,
    body: Sequence[cst.CSTNode],
    scope_class: Optional[str],
    yields_raise: bool = True,
) -> Outcome:
    interpreter = Interpreter(ctx, tracker, scope_class, yields_raise)
    flow = interpreter.block(body, NONE)
    return conclude(tracker, flow)

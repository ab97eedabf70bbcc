"""The path interpreter: follow one resource through the body of one function, path by path.

An abstract interpreter over statements. The state of the resource is a bit mask (``flow``): not yet
acquired, held, released or handed on. Each statement moves the mask; branches join by union; loops run
to a fixed point; ``try``/``except``/``finally`` route the exceptional paths. What each mention of the
resource does is asked of ``mentions``, which calls may raise of ``raises``. The verdict
(``flow.conclude``) says how the resource may leave the function held; the rules judge it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Set, Tuple

import libcst as cst

from memlint.analysis.captures import lambda_only_uses, may_time_out
from memlint.analysis.container_items import iterates_container, name_comprehension_items, name_loop_items
from memlint.analysis.exit_stacks import EXIT_STACK_MODEL, FirstEntry
from memlint.analysis.flow import DONE, NONE, OPEN, Flow, Outcome, Tracker, after_release, conclude, declared_outer, entering_call
from memlint.analysis.flow import comprehension_local, held_type_test, lifetime_fact  # noqa: F401 (lifetime_fact: read as lifetime.lifetime_fact)
from memlint.analysis.handler_types import all_attempts_failed, caught_here, collections_filled, passes_enclosing_handlers
from memlint.analysis.handler_reach import catches_only_import_errors, catches_realistic, is_broad, may_raise_import_error
from memlint.analysis.error_carriers import carried_by_error
from memlint.analysis.released_aliases import aliases_for_handler, forget_alias
from memlint.analysis.alias_handover import releasing_aliases
from memlint.analysis.decided_tests import decided_after, previous_statements
from memlint.analysis.released_tests import closed_attributes, held_membership, released_by_test
from memlint.analysis.same_tests import SameTests
from memlint.analysis.path_forms import rebinds_same_object
from memlint.analysis.own_exceptions import OwnErrorStates
from memlint.analysis.inferred import is_own_work_call
from memlint.analysis.local_class_instances import class_stays_local
from memlint.analysis.mentions import Mentions
from memlint.analysis.names import block_of, checks_existence, dotted, is_acquiring_item, is_attribute_part  # noqa: E501
from memlint.analysis.names import is_true_constant, small_statement_of, test_key
from memlint.analysis.module_flags import module_flag
from memlint.analysis.raise_evidence import direct_evidence
from memlint.analysis.raises import fallible_handoff, raising_calls, reachable_handlers
from memlint.analysis.resources import TERMINATORS, ResourceSpec
from memlint.analysis.pipes import holder_release
from memlint.analysis.sites import borrowed_argument
from memlint.analysis.standard_streams import descriptor_sign_test
from memlint.analysis.walk import find

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ModuleContext

TRY_STAR = getattr(cst, "TryStar", None)
MATCH = getattr(cst, "Match", None)
SMALL_CONTAINERS = (cst.SimpleStatementLine, cst.SimpleStatementSuite)


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
        self.mentions = Mentions(ctx, tracker, scope_class)
        # An exit stack, or a lazy object, holds nothing before it is entered or connected.
        self.first_entry = FirstEntry(tracker.spec.held_after, tracker.spec.release, tracker.enclosing_loops, tracker.spec.model, ctx)
        # The body being interpreted (set by ``run``): where a nested class may be used.
        self.body: Sequence[cst.CSTNode] = ()
        self._seen_rebinds: Set[int] = set()
        self.own_names = set(tracker.names)  # what the acquisition itself binds (alias_handover)
        # Collections filled by an ``except`` block that released the resource: a test on
        # them after a retry loop is about attempts that were closed.
        self.failure_records: Set[str] = set()
        # The ``try`` statements whose body is being interpreted, innermost last.
        self.open_tries: List[cst.CSTNode] = []
        # By ``id`` of a ``try``: what escapes a ``try`` in its body that its handlers cannot catch.
        self.uncaught: Dict[int, Flow] = {}
        self.import_masks: Dict[int, int] = {}  # by ``id`` of a ``try``: the states where its body imports
        self.own_errors = OwnErrorStates(ctx, tracker)  # where a body may raise this module's own classes
        self._previous: Optional[Dict[int, cst.CSTNode]] = None
        self.same_tests = SameTests(ctx, tracker)  # ``if C: f.close()`` ... ``if C: raise``

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
        if self.open_tries and may_raise_import_error(self.ctx, node, self.body):
            for open_try in self.open_tries:  # what an ``except ImportError`` there can be entered with
                self.import_masks[id(open_try)] = self.import_masks.get(id(open_try), 0) | mask
        if isinstance(node, cst.Return):
            current = self.effects(node, mask, flow)
            # Kept even when not held: a ``finally`` on the way out may still change that.
            flow.returns.append((current, node))
            return flow
        if isinstance(node, cst.Raise):
            current = self.effects(node, mask, flow, count_raise=False)
            if self.tracker.spec.is_path and node.exc is not None and self._mentions(node.exc):
                current = after_release(current)  # the error names the path: it is left for its reader
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
                flow.normal = after_release(mask)
                return flow
            flow.normal = mask
            return flow
        flow.normal = self.effects(node, mask, flow)
        if isinstance(node, cst.Expr) and isinstance(node.value, cst.Call):
            if (self.ctx.resolve(node.value.func) or "") in TERMINATORS:
                # The process ends here: nothing is left to leak.
                flow.normal = 0
        return flow

    def decided(self, node: cst.CSTNode) -> Optional[bool]:
        """The value of ``node``'s test that what runs before it decides (``decided_tests``)."""
        if self._previous is None:
            self._previous = previous_statements(self.body)
        return decided_after(self.ctx, self._previous, node)

    def if_statement(self, node: cst.If, mask: int) -> Flow:
        flow = Flow()
        current = self.effects(node.test, mask, flow, statement=node)
        when_true, when_false = self.refine(node.test, current)
        decided = self.decided(node)
        if decided is not None:  # ``name = ... or "root"`` then ``if not name:``: one way only
            when_true, when_false = (when_true, 0) if decided else (0, when_false)
        if when_true & OPEN and self.tracker.enclosing_loops and all_attempts_failed(node, self.failure_records):
            # ``if len(errors) == len(addrs): raise``: errors are recorded only by the
            # handler that closed the failed attempt, so when every attempt failed, every
            # attempt was closed (a retry loop).
            when_true = after_release(when_true)
        when_true, when_false = self.same_tests.refine(node, self.body, when_true, when_false)
        body = self.suite(node.body, when_true) if when_true else Flow()
        if node.orelse is None:
            other = Flow(normal=when_false)
        elif isinstance(node.orelse, cst.If):
            other = self.if_statement(node.orelse, when_false) if when_false else Flow()
        else:
            other = self.suite(node.orelse.body, when_false) if when_false else Flow()
        self.same_tests.note(node, when_true, when_false, body.normal, other.normal)
        flow.absorb(body)
        flow.absorb(other)
        flow.normal = body.normal | other.normal
        return flow

    def loop(self, node: cst.CSTNode, mask: int) -> Flow:
        flow = Flow()
        is_while = isinstance(node, cst.While)
        forever = is_while and is_true_constant(node.test)  # type: ignore[union-attr]
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
                name_loop_items(self.tracker, node.target, node.iter)  # type: ignore[union-attr]
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
            and iterates_container(self.tracker, node.iter)  # type: ignore[union-attr]
            and not (body_flow.normal & OPEN)
            and head & OPEN
        ):
            # ``for h in handles: h.close()`` releases every resource the container holds
            # (``for p in procs[::-1]: p.communicate()`` every pipe its processes own).
            exit_mask = after_release(head)
        if is_while and not forever:
            # ``err = None`` then ``while not err:``: the loop is only left after a turn.
            leaving = body_flow.normal | body_flow.continues if self.decided(node) else head
            _true, exit_mask = self.refine(node.test, leaving)  # type: ignore[union-attr]
        orelse = node.orelse  # type: ignore[union-attr]
        if orelse is not None and exit_mask:
            else_flow = self.suite(orelse.body, exit_mask)
            flow.absorb(else_flow)
            exit_mask = else_flow.normal
        flow.normal = exit_mask | body_flow.breaks
        return flow

    def try_statement(self, node: cst.CSTNode, mask: int) -> Flow:
        self.open_tries.append(node)
        try:
            body = self.suite(node.body, mask)  # type: ignore[attr-defined]
        finally:
            self.open_tries.pop()
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
        if handlers and not any(is_broad(self.ctx, h) for h in handlers) and not catches_realistic(self.ctx, self.tracker, node):
            # ``except OSError`` lets a UnicodeDecodeError through: what the body raises can
            # also leave the statement unhandled, and past an enclosing ``except OSError`` too.
            enclosing = self.open_tries[-1] if self.open_tries else None
            past = passes_enclosing_handlers(self.ctx, node, enclosing)
            leaked = Flow() if past else result
            leaked.raise_any |= body.raise_any
            leaked.raises.extend(e for e in body.raises if not caught_here(self.ctx, e, node, self.tracker.names, self.tracker.spec.model))
            if past:  # it leaves the enclosing ``try`` too, but through this one's ``finally`` first
                final = node.finalbody  # type: ignore[attr-defined]
                self.uncaught.setdefault(id(enclosing), Flow()).absorb(self.through_finally(final.body, leaked) if final else leaked)
        imported = self.import_masks.pop(id(node), 0)  # the states where the body imports
        if handlers:
            handler_in = body.raise_any
            if handler_in or imported:
                self.handler_depth += 1
                try:
                    for handler in reachable_handlers(self.ctx, node):  # type: ignore[arg-type]
                        given = self.own_errors.given(node, handler, imported if catches_only_import_errors(self.ctx, handler) else handler_in)
                        with carried_by_error(self.ctx, self.tracker, node, handler), aliases_for_handler(self.tracker, node):
                            handled = self.suite(handler.body, given) if given else Flow()
                        result.absorb(handled)
                        normal |= handled.normal
                        if given & OPEN and handled.normal and not handled.normal & OPEN:
                            self.failure_records |= collections_filled(handler.body)
                finally:
                    self.handler_depth -= 1
        else:
            result.raise_any |= body.raise_any
            result.raises.extend(body.raises)
        uncaught = self.uncaught.pop(id(node), None)  # past this try's handlers, not its finally
        if uncaught is not None:
            result.raise_any |= uncaught.raise_any
            result.raises.extend(uncaught.raises)
        result.normal = normal
        finalbody = node.finalbody  # type: ignore[attr-defined]
        if finalbody is None:
            return result
        return self.through_finally(finalbody.body, result)

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
        for mask, node, kind in flow.raises:  # named before what the finally itself raises then
            position, after = len(out.raises), run(mask)
            if after & OPEN:
                out.raises.insert(position, (after, node, kind))
        out.raise_any |= run(flow.raise_any)
        for mask, node in flow.returns:
            out.returns.append((run(mask), node))
        return out

    def with_statement(self, node: cst.With, mask: int) -> Flow:
        flow = Flow()
        current = mask
        suppresses = False
        acquires_here = node is self.tracker.acquisition_statement
        if acquires_here:
            self.tracker.with_closes(node)  # ``with sqlite3.connect(p) as c:``: noted when it does not close
        for item in node.items:
            self.mentions.with_item_calls.add(id(item.item))
            if self._manages(item.item) and (dotted(item.item) not in self.tracker.names or self.tracker.with_closes(node)):
                self._release(item)
                current = after_release(current)
            else:
                # Only the item holding the acquisition acquires: in ``with open(a) as src,
                # NamedTemporaryFile() as out:`` the first item is a use, not a second acquisition.
                holds_acquisition = node is not self.tracker.acquisition_statement or any(
                    found is self.tracker.acquisition_node for found, _ in find(item, (cst.Call,))
                )
                current = self.effects(item.item, current, flow, statement=node if holds_acquisition else item)
            if item.asname is not None and not (acquires_here and is_acquiring_item(item.item, self.tracker.acquisition_node)):
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
        """A nested function or class that refers to the resource takes it over, unless it is a
        class that never leaves the function (``local_class_instances``)."""
        for name_node, _ in find(node, (cst.Name,), stop=()):
            if name_node.value in self.tracker.names:  # type: ignore[attr-defined]
                if isinstance(node, cst.ClassDef) and class_stays_local(self.body, node.name.value):
                    return mask
                self._release(None)
                return after_release(mask)
        return mask

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
        released = released_by_test(test, self.tracker.names, self.tracker.spec)
        if released is not None:  # ``if proc.poll() is not None:``: the child was reaped there
            self._release(None)
            return (after_release(mask), mask) if released else (mask, after_release(mask))
        flag = module_flag(self.ctx, test)
        if flag is not None:
            return (mask, 0) if flag else (0, mask)  # ``_IS_SYNC = True``: one branch never runs
        verdict = self._truth_of(test, guards_apply=mask != NONE)
        if verdict is None:
            return mask, mask
        if verdict:
            return mask & ~NONE, mask & ~OPEN
        return mask & ~OPEN, mask & ~NONE

    def _truth_of(self, test: cst.BaseExpression, guards_apply: bool = True) -> Optional[bool]:
        """True if ``test`` holds exactly when the resource is bound, False if exactly when
        it is not, None if it says nothing about it. A guard flag says nothing before the
        resource is acquired (``if self.single: lock.acquire()`` is the acquisition's own test)."""
        if isinstance(test, (cst.Name, cst.Attribute)):
            name = dotted(test)
            guards = self.tracker.guards if guards_apply else set()
            if name in self.tracker.names or name in guards:
                return True
            if name is not None and "!" + name in guards:
                return False
            if isinstance(test, cst.Attribute) and test.attr.value in closed_attributes(self.tracker.spec) and dotted(test.value) in self.tracker.names:
                return False  # ``if not f.closed: f.close()``: true only while it is held
            return None
        if guards_apply and isinstance(test, cst.Comparison):
            key = test_key(test)
            if key in self.tracker.guards or "!" + key in self.tracker.guards:
                return key in self.tracker.guards
        if (held := held_type_test(test, self.tracker.names, self.tracker.spec)) is not None:
            return held  # ``hasattr(f, "close")``, ``isinstance(f, int)``: its type decides
        if (member := held_membership(test, self.tracker.names, self.body)) is not None:
            return member  # ``if sock not in sockets: sock.close()`` where ``sockets.append(sock)`` hands it on
        if (sign := descriptor_sign_test(test, self.tracker.names, self.tracker.spec.model or "")) is not None:
            return sign  # ``if fd >= 0:`` after ``fd = -1``; ``if fd > 2:``: 0-2 are the standard streams
        if self.tracker.spec.is_path and checks_existence(self.ctx.resolve(test.func) if isinstance(test, cst.Call) else None, test, self.tracker.names):
            return True  # ``if os.path.exists(tmp): os.unlink(tmp)``: a path that is gone is removed
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
        if self.tracker.holder_releases and dotted(expr) in self.tracker.holders:
            return True  # ``with proc:`` closes the pipes of ``proc``
        if isinstance(expr, cst.Call) and not self.tracker.spec.is_path:
            # ``with gzip.GzipFile(fileobj=f):`` only borrows ``f``; ``with open(tmp):`` opens
            # the path, it does not remove it.
            qualified = self.ctx.resolve(expr.func) or ""
            return any(
                dotted(arg.value) in self.tracker.names and not borrowed_argument(qualified, expr, arg, True) for arg in expr.args
            )
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
            if name in self.tracker.names and not is_attribute_part(found, path):
                current = self._rebind(name, found, current)
        return current

    def _rebind(self, name: str, node: cst.CSTNode, mask: int, wraps: bool = False) -> int:
        if len(self.tracker.names) > 1 and mask & ~NONE:  # (on a path that never had it, no alias)
            forget_alias(self.tracker, name, mask, self.open_tries, wraps)  # (``released_aliases``)
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
        self.own_errors.note(self.open_tries, node, statement, mask)
        holder = statement if statement is not None else node
        if holder is tracker.acquisition_statement or node is tracker.acquisition_statement:
            return self._acquire(node, mask, flow, count_raise)
        name_comprehension_items(tracker, node)
        occurrences = [
            (found, path)
            for found, path in find(node, (cst.Name, cst.Attribute, cst.Lambda, cst.FunctionDef))
            if (not isinstance(found, (cst.Lambda, cst.FunctionDef)) or self._mentions_inside(found)) and (tracker.container or not comprehension_local(found, path))
        ]
        released = escaped = reclaimed = raising_use = False
        handled_calls: Set[int] = set()
        rebinds: List[Tuple[str, cst.CSTNode]] = []
        aliases: List[str] = []
        for found, path in occurrences:
            if isinstance(found, (cst.Lambda, cst.FunctionDef)):
                if not lambda_only_uses(self.tracker, found, path):
                    escaped = True
                continue
            name = dotted(found)  # type: ignore[arg-type]
            if name in tracker.holders and holder_release(found, path, tracker.holder_releases):
                released = True  # ``proc.communicate()`` closes ``proc.stdout``
                self._release(small_statement_of(path, node))
                continue
            if name in tracker.holders and not is_attribute_part(found, path):
                escaped = escaped or self.mentions.holder_handed_on(found, path)
                continue
            if name not in tracker.names or is_attribute_part(found, path):
                continue
            entered = entering_call(found, path)
            if entered is not None:
                handled_calls.add(id(entered))
            verdict, call = self.mentions.classify(found, path)
            if call is not None and verdict in ("release", "escape", "register", "reclaim"):
                handled_calls.add(id(call))
            if verdict == "release":
                if mask & OPEN and may_time_out(self.tracker, call, self.open_tries):
                    # ``proc.communicate(timeout=5)`` raising TimeoutExpired leaves the child.
                    flow.raise_any |= mask
                    flow.raises.append((mask, call, "call"))  # type: ignore[arg-type]
                released = True
                self._release(small_statement_of(path, node))
            elif verdict == "escape":
                escaped = True
                if count_raise and mask & OPEN and fallible_handoff(call):
                    flow.raise_any |= mask  # it may fail before taking the resource
                    flow.raises.append((mask, call, "call"))  # type: ignore[arg-type]
            elif verdict == "rebind":
                rebinds.append((name, found))
            elif verdict.startswith("alias:"):
                stored = verdict[6:].split(",")
                escaped = escaped or bool(tracker.outer_names.intersection(stored))  # ``cm = opening``, nonlocal cm
                aliases.extend(stored)
            elif verdict == "reclaim":
                reclaimed = True
            elif verdict == "raising-use":
                raising_use = True
        if rebinds and rebinds_same_object(self.ctx, node, tracker.names, tracker.spec):
            rebinds = []  # ``temp = temp.encode()``: the same directory, spelled as bytes
            handled_calls.add(id(node.value))  # type: ignore[attr-defined]
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
            current = after_release(current)
        elif reclaimed and current & DONE:
            current = (current & ~DONE) | OPEN
        for alias in aliases:
            tracker.names.add(alias)
        for name, found in rebinds:
            current = self._rebind(name, found, current, wraps=escaped)
        return current

    def _mentions_inside(self, scope: cst.CSTNode) -> bool:
        for found, _ in find(scope, (cst.Name,), stop=()):
            if found.value in self.tracker.names:  # type: ignore[attr-defined]
                return True
        return False

    def _acquire(self, node: cst.CSTNode, mask: int, flow: Flow, count_raise: bool) -> int:
        if mask & OPEN and releasing_aliases(self.ctx, self.tracker, self.own_names, self.body):
            self.tracker.names.intersection_update(self.own_names)  # the previous one stays with the alias
            return OPEN
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
        methods, partners = self.tracker.release_self_methods, self.tracker.release_calls
        if not methods and not partners:
            return False
        for call, _ in find(node, (cst.Call,)):
            func = call.func  # type: ignore[attr-defined]
            if (isinstance(func, cst.Name) and func.value in partners) or (
                isinstance(func, cst.Attribute)
                and isinstance(func.value, cst.Name)
                and func.value.value == "self"
                and func.attr.value in methods
            ):
                handled.add(id(call))
                self._release(node)
                return True
        return False

    # -- can it raise? ------------------------------------------------------------------

    def _can_raise(self, node: cst.CSTNode, handled: Set[int]) -> bool:
        return bool(self._raising_calls(node, handled))

    def _first_raising(self, node: cst.CSTNode, handled: Set[int]) -> Optional[cst.CSTNode]:
        calls = self._raising_calls(node, handled)
        named = next((c for c in calls if direct_evidence(self.ctx, c, self.tracker.names)), None)
        if named is None and calls:
            named = calls[0]
            self.tracker.indirect_raises.add(id(named))
        return named

    def _raising_calls(self, node: cst.CSTNode, handled: Set[int]) -> List[cst.CSTNode]:
        calls = raising_calls(
            self.ctx, node, handled, self.tracker.names, bool(self.handler_depth), self.yields_raise, self.tracker.spec.model,
            self.tracker.acquisition_node,
        )
        if self.tracker.spec.model == EXIT_STACK_MODEL or self.tracker.spec.held_after:
            calls = self.first_entry.raising_after(self.body, self.tracker.names, calls)
        if self.tracker.spec.inferred:
            # An object known only by its release: only its own work (not its set-up) is
            # known to leave it open when it raises.
            calls = [call for call in calls if is_own_work_call(call, self.tracker.names)]
        return calls


def run(
    ctx: "ModuleContext",
    tracker: Tracker,
    body: Sequence[cst.CSTNode],
    scope_class: Optional[str],
    yields_raise: bool = True,
) -> Outcome:
    interpreter = Interpreter(ctx, tracker, scope_class, yields_raise)
    interpreter.body = body
    tracker.outer_names = declared_outer(body)
    flow = interpreter.block(body, NONE)
    if (tracker.spec.held_after or tracker.spec.model == EXIT_STACK_MODEL) and interpreter.first_entry.settle(body, tracker.names, flow):
        return Outcome("ok")  # never connected (nothing entered on the stack) here: nothing to leak
    outcome = conclude(tracker, flow)
    if tracker.non_closing_withs:
        outcome.non_closing_with = tracker.non_closing_withs[0]
    return outcome


def explicit_raises(
    ctx: "ModuleContext", tracker: Tracker, body: Sequence[cst.CSTNode], scope_class: Optional[str]
) -> List[cst.CSTNode]:
    """The ``raise`` statements that leave the function with the resource held."""
    interpreter = Interpreter(ctx, tracker, scope_class)
    interpreter.body = body
    tracker.outer_names = declared_outer(body)
    flow = interpreter.block(body, NONE)
    return [node for mask, node, kind in flow.raises if kind == "raise" and mask & OPEN]


"""An exit stack holds nothing until something is entered on it or pushed to it.

``stack = ExitStack()`` followed by a call that raises before any
``stack.enter_context(...)``/``callback(...)``/``push(...)`` could have run leaves an empty
stack behind: closing it would do nothing, so that call is no exception path for MEM003.
Nor is the first entering call itself or its arguments (``stack.enter_context(session.activate())``:
when ``activate()`` or its ``__enter__`` fails, nothing was entered by that call); a later
one is, since the earlier entries stay on the stack.

"Could have run" is read from the code's shape: an entering call in a statement before the
raising one, in the same block or in an enclosing one, or anywhere in an enclosing loop
(a later iteration follows an earlier one, also in a comprehension) unless the loop makes
a new stack each iteration.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, FrozenSet, List, Optional, Sequence, Set, Tuple

import libcst as cst

from memlint.analysis.names import dotted
from memlint.analysis.resources import KNOWLEDGE
from memlint.analysis.walk import find

if TYPE_CHECKING:
    from memlint.analysis.facts import ModuleContext
    from memlint.analysis.flow import Flow

EXIT_STACK_MODEL = "exit-stack"
_ENTERING = frozenset({"enter_context", "enter_async_context", "callback", "push", "push_async_callback", "push_async_exit"})
# Methods that give an object something to hold (``inferred.toml`` ``held_after_calls``:
# ``provider.add_span_processor(p)``): one that fails has added nothing, as enter_context.
_ADDING = frozenset(method for methods in KNOWLEDGE.inferred_held_after_calls.values() for method in methods)
_LOOPS = (cst.For, cst.While, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)


class FirstEntry:
    """The entering calls on one followed stack in one function body. The same holds for a
    lazy object (``paramiko.SSHClient()``, ``ResourceSpec.held_after``): it holds nothing
    until a method that connects it (``"any"``: any method but its releases) was called.
    Unlike ``enter_context``, that method can fail after it opened something (paramiko's
    ``connect`` leaves its transport running when authentication fails), so its own failure
    leaves the object held, unless the model says that method closes what it opened before
    it raises (``entries_closing_on_failure``: smtplib's ``connect``)."""

    def __init__(
        self,
        entering: FrozenSet[str] = frozenset(),
        releases: FrozenSet[str] = frozenset(),
        fresh_in: Sequence[cst.CSTNode] = (),
        model: str = "",
        ctx: Optional["ModuleContext"] = None,
    ) -> None:
        self.entering = entering or _ENTERING
        self.ctx = ctx
        self.entry_may_hold = bool(entering)
        known = KNOWLEDGE.models.get(model) if model else None
        self.closing_on_failure = frozenset(known.entries_closing_on_failure) if known is not None else frozenset()
        self.releases = releases
        # Loops that make a new object each iteration (they hold its acquisition): an earlier
        # iteration's entries are on another object, so they do not count there.
        self._fresh_in = {id(loop) for loop in fresh_in}
        self._paths: Optional[Dict[int, Tuple[cst.CSTNode, ...]]] = None
        self._entering: List[cst.CSTNode] = []

    def raising_after(self, body: Sequence[cst.CSTNode], names: Set[str], calls: List[cst.CSTNode]) -> List[cst.CSTNode]:
        """Of ``calls`` (calls and awaits that may raise), those that can leave something on
        the stack."""
        if self._paths is None:
            self._index(body, names)
        return [call for call in calls if self._after_an_entry(call)]

    def _index(self, body: Sequence[cst.CSTNode], names: Set[str]) -> None:
        root = cst.IndentedBlock(body=tuple(body))  # type: ignore[arg-type]
        self._paths = {}
        for found, path in find(root, (cst.Call, cst.Await, cst.Raise)):
            self._paths[id(found)] = path
            if isinstance(found, cst.Call) and self._enters(found, names):
                self._entering.append(found)

    def raises_after(self, body: Sequence[cst.CSTNode], names: Set[str], raises: List[cst.CSTNode]) -> List[cst.CSTNode]:
        """Of ``raises`` (``raise`` statements), those that an entering call precedes: one
        before any entry leaves the stack, or the lazy object, holding nothing."""
        if self._paths is None:
            self._index(body, names)
        return [node for node in raises if self._after_an_entry(node)]

    def settle(self, body: Sequence[cst.CSTNode], names: Set[str], flow: "Flow") -> bool:
        """True when nothing is ever entered on the object in ``body`` (it held nothing to
        leak); otherwise drops from ``flow`` the ``raise`` statements that no entry precedes."""
        if self.ever_entered(body, names):
            kept = set(map(id, self.raises_after(body, names, [node for _, node, kind in flow.raises if kind == "raise"])))
            flow.raises[:] = [entry for entry in flow.raises if entry[2] != "raise" or id(entry[1]) in kept]
            return False
        return True

    def ever_entered(self, body: Sequence[cst.CSTNode], names: Set[str]) -> bool:
        """Whether any entering call on the object is written in the body."""
        if self._paths is None:
            self._index(body, names)
        return bool(self._entering)

    def _enters(self, call: cst.Call, names: Set[str]) -> bool:
        func = call.func
        if self.entry_may_hold and _function_call(func) and not self._borrower(func) and any(dotted(arg.value) in names for arg in call.args):
            return True  # ``stream_response(conn, data)``: the function may connect the lazy object
        if not (isinstance(func, cst.Attribute) and dotted(func.value) in names):
            return False
        method = func.attr.value
        return method in self.entering or ("any" in self.entering and method not in self.releases)

    def _borrower(self, func: cst.BaseExpression) -> bool:
        """``copyfileobj(src, spool)`` imported from shutil: a call the knowledge says only uses
        what it is given (``[borrowing] callables``) reads or writes it, it connects nothing."""
        return self.ctx is not None and isinstance(func, cst.Name) and (self.ctx.resolve(func) or "") in KNOWLEDGE.borrowers

    def _closes_on_failure(self, call: cst.CSTNode) -> bool:
        func = call.func if isinstance(call, cst.Call) else None
        return isinstance(func, cst.Attribute) and func.attr.value in self.closing_on_failure

    def _repeats(self, node: cst.CSTNode) -> bool:
        """A loop whose earlier iterations' entries are on this same object."""
        return isinstance(node, _LOOPS) and id(node) not in self._fresh_in

    def _after_an_entry(self, call: cst.CSTNode) -> bool:
        assert self._paths is not None
        path = self._paths.get(id(call))
        if path is None:
            return True  # not in this body's own code: taken as it comes
        if not self._entering:
            return False
        entering_ids = {id(node) for node in self._entering}
        if self.entry_may_hold and id(call) in entering_ids and not _adds_only(call) and not self._closes_on_failure(call):
            return True
        for index, ancestor in enumerate(path):
            if self._repeats(ancestor) and _holds_any(ancestor, entering_ids):
                return True
            if isinstance(call, cst.Raise) and isinstance(ancestor, cst.Try) and index + 1 < len(path):
                if path[index + 1] is not ancestor.body and _holds_any(ancestor.body, entering_ids):
                    return True  # in a handler (or ``else``/``finally``) after the ``try`` entered it
            if isinstance(ancestor, (cst.IndentedBlock, cst.Module)) and index + 1 < len(path):
                statement = path[index + 1]
                for sibling in ancestor.body:
                    if sibling is statement:
                        break
                    if _holds_any(sibling, entering_ids):
                        return True
        return False


def _adds_only(call: cst.CSTNode) -> bool:
    func = call.func if isinstance(call, cst.Call) else None
    return isinstance(func, cst.Attribute) and func.attr.value in _ADDING


def _holds_any(node: cst.CSTNode, ids: Set[int]) -> bool:
    return any(id(found) in ids for found, _ in find(node, (cst.Call,)))


def _function_call(func: cst.BaseExpression) -> bool:
    """``helper(conn)`` or ``self._send(conn)``: code that may use what it is given (a
    container's ``clients.append(client)`` only keeps it)."""
    return isinstance(func, cst.Name) or (
        isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value in ("self", "cls")
    )

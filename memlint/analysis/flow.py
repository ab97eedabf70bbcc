"""The path interpreter's state: what it knows about one resource at one point, how
control leaves a statement, and the verdict it reaches (``conclude``).

The state of the resource is a set of three facts (a bit mask): not yet acquired
(``NONE``), held (``OPEN``), released or handed on (``DONE``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, FrozenSet, List, Optional, Sequence, Set, Tuple

import libcst as cst

from memlint.analysis.comprehension_scopes import comprehension_local  # noqa: F401 (read by lifetime, at its line limit)
from memlint.analysis.facts import SMALL_CONTAINERS
from memlint.analysis.model import Acquisition, Lifetime
from memlint.analysis.names import iter_statements
from memlint.analysis.resources import ResourceSpec
from memlint.analysis.walk import find

NONE, OPEN, DONE = 1, 2, 4


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
    # Local names of functions that release it, given back with it (``f, commit, abort =
    # self.add_pack()``: ``returned_releasers``); calling one is a release.
    release_calls: Set[str] = field(default_factory=set)
    # Loops that contain the acquisition: a ``break``/``continue`` in them can skip release.
    enclosing_loops: Tuple[cst.CSTNode, ...] = ()
    # Local flags set next to the acquisition (``close_source = True``) that later guard
    # the release: ``if close_source:`` is true exactly when the resource is held.
    guards: Set[str] = field(default_factory=set)
    # For ``tmp.name``: the name of the object it belongs to. Handing that object on
    # (``yield tmp``, ``return tmp``) hands its path on too.
    holders: Set[str] = field(default_factory=set)
    # Names the function declares ``global`` or ``nonlocal`` (``declared_outer``): storing
    # the resource in one hands it on to the enclosing scope, as a return does.
    outer_names: Set[str] = field(default_factory=set)
    # Methods of a holder that release this resource too (``proc.communicate()`` closes
    # ``proc.stdout``); with any, ``with holder:`` does as well.
    holder_releases: FrozenSet[str] = frozenset()
    # Held in a local container (``handles[p] = open(p)``): acquiring again adds to it.
    container: bool = False
    ever_released: bool = False
    rebinds: List[cst.CSTNode] = field(default_factory=list)
    loop_exits: List[Tuple[cst.CSTNode, str]] = field(default_factory=list)
    release_nodes: List[cst.CSTNode] = field(default_factory=list)
    # ``with conn:`` statements on it whose ``__exit__`` does not close it (sqlite3's).
    non_closing_withs: List[cst.CSTNode] = field(default_factory=list)
    # Raises (by id) named by a call with only indirect evidence (``raise_evidence``):
    # the message names a call with direct evidence on the same path first.
    indirect_raises: Set[int] = field(default_factory=set)
    # Aliases rebound where it was no longer held, with the ``try`` statements (by id) around
    # the rebinding: their handlers still see the alias (``released_aliases``).
    released_aliases: List[Tuple[str, FrozenSet[int]]] = field(default_factory=list)

    def with_closes(self, node: cst.CSTNode) -> bool:
        """Whether ``with x:`` (``node`` the statement) releases the resource; notes it when not."""
        if self.spec.exit != "commits-only":
            # "nothing": no ``__exit__`` at all, so ``with x:`` would not run; only a model
            # that declares an ``__exit__`` that ends a transaction is taken at its word.
            return True
        if not any(seen is node for seen in self.non_closing_withs):
            self.non_closing_withs.append(node)
        return False


@dataclass
class Outcome:
    """What the interpreter concluded about one resource."""

    category: str  # "ok", "never", "return", "raise", "rebind", "loop-exit", "branch", "error"
    witness: Optional[cst.CSTNode] = None
    witness_kind: str = ""
    release_nodes: Tuple[cst.CSTNode, ...] = ()
    in_loop: bool = False
    # The first ``with`` on it that did not close it.
    non_closing_with: Optional[cst.CSTNode] = None
    # For "error": the witness can raise only for want of knowing better (a method of some
    # other object, a library function no model lists): ``raise_evidence.direct_evidence``.
    indirect_witness: bool = False


def keep_held(entries: list) -> list:
    return [entry for entry in entries if entry[0] & OPEN]


def after_release(mask: int) -> int:
    return (mask & ~OPEN) | DONE if mask & OPEN else mask


def conclude(tracker: Tracker, flow: Flow) -> Outcome:
    """Turn the flows out of a whole function into one verdict."""
    outcome = _verdict(tracker, flow)
    outcome.in_loop = bool(tracker.enclosing_loops)
    return outcome


def _verdict(tracker: Tracker, flow: Flow) -> Outcome:
    releases = tuple(tracker.release_nodes)
    explicit = [entry for entry in flow.raises if entry[2] == "raise"]
    error = sorted((entry for entry in flow.raises if entry[2] != "raise"), key=lambda e: id(e[1]) in tracker.indirect_raises)
    held_at_end = bool(flow.normal & OPEN)
    returns = keep_held(flow.returns)
    normal_leak = held_at_end or returns or tracker.rebinds or explicit
    if normal_leak:
        if not tracker.ever_released:
            return Outcome("never", release_nodes=releases)
        # A ``continue``/``break`` written before the acquisition in its loop holds only what
        # an earlier iteration left held, and a ``break`` leads to the code after the loop,
        # which may release it: where the loop then binds the name again, that rebinding is
        # the leak, not the jump (named instead of it, and as sure as it).
        exits = [(node, kind) for node, kind in tracker.loop_exits if not _ahead_of_acquisition(tracker, node)]
        after_loop = not _inside_loops(tracker, [entry[1] for entry in returns + explicit])
        if after_loop and any(kind == "continue" for _node, kind in tracker.loop_exits):
            # The ``continue`` left it held for the next iteration to lose; a ``return`` or
            # ``raise`` after the loop only shows it.
            skips = [node for node, kind in exits if kind == "continue"]
            if skips:
                return Outcome("loop-exit", skips[0], "continue", releases)
            if tracker.rebinds:
                return Outcome("rebind", tracker.rebinds[0], "loop-rebind", releases)
        if returns:
            return Outcome("return", returns[0][1], "return", releases)
        if explicit:
            return Outcome("raise", explicit[0][1], "raise", releases)
        if tracker.loop_exits:
            if tracker.rebinds and all(kind == "break" for _node, kind in exits):
                return Outcome("rebind", tracker.rebinds[0], "loop-rebind", releases)
            if exits:
                node, kind = exits[0]
                return Outcome("loop-exit", node, kind, releases)
        if tracker.rebinds:
            return Outcome("rebind", tracker.rebinds[0], "rebind", releases)
        return Outcome("branch", release_nodes=releases)
    if error:
        indirect = id(error[0][1]) in tracker.indirect_raises
        return Outcome("error", error[0][1], error[0][2], releases, indirect_witness=indirect)
    return Outcome("ok", release_nodes=releases)


def _ahead_of_acquisition(tracker: Tracker, exit_node: cst.CSTNode) -> bool:
    """Whether ``exit_node`` comes before the acquisition in the body of a loop that holds both."""
    acquisition = tracker.acquisition_node
    for loop in tracker.enclosing_loops:
        for found, _ in find(getattr(loop, "body", loop), (cst.Continue, cst.Break, type(acquisition))):
            if found is acquisition:
                break
            if found is exit_node:
                return True
    return False


def _inside_loops(tracker: Tracker, exits: List[cst.CSTNode]) -> bool:
    """Whether one of ``exits`` lies inside a loop that contains the acquisition."""
    if not exits:
        return False
    wanted = {id(node) for node in exits}
    for loop in tracker.enclosing_loops:
        for found, _ in find(loop, (cst.Return, cst.Raise)):
            if id(found) in wanted:
                return True
    return False


def declared_outer(body: Sequence[cst.CSTNode]) -> Set[str]:
    """The names a function body declares ``global`` or ``nonlocal`` (not in nested functions)."""
    names: Set[str] = set()
    for statement in iter_statements(list(body), into_functions=False):
        for small in getattr(statement, "body", ()) if isinstance(statement, SMALL_CONTAINERS) else ():
            if isinstance(small, (cst.Global, cst.Nonlocal)):
                names.update(item.name.value for item in small.names)
    return names


# A context manager whose ``__enter__`` raises has cleaned up after itself: ``with`` does not
# call ``__exit__`` then, and neither need the code that enters it by hand.
_ENTER_METHODS = frozenset({"__enter__", "__aenter__"})


def entering_call(found: cst.CSTNode, path: Tuple[cst.CSTNode, ...]) -> Optional[cst.Call]:
    """The call ``x.__aenter__()`` when ``found`` is its ``x``; its raise leaks nothing."""
    if len(path) >= 2 and isinstance(path[-1], cst.Attribute) and path[-1].value is found:
        call = path[-2]
        if path[-1].attr.value in _ENTER_METHODS and isinstance(call, cst.Call) and call.func is path[-1]:
            return call
    return None


def lifetime_fact(
    ctx: Any, acquisition: Acquisition, name: str, spec: ResourceSpec, outcome: Outcome, **extra: bool
) -> Lifetime:
    """The verdict of ``run`` on one named resource, as the fact the rules read."""
    witness = outcome.witness
    witness_label = ctx.label(witness.func) if isinstance(witness, cst.Call) else ""
    return Lifetime(
        acquisition,
        name,
        spec,
        outcome.category,
        witness,
        outcome.witness_kind,
        witness_label,
        outcome.release_nodes,
        in_loop=outcome.in_loop,
        non_closing_with=outcome.non_closing_with,
        indirect_witness=outcome.indirect_witness,
        **extra,
    )


def hasattr_release(test: cst.BaseExpression, names: Set[str], releases: FrozenSet[str]) -> bool:
    """``hasattr(path, "cleanup")`` on the followed resource, naming one of its releases:
    true wherever it is bound (``if hasattr(path, "cleanup"): path.cleanup()``)."""
    if not (isinstance(test, cst.Call) and isinstance(test.func, cst.Name) and test.func.value == "hasattr"):
        return False
    if len(test.args) != 2 or not isinstance(test.args[1].value, cst.SimpleString):
        return False
    target = test.args[0].value
    return isinstance(target, cst.Name) and target.value in names and test.args[1].value.evaluated_value in releases


# Built-in value types: an object released by a method of its own is never one of them.
_SCALAR_TYPES = frozenset({"int", "float", "complex", "bool", "str", "bytes", "bytearray", "NoneType"})


def held_type_test(test: cst.BaseExpression, names: Set[str], spec: ResourceSpec) -> Optional[bool]:
    """A type test on the followed resource that its type decides wherever it is held:
    ``hasattr(f, "close")`` naming one of its releases is true; ``isinstance(stdin, int)``
    is false for a resource released by a method of its own (a file, a socket), chosen
    instead of a stand-in such as ``subprocess.PIPE`` (``if not isinstance(stdin, int):
    stdin.close()``). Paths and descriptors are strings and ints, so not for them."""
    if hasattr_release(test, names, spec.release):
        return True
    if not (isinstance(test, cst.Call) and isinstance(test.func, cst.Name) and test.func.value == "isinstance"):
        return None
    if len(test.args) != 2 or spec.is_path or not spec.release or any(arg.keyword or arg.star for arg in test.args):
        return None
    target, kinds = test.args[0].value, test.args[1].value
    if not (isinstance(target, cst.Name) and target.value in names):
        return None
    elements = [e.value for e in kinds.elements] if isinstance(kinds, cst.Tuple) else [kinds]
    if all(isinstance(kind, cst.Name) and kind.value in _SCALAR_TYPES for kind in elements):
        return False
    return None

"""A lean walk over libcst trees.

libcst's visitor dispatches every node through several Python calls and rebuilds the
tree as it goes; reading the dataclass fields directly, and skipping the fields that
only hold whitespace and punctuation, is several times cheaper. The analysis walks
only the functions that can matter, so this is its hot path.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from typing import Dict, Iterator, List, Optional, Tuple, Type, Union

import libcst as cst

_SKIPPED_FIELDS = frozenset(
    {
        "lpar", "rpar", "comma", "leading_lines", "lines_after_decorators", "header", "footer",
        "semicolon", "equal", "colon", "star", "dot", "operator", "newline", "indent",
        "trailing_whitespace", "asynchronous", "default_indent", "default_newline",
        "encoding", "has_trailing_newline", "quote", "prefix", "lbracket", "rbracket",
        "lbrace", "rbrace", "whitespace_after_star", "whitespace_after_param",
    }
)
_FIELDS: Dict[Type[cst.CSTNode], Tuple[str, ...]] = {}

Path = Tuple[cst.CSTNode, ...]


def node_fields(node_type: Type[cst.CSTNode]) -> Tuple[str, ...]:
    names = _FIELDS.get(node_type)
    if names is None:
        # A field declared ``str`` (``Name.value``) never holds a node: leaves then have none.
        names = tuple(
            f.name
            for f in dataclasses.fields(node_type)
            if f.name not in _SKIPPED_FIELDS and not f.name.startswith("whitespace") and f.type is not str
        )
        _FIELDS[node_type] = names
    return names


SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)


# (wanted, stop) -> type of a value met in a field -> what ``_find`` does with it: False to
# pass it by (no node, or a node with no child nodes that is not wanted), else (is wanted,
# is a stop, its fields last first: children are pushed on a stack). isinstance() on
# libcst's abstract node classes goes through ABCMeta and is slow; the answer per concrete
# type never changes, so it is asked once per type. The table is per (wanted, stop): a key
# holding those tuples would be hashed anew at every node.
_Plan = Union[bool, Tuple[bool, bool, Tuple[str, ...]]]
_PLANS: Dict[Tuple[tuple, tuple], Dict[type, _Plan]] = {}


def _plan(plans: Dict[type, _Plan], value_type: type, wanted: tuple, stop: tuple) -> _Plan:
    plan: _Plan = False
    if issubclass(value_type, cst.CSTNode):
        names = tuple(reversed(node_fields(value_type)))
        is_wanted = issubclass(value_type, wanted)
        if names or is_wanted:
            plan = (is_wanted, issubclass(value_type, stop), names)
    plans[value_type] = plan
    return plan


# The answers of ``find`` while one module is analysed, by (id of root, wanted, stop): each
# entry keeps its root alive, so an id is never reused while the memo lives, and the memo
# lives only as long as ``memo_per_module`` (one module's analysis).
_MEMO: "contextvars.ContextVar[Optional[Dict[tuple, Tuple[cst.CSTNode, List[Tuple[cst.CSTNode, Path]]]]]]" = (
    contextvars.ContextVar("memlint_find_memo", default=None)
)


@contextlib.contextmanager
def memo_per_module() -> Iterator[None]:
    """Within it, ``find`` answers a walk it already made from memory: the stages walk the
    same statements for different questions (a statement's effects, its raising calls)."""
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def find(
    root: cst.CSTNode,
    wanted: Tuple[Type[cst.CSTNode], ...],
    stop: Tuple[Type[cst.CSTNode], ...] = SCOPES,
) -> List[Tuple[cst.CSTNode, Path]]:
    """Nodes of the ``wanted`` types under ``root`` with their ancestors (root first).

    Nodes of the ``stop`` types are reported if wanted but not entered (a nested scope
    is analysed on its own). The list is the caller's own.
    """
    memo = _MEMO.get()
    if memo is None:
        return _find(root, wanted, stop)
    key = (id(root), wanted, stop)
    known = memo.get(key)
    if known is None:
        known = memo[key] = (root, _find(root, wanted, stop))
    return list(known[1])


def _find(
    root: cst.CSTNode,
    wanted: Tuple[Type[cst.CSTNode], ...],
    stop: Tuple[Type[cst.CSTNode], ...],
) -> List[Tuple[cst.CSTNode, Path]]:
    found: List[Tuple[cst.CSTNode, Path]] = []
    path: List[cst.CSTNode] = []
    plans = _PLANS.get((wanted, stop))
    if plans is None:
        plans = _PLANS[(wanted, stop)] = {}
    plan = plans.get(type(root))
    if plan is None:
        plan = _plan(plans, type(root), wanted, stop)
    if not plan:
        return found
    stack: List[Tuple[cst.CSTNode, int, Tuple[bool, bool, Tuple[str, ...]]]] = [(root, 0, plan)]  # type: ignore[list-item]
    push = stack.append
    pop = stack.pop
    while stack:
        node, depth, plan = pop()
        del path[depth:]
        if plan[0]:  # type: ignore[index]
            found.append((node, tuple(path)))
        if depth and plan[1]:  # type: ignore[index]
            continue
        names = plan[2]  # type: ignore[index]
        if not names:
            continue
        path.append(node)
        child_depth = depth + 1
        for name in names:
            value = getattr(node, name)
            value_type = type(value)
            if value_type is list or value_type is tuple:
                for item in reversed(value):
                    item_plan = plans.get(type(item))
                    if item_plan is None:
                        item_plan = _plan(plans, type(item), wanted, stop)
                    if item_plan:
                        push((item, child_depth, item_plan))  # type: ignore[arg-type]
            else:
                value_plan = plans.get(value_type)
                if value_plan is None:
                    value_plan = _plan(plans, value_type, wanted, stop)
                if value_plan:
                    push((value, child_depth, value_plan))  # type: ignore[arg-type]
    return found

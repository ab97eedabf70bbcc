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
from typing import Dict, Iterator, List, Optional, Tuple, Type

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


# A node type's fields last first (``find`` pushes children on a stack).
_FIELDS_BACKWARDS: Dict[Type[cst.CSTNode], Tuple[str, ...]] = {}


SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)


# (wanted, stop) -> node type -> (is wanted, is a stop)
_KIND: Dict[Tuple[tuple, tuple], Dict[Type[cst.CSTNode], Tuple[bool, bool]]] = {}


def _is_node_type(value_type: type) -> bool:
    known = _NODE_TYPES.get(value_type)
    if known is None:
        known = _NODE_TYPES[value_type] = issubclass(value_type, cst.CSTNode)
    return known


_NODE_TYPES: Dict[type, bool] = {}


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
    stack: List[Tuple[cst.CSTNode, int]] = [(root, 0)]
    fields = _FIELDS
    backwards = _FIELDS_BACKWARDS
    node_types = _NODE_TYPES
    push = stack.append
    # isinstance() on libcst's abstract node classes goes through ABCMeta and is slow;
    # the answer per concrete type never changes, so it is asked once per type. The table
    # is per (wanted, stop): a key holding those tuples is hashed anew at every node.
    kinds = _KIND.get((wanted, stop))
    if kinds is None:
        kinds = _KIND[(wanted, stop)] = {}
    while stack:
        node, depth = stack.pop()
        del path[depth:]
        node_type = type(node)
        kind = kinds.get(node_type)
        if kind is None:
            kind = kinds[node_type] = (issubclass(node_type, wanted), issubclass(node_type, stop))
        if kind[0]:
            found.append((node, tuple(path)))
        if depth and kind[1]:
            continue
        path.append(node)
        # Children pushed last first, so that nodes come out in source order.
        names = backwards.get(node_type)
        if names is None:
            names = backwards[node_type] = tuple(reversed(fields.get(node_type) or node_fields(node_type)))
        child_depth = depth + 1
        for name in names:
            value = getattr(node, name)
            value_type = type(value)
            if value_type is list or value_type is tuple:
                for item in reversed(value):
                    item_type = type(item)
                    is_node = node_types.get(item_type)
                    if is_node is None:
                        is_node = _is_node_type(item_type)
                    if is_node:
                        push((item, child_depth))
            else:
                is_node = node_types.get(value_type)
                if is_node is None:
                    is_node = _is_node_type(value_type)
                if is_node:
                    push((value, child_depth))
    return found

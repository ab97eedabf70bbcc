"""A lean walk over libcst trees.

libcst's visitor dispatches every node through several Python calls and rebuilds the
tree as it goes; reading the dataclass fields directly, and skipping the fields that
only hold whitespace and punctuation, is several times cheaper. The analysis walks
only the functions that can matter, so this is its hot path.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Iterator, List, Tuple, Type

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
        names = tuple(
            f.name
            for f in dataclasses.fields(node_type)
            if f.name not in _SKIPPED_FIELDS and not f.name.startswith("whitespace")
        )
        _FIELDS[node_type] = names
    return names


def children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """The child nodes that can hold code (not whitespace or punctuation)."""
    for name in node_fields(type(node)):
        value = getattr(node, name)
        if isinstance(value, cst.CSTNode):
            yield value
        elif isinstance(value, (list, tuple)):
            for item in value:
                if isinstance(item, cst.CSTNode):
                    yield item


SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)


def find(
    root: cst.CSTNode,
    wanted: Tuple[Type[cst.CSTNode], ...],
    stop: Tuple[Type[cst.CSTNode], ...] = SCOPES,
) -> List[Tuple[cst.CSTNode, Path]]:
    """Nodes of the ``wanted`` types under ``root`` with their ancestors (root first).

    Nodes of the ``stop`` types are reported if wanted but not entered (a nested scope
    is analysed on its own).
    """
    found: List[Tuple[cst.CSTNode, Path]] = []
    path: List[cst.CSTNode] = []
    stack: List[Tuple[cst.CSTNode, int]] = [(root, 0)]
    fields = _FIELDS
    while stack:
        node, depth = stack.pop()
        del path[depth:]
        node_type = type(node)
        if isinstance(node, wanted):
            found.append((node, tuple(path)))
        if depth and isinstance(node, stop):
            continue
        path.append(node)
        names = fields.get(node_type) or node_fields(node_type)
        child_depth = depth + 1
        pending = []
        for name in names:
            value = getattr(node, name)
            if isinstance(value, cst.CSTNode):
                pending.append((value, child_depth))
            elif type(value) in (list, tuple):
                for item in value:
                    if isinstance(item, cst.CSTNode):
                        pending.append((item, child_depth))
        # Reversed so that nodes come out in source order.
        stack.extend(reversed(pending))
    return found


def contains(root: cst.CSTNode, wanted: Tuple[Type[cst.CSTNode], ...], stop: Tuple[Type[cst.CSTNode], ...] = SCOPES) -> bool:
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, wanted):
            return True
        if node is not root and isinstance(node, stop):
            continue
        stack.extend(children(node))
    return False

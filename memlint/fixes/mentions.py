"""Where a name is mentioned in a tree, and whether a mention reads it or binds it."""

from __future__ import annotations

import bisect
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

import libcst as cst

from memlint.fixes._analysis_view import dotted, find, is_binding_target


def _is_reference(found: cst.CSTNode, path: Tuple[cst.CSTNode, ...]) -> bool:
    """False for the ``b`` of ``a.b``, keyword argument names, and definitions' names."""
    if not path:
        return True
    parent = path[-1]
    if isinstance(parent, cst.Attribute) and parent.attr is found:
        return False
    if isinstance(parent, cst.Arg) and parent.keyword is found:
        return False
    if isinstance(parent, (cst.ImportAlias, cst.AsName)) and isinstance(path[-2] if len(path) > 1 else None, (cst.ImportAlias, cst.Import, cst.ImportFrom)):
        return False
    return True


def mentions(root: cst.CSTNode, names: Set[str]) -> List[Tuple[cst.CSTNode, Tuple[cst.CSTNode, ...]]]:
    """References to any of ``names`` (plain or dotted, like ``self._lock``) under ``root``."""
    dotted_names = {name for name in names if "." in name}
    found = []
    for node, path in find(root, (cst.Name, cst.Attribute) if dotted_names else (cst.Name,), stop=()):
        if isinstance(node, cst.Name):
            if node.value in names and _is_reference(node, path):
                found.append((node, path))
        elif dotted(node) in dotted_names:  # type: ignore[arg-type]
            found.append((node, path))
    return found


def count_mentions(roots: Sequence[cst.CSTNode], name: str) -> int:
    return sum(len(mentions(root, {name})) for root in roots)


Mention = Tuple[cst.CSTNode, Tuple[cst.CSTNode, ...]]
# Per node type: whether it is a statement (isinstance on libcst's abstract classes is slow).
_IS_STATEMENT: Dict[type, bool] = {}


def _is_statement(node: cst.CSTNode) -> bool:
    known = _IS_STATEMENT.get(type(node))
    if known is None:
        known = _IS_STATEMENT[type(node)] = isinstance(node, cst.BaseStatement)
    return known


class _Walk:
    """The names and dotted names under one root, in source order, from one walk, and
    where each statement under the root has its own: a statement's mentions are one run
    of the walk (a pre-order walk lists a subtree in one piece)."""

    __slots__ = ("root", "found", "by_name", "_by_dotted", "statements")

    def __init__(self, root: cst.CSTNode) -> None:
        # Kept so that the root's id, the cache key, cannot be reused while cached.
        self.root = root
        self.found = find(root, (cst.Name, cst.Attribute), stop=())
        # Name -> indexes in ``found`` of the ``Name`` nodes spelling it, ascending.
        self.by_name: Dict[str, List[int]] = {}
        self._by_dotted: Optional[Dict[str, List[int]]] = None
        # id of a statement -> [the statement, its depth in the paths, first index, last index].
        self.statements: Dict[int, List[object]] = {}
        name_type = cst.Name
        for index, (node, path) in enumerate(self.found):
            if type(node) is name_type:
                self.by_name.setdefault(node.value, []).append(index)  # type: ignore[attr-defined]
            for depth, ancestor in enumerate(path):
                if depth and _is_statement(ancestor):
                    place = self.statements.get(id(ancestor))
                    if place is None:
                        self.statements[id(ancestor)] = [ancestor, depth, index, index]
                    else:
                        place[3] = index

    def by_dotted(self) -> Dict[str, List[int]]:
        # Spelt out only when a dotted name (``self._lock``) is first asked for.
        if self._by_dotted is None:
            self._by_dotted = {}
            for index, (node, _path) in enumerate(self.found):
                if type(node) is not cst.Name:
                    spelt = dotted(node)  # type: ignore[arg-type]
                    if spelt is not None:
                        self._by_dotted.setdefault(spelt, []).append(index)
        return self._by_dotted

    def under(self, root: cst.CSTNode) -> Optional[Tuple[int, int, int]]:
        """(depth of ``root`` in the paths, first, last index) of what lies under ``root``:
        the whole walk for its own root, a run of it for a statement under it; None when
        ``root`` is neither, or holds no name."""
        if root is self.root:
            return 0, 0, len(self.found) - 1
        place = self.statements.get(id(root))
        if place is None or place[0] is not root:
            return None
        return place[1], place[2], place[3]  # type: ignore[return-value]

    def mentions(self, names: Iterable[str], depth: int, first: int, last: int) -> List[Mention]:
        chosen: List[int] = []
        sources = 0
        for name in set(names):
            indexes = self.by_dotted().get(name) if "." in name else self.by_name.get(name)
            if not indexes:
                continue
            run = indexes[bisect.bisect_left(indexes, first) : bisect.bisect_right(indexes, last)]
            if "." not in name:
                run = [index for index in run if _is_reference(*self.found[index])]
            if run:
                chosen.extend(run)
                sources += 1
        if sources > 1:
            chosen.sort()
        found = self.found
        return [(found[index][0], found[index][1][depth:]) for index in chosen]


class MentionIndex:
    """``mentions`` and ``count_mentions`` answered from one walk per scope.

    Following one resource asks about the same statements and the same scope many times
    (once per name that holds it, once per check of the range); walking the tree again
    for each question made the fixer's cost grow with the size of the function times the
    number of questions. The scope being fixed (``focus``) is walked once; a statement of
    it is answered from that walk, with the paths cut to start at the statement, as
    ``mentions(statement, ...)`` gives them. Any other root is walked once on its own.
    What is kept for one scope goes when another is focused.
    """

    def __init__(self) -> None:
        self._walks: Dict[int, _Walk] = {}
        self._scope: Optional[_Walk] = None
        self._scope_node: Optional[cst.CSTNode] = None

    def focus(self, scope: cst.CSTNode) -> None:
        """Start on the defects of ``scope``: the walks kept for another scope go."""
        if scope is not self._scope_node:
            self._walks.clear()
            self._scope = None
            self._scope_node = scope

    def of(self, root: cst.CSTNode, names: Iterable[str]) -> List[Mention]:
        """What ``mentions(root, names)`` returns, in the same order."""
        scope = self._scope_node
        if scope is not None and (root is scope or _is_statement(root)):
            if self._scope is None:
                self._scope = _Walk(scope)
            place = self._scope.under(root)
            if place is not None:
                return self._scope.mentions(names, *place)
        walk = self._walks.get(id(root))
        if walk is None:
            walk = self._walks[id(root)] = _Walk(root)
        if not walk.found:
            return []
        return walk.mentions(names, 0, 0, len(walk.found) - 1)

    def count(self, roots: Sequence[cst.CSTNode], name: str) -> int:
        """What ``count_mentions(roots, name)`` returns."""
        return sum(len(self.of(root, (name,))) for root in roots)


def is_store(found: cst.CSTNode, path: Tuple[cst.CSTNode, ...]) -> bool:
    if is_binding_target(found, path):
        return True
    index = len(path) - 1
    while index >= 0 and isinstance(path[index], (cst.Element, cst.StarredElement, cst.Tuple, cst.List)):
        index -= 1
    stores = (cst.Del, cst.Global, cst.Nonlocal, cst.NameItem, cst.Param, cst.FunctionDef, cst.ClassDef)
    return index >= 0 and isinstance(path[index], stores)


def only_binding(function: cst.FunctionDef, name: str) -> Optional[cst.CSTNode]:
    """The value of the one plain assignment ``name = value`` in ``function``, if that is
    the only place that binds ``name``; else None."""
    values = []
    for found, path in mentions(function.body, {name}):
        if not is_store(found, path):
            continue
        parent = path[-1] if path else None
        grand = path[-2] if len(path) > 1 else None
        if not (isinstance(parent, cst.AssignTarget) and isinstance(grand, cst.Assign) and len(grand.targets) == 1):
            return None
        values.append(grand.value)
    return values[0] if len(values) == 1 else None

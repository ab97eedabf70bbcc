"""``analysis.walk.find`` against a plain recursive walk: the same nodes, in the same order
(each node's fields in their declared order, skipping whitespace and punctuation), with the
same ancestors, stopping at nested scopes."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import List, Tuple

import libcst as cst
import pytest

from memlint.analysis.walk import SCOPES, find, node_fields

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted((ROOT / "fixtures").rglob("*.py"))[:60] + [ROOT / "memlint" / "engine.py", ROOT / "memlint" / "regions.py"]
WANTED = [(cst.Name,), (cst.Call,), (cst.Raise, cst.Call, cst.Subscript, cst.Assign, cst.For), (cst.FunctionDef, cst.Lambda)]


def _reference(root: cst.CSTNode, wanted: tuple, stop: tuple = SCOPES) -> List[Tuple[cst.CSTNode, tuple]]:
    found: List[Tuple[cst.CSTNode, tuple]] = []

    def visit(node: cst.CSTNode, path: tuple) -> None:
        if isinstance(node, wanted):
            found.append((node, path))
        if path and isinstance(node, stop):
            return
        for name in node_fields(type(node)):
            value = getattr(node, name)
            for child in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(child, cst.CSTNode):
                    visit(child, path + (node,))

    visit(root, ())
    return found


def _ids(found: List[Tuple[cst.CSTNode, tuple]]) -> list:
    return [(id(node), tuple(map(id, path))) for node, path in found]


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_find_matches_a_recursive_walk(path: Path) -> None:
    module = cst.parse_module(path.read_text(encoding="utf-8"))
    roots = [module] + [node for node, _ in _reference(module, (cst.FunctionDef, cst.ClassDef), ())]
    for root in roots:
        for wanted in WANTED:
            assert _ids(find(root, wanted)) == _ids(_reference(root, wanted)), (path.name, wanted)
        assert _ids(find(root, (cst.Name,), ())) == _ids(_reference(root, (cst.Name,), ()))


def _ast_reference(node: "ast.AST") -> list:
    """``prefilter.ast_nodes`` as a recursion: the node, then each field's nodes in turn."""
    from memlint.prefilter import _node_fields

    found = [node]
    for name in _node_fields(type(node)):
        value = getattr(node, name, None)
        for child in value if isinstance(value, list) else [value]:
            if isinstance(child, ast.AST):
                found.extend(_ast_reference(child))
    return found


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_ast_nodes_is_a_depth_first_walk_in_field_order(path: Path) -> None:
    from memlint.prefilter import ast_nodes

    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert [id(node) for node in ast_nodes(tree)] == [id(node) for node in _ast_reference(tree)]


def test_no_concrete_libcst_node_class_subclasses_another():
    """The analysis tests node types with ``type(node) is cst.Name`` (``names.dotted``,
    ``names.block_of``, ``ImportTable.add``, ``comprehension_scopes``, ``facts.
    SMALL_CONTAINER_TYPES``, ``local_resources``, ``positions``) instead of isinstance(),
    which goes through ABCMeta. That equals isinstance() only while no concrete node class
    has a subclass: a libcst release that adds one fails here, not in a missed finding."""
    import inspect

    concrete = [
        value for value in vars(cst).values()
        if inspect.isclass(value) and issubclass(value, cst.CSTNode) and not inspect.isabstract(value)
    ]
    assert len(concrete) > 100
    subclassing = [(a.__name__, b.__name__) for a in concrete for b in concrete if a is not b and issubclass(a, b)]
    assert subclassing == []

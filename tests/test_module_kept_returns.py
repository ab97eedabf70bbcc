"""What a project function gives back (realcode TUNING-NOTES 64): a connection it stores in
module-level state (``_local.conn, _local.path = conn, path``) is borrowed by its caller, in
another module (the project index) as in its own (stage 3)."""

from __future__ import annotations

import ast
from pathlib import Path

from memlint.analysis.project_index import ProjectIndex
from memlint.analysis.stored_values import stored_names

from test_project_index import assert_package_matches, expectations

PACKAGE = Path(__file__).resolve().parents[1] / "fixtures" / "projects" / "module_kept_connections"


def test_module_kept_connections_fixture_package_matches_its_expectations():
    assert_package_matches(PACKAGE, 3)
    assert len(expectations(PACKAGE / "store" / "app.py")) == 1


def test_the_index_summarises_only_the_fresh_factory():
    index = ProjectIndex()
    root = str(PACKAGE)
    assert index._summary(root, "store.db.init_db", 0) is None
    assert index._summary(root, "store.db.connection", 0) is None
    assert index._summary(root, "store.db.open_db", 0) is not None


def _assign(source: str) -> ast.Assign:
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.Assign)
    return node


def test_stored_names_pairs_tuple_slots_with_their_values():
    node = _assign("_local.conn, _local.path = conn, path")
    assert stored_names(node.targets, node.value) == {"conn", "path"}
    node = _assign("name, self.x = conn, other")
    assert stored_names(node.targets, node.value) == {"other"}
    node = _assign("a, b = conn, path")
    assert stored_names(node.targets, node.value) == set()
    node = _assign("self.a, *rest = conn, x, y")
    assert stored_names(node.targets, node.value) == set()
    node = _assign("cache[key] = conn")
    assert stored_names(node.targets, node.value) == {"conn"}

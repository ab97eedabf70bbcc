"""The project index reads a value kept in a cell of a local list (``_cell[0]``, set by a
nested function) like a local name: werkzeug's ``stream_encode_multipart`` idiom."""

from __future__ import annotations

import ast
from pathlib import Path

from memlint.analysis.list_cells import cell_key, list_cell_calls

from test_project_index import assert_package_matches, expectations

PACKAGE = Path(__file__).resolve().parents[1] / "fixtures" / "projects" / "list_cell_factories"


def _function(source: str) -> ast.AST:
    return ast.parse(source).body[0]


def _cells(source: str):
    return [(key, ast.unparse(call)) for key, call in list_cell_calls(_function(source))]


def test_list_cell_fixture_package_matches_its_expectations():
    assert_package_matches(PACKAGE, 3)
    assert expectations(PACKAGE / "encoders" / "users.py"), "the fixture must expect findings"


def test_cell_keys_only_for_a_name_and_a_constant_index():
    assert cell_key(ast.parse("_cell[0]", mode="eval").body) == "_cell[0]"
    assert cell_key(ast.parse("_cell[i]", mode="eval").body) is None
    assert cell_key(ast.parse("self.cells[0]", mode="eval").body) is None
    assert cell_key(ast.parse("_cell['a']", mode="eval").body) is None


def test_writes_through_a_name_of_the_nested_function():
    source = (
        "def f():\n"
        "    box = [None]\n"
        "    def swap():\n"
        "        made = make()\n"
        "        box[0] = made\n"
        "    swap()\n"
        "    return box[0]\n"
    )
    assert _cells(source) == [("box[0]", "make()")]


def test_no_cells_without_a_local_list_or_in_a_shadowing_function():
    assert _cells("def f(box):\n    box[0] = open('p')\n    return box[0]\n") == []
    shadowed = (
        "def f():\n"
        "    box = [1]\n"
        "    def inner(box):\n"
        "        box[0] = open('p')\n"
        "    return box[0]\n"
    )
    assert _cells(shadowed) == []  # the list literal holds no call; inner() writes its own list

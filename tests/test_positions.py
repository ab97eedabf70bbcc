"""Per-statement positions must agree exactly with libcst's whole-module PositionProvider."""

from __future__ import annotations

import ast
import os
import random
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from memlint.analysis.walk import find
from memlint.positions import StatementPositions

SAMPLE = sorted(Path(os.__file__).parent.glob("*.py"))[::25]
TRICKY = '''\
# a comment before everything
import os


@decorator(
    arg=1,
)
class Outer(Base,
            metaclass=Meta):
    """Docstring."""

    # comment before a method
    def method(self, path):
        with open(path) as handle:
            return handle.read()

    x = 1; y = open("p")

    @property
    def value(self):
        return (
            open("q")
        )


def top():
    f = open("r")
    yield f
'''


def _check(source: str) -> int:
    module = cst.parse_module(source)
    full = PositionProvider()._gen(MetadataWrapper(module, unsafe_skip_copy=True))
    lazy = StatementPositions(module, ast.parse(source))
    nodes = [node for node, _ in find(module, (cst.Call, cst.Name, cst.Yield, cst.Return, cst.ClassDef), stop=())]
    random.Random(7).shuffle(nodes)
    for node in nodes[:80]:
        assert lazy.get(node) == full.get(node), (type(node).__name__, full.get(node), lazy.get(node))
    return len(nodes)


def test_tricky_layout_positions_match() -> None:
    assert _check(TRICKY) > 10


@pytest.mark.parametrize("path", SAMPLE, ids=lambda p: p.name)
def test_stdlib_positions_match(path: Path) -> None:
    _check(path.read_text(encoding="utf-8"))


def test_without_ast_tree_falls_back_to_whole_module() -> None:
    module = cst.parse_module(TRICKY)
    lazy = StatementPositions(module, None)
    call = next(node for node, _ in find(module, (cst.Call,), stop=()))
    assert lazy[call].start.line > 1
    full = PositionProvider()._gen(MetadataWrapper(module, unsafe_skip_copy=True))
    assert all(lazy[node] == expected for node, expected in full.items())


CRLF = "x = (1,\r\n     2)\r\nif x:\r\n    y = '''a\r\nb'''  # c\r\n"
RECORDER_SAMPLE = sorted(Path(os.__file__).parent.glob("*.py"))[3::40] + sorted(Path(__file__).parents[1].glob("fixtures/**/*.py"))[::7]


def _every_range_matches(source: str) -> int:
    """The range recorder gives every node of a module libcst's own range."""
    from memlint.positions import _spans

    module = cst.parse_module(source)
    full = PositionProvider()._gen(MetadataWrapper(module, unsafe_skip_copy=True))
    spans = _spans(module)
    for node, expected in full.items():
        assert spans[id(node)] == (expected.start.line, expected.start.column, expected.end.line, expected.end.column), type(node).__name__
    return len(full)


@pytest.mark.parametrize("source", [TRICKY, CRLF, "a = 1\rb = 2\r", "def f():\n\tif x:\n\t\treturn (\n\t\t\t1)\n"])
def test_range_recorder_matches_on_every_node(source: str) -> None:
    assert _every_range_matches(source) > 5


@pytest.mark.parametrize("path", RECORDER_SAMPLE, ids=lambda p: p.name)
def test_range_recorder_matches_on_real_files(path: Path) -> None:
    _every_range_matches(path.read_text(encoding="utf-8"))

"""memlint supports Python 3.9: every source file must parse with the 3.9 grammar and avoid
the newer features that the grammar check alone does not catch."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import List

import pytest

from conftest import REPO_ROOT

SOURCES = sorted(
    path
    for folder in ("memlint", "tests", "benchmarks")
    for path in (REPO_ROOT / folder).rglob("*.py")
    # benchmarks/realcode/.cache holds fetched third-party projects, not memlint's code
    if "__pycache__" not in path.parts and ".cache" not in path.parts
)
# Names whose ``A | B`` at run time needs Python 3.10.
TYPE_NAMES = {"int", "str", "float", "bytes", "bool", "list", "dict", "set", "tuple", "type", "object", "None",
              "Path", "Any", "Optional", "List", "Dict", "Set", "Tuple", "Callable", "Sequence", "Mapping"}


def _is_type_like(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and node.value is None:
        return True
    if isinstance(node, ast.Name):
        return node.id in TYPE_NAMES
    if isinstance(node, ast.Subscript):
        return _is_type_like(node.value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _is_type_like(node.left) or _is_type_like(node.right)
    return False


def newer_features(tree: ast.Module, source: str) -> List[str]:
    """Uses of 3.10+ features in ``tree`` that ``feature_version=(3, 9)`` lets through."""
    problems = []
    annotations = set()
    for node in ast.walk(tree):
        for child in (getattr(node, "annotation", None), getattr(node, "returns", None)):
            if child is not None:
                annotations.update(id(sub) for sub in ast.walk(child))
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr) and id(node) not in annotations:
            if _is_type_like(node.left) and _is_type_like(node.right):
                problems.append(f"line {line}: `X | Y` type union evaluated at run time")
        if isinstance(node, ast.Call):
            names = {keyword.arg for keyword in node.keywords}
            func = node.func
            callee = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if callee == "zip" and "strict" in names:
                problems.append(f"line {line}: zip(strict=...)")
            if callee == "dataclass" and names & {"slots", "kw_only"}:
                problems.append(f"line {line}: dataclass(slots=/kw_only=)")
        if isinstance(node, (ast.With, ast.AsyncWith)) and len(node.items) > 1:
            segment = ast.get_source_segment(source, node) or ""
            head = segment.split(None, 1)[1] if segment.startswith("async") else segment
            if head[len("with"):].lstrip().startswith("(") and any(item.optional_vars for item in node.items):
                problems.append(f"line {line}: parenthesized multi-item `with (...)`")
        if type(node).__name__ in ("Match", "TryStar"):
            problems.append(f"line {line}: {type(node).__name__}")
    return problems


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_source_is_python39_compatible(path: Path):
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path), feature_version=(3, 9))
    assert newer_features(tree, source) == []
    uses_annotations = any(
        isinstance(node, ast.AnnAssign) or getattr(node, "returns", None) is not None
        or any(arg.annotation is not None for arg in getattr(getattr(node, "args", None), "args", []) or [])
        for node in ast.walk(tree)
        if isinstance(node, (ast.AnnAssign, ast.FunctionDef, ast.AsyncFunctionDef))
    )
    if uses_annotations:
        assert any(
            isinstance(node, ast.ImportFrom) and node.module == "__future__"
            and any(alias.name == "annotations" for alias in node.names)
            for node in tree.body
        ), "annotations are used: add `from __future__ import annotations`"


@pytest.mark.parametrize(
    "snippet",
    [
        "x = isinstance(a, int | str)\n",
        "zip(a, b, strict=True)\n",
        "@dataclass(slots=True)\nclass C: pass\n",
        "with (open(a) as f, open(b) as g):\n    pass\n",
    ],
)
def test_the_checker_catches_newer_features(snippet):
    assert newer_features(ast.parse(snippet), snippet) != []


def test_the_checker_allows_annotations_and_plain_or():
    snippet = "def f(a: int | None) -> str | None:\n    return a | b\nwith open(a) as f, open(b) as g:\n    pass\n"
    assert newer_features(ast.parse(snippet), snippet) == []

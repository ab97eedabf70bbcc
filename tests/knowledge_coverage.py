"""Which acquiring callables and methods of the knowledge files the fixture corpus exercises.

Shared by ``tests/test_knowledge.py``; reads the fixtures with ``ast`` only. A call "fires"
when it sits in a ``bad_*`` case on a line annotated ``# expect: ...``; it is "quiet" when it
sits in an ``ok_*`` case on a line with no such annotation.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "fixtures"
RULE_DIRS = ("MEM001", "MEM003", "MEM004", "MEM042")
_EXPECT = re.compile(r"#\s*expect:\s*MEM\d{3}")


def fixture_files() -> List[Path]:
    files: List[Path] = []
    for rule in RULE_DIRS:
        files.extend(sorted((FIXTURES / rule).rglob("*.py")))
    return files


def _aliases(tree: ast.Module) -> Dict[str, str]:
    table: Dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    table[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                table[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return table


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return ""
    parts.append(node.id)
    return ".".join(reversed(parts))


def _cases(path: Path, tree: ast.Module) -> Iterator[Tuple[str, List[ast.AST]]]:
    """("bad" | "ok", the nodes of one case)."""
    if path.stem.startswith(("bad_", "ok_")):
        yield path.stem.split("_", 1)[0], [tree]
        return
    for node in tree.body:
        name = getattr(node, "name", "")
        if name.startswith(("bad_", "ok_")):
            yield name.split("_", 1)[0], [node]


def exercised() -> Tuple[Set[str], Set[str], Set[str], Set[str]]:
    """(qualified callables that fire, that stay quiet, methods that fire, methods quiet)."""
    fire: Set[str] = set()
    quiet: Set[str] = set()
    method_fire: Set[str] = set()
    method_quiet: Set[str] = set()
    for path in fixture_files():
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        tree = ast.parse(source)
        aliases = _aliases(tree)
        for polarity, roots in _cases(path, tree):
            for root in roots:
                for node in ast.walk(root):
                    if not isinstance(node, ast.Call):
                        continue
                    annotated = any(_EXPECT.search(lines[n - 1]) for n in range(node.lineno, (node.end_lineno or node.lineno) + 1))
                    if polarity == "bad" and not annotated:
                        continue
                    if polarity == "ok" and annotated:
                        continue
                    name = _dotted(node.func)
                    if name:
                        head, dot, rest = name.partition(".")
                        qualified = aliases.get(head, head) + dot + rest
                        (fire if polarity == "bad" else quiet).add(qualified)
                    if isinstance(node.func, ast.Attribute):
                        (method_fire if polarity == "bad" else method_quiet).add(node.func.attr)
    return fire, quiet, method_fire, method_quiet

"""Run memlint over the non-test code of the fetched projects and give each finding a stable key.

A key must survive unrelated line shifts, so it is built from the project name, the path
relative to the project root, the code, the qualified name of the enclosing function or class,
the flagged line's text with its whitespace collapsed, and an occurrence index that tells
apart findings sharing all of these (counted in line order).
"""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

# judging.md: non-test code only.
TEST_FOLDERS = frozenset({"test", "tests", "testing"})
# Folders that are never package code of the project itself.
SKIPPED_FOLDERS = frozenset({".git", "__pycache__", ".tox", ".venv", "venv", "node_modules"})
KEY_FIELDS = ("project", "path", "code", "function", "text", "occurrence")
# Findings about memlint itself, not about the code: counted, never sampled or judged.
NOT_JUDGED_CODES = frozenset({"MEM000", "MEM900"})
_FILES_PER_CALL = 400


def findings_file_name(sets_name: str) -> str:
    """``last-findings-<sets>.jsonl``, shortened to a digest when the names of many sets would
    pass the file system's limit on a name (255 bytes)."""
    if len(sets_name) > 120:
        import hashlib

        digest = hashlib.sha1(sets_name.encode("utf-8")).hexdigest()[:12]
        sets_name = f"{sets_name.count('+') + 1}-sets-{digest}"
    return f"last-findings-{sets_name}.jsonl"


def source_lines(text: str) -> List[str]:
    """The lines of a source file as Python and memlint number them: only ``\\n``, ``\\r\\n`` and
    ``\\r`` end a line (``str.splitlines`` also splits at form feeds and other separators, which
    shifted every later line of a file that has one)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def is_test_path(relative_path: str) -> bool:
    """True for the test code that judging.md leaves out."""
    parts = relative_path.replace(os.sep, "/").split("/")
    if any(part in TEST_FOLDERS for part in parts[:-1]):
        return True
    name = parts[-1]
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"


def project_files(root: str) -> List[str]:
    """The non-test ``.py`` files under ``root``, as sorted paths relative to it."""
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders
                               if d not in SKIPPED_FOLDERS and d not in TEST_FOLDERS)
        for name in files:
            if not name.endswith(".py"):
                continue
            relative = os.path.relpath(os.path.join(folder, name), root)
            if not is_test_path(relative):
                found.append(relative.replace(os.sep, "/"))
    return sorted(found)


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def run_memlint(root: str, files: Sequence[str], extra_select: Optional[str],
                jobs: int) -> List[dict]:
    """memlint's JSON findings for ``files`` (relative to ``root``), with the memlint on sys.path:
    all of them, whatever their confidence (keys are counted over all; run.py filters)."""
    results: List[dict] = []
    for chunk in _chunks(list(files), _FILES_PER_CALL):
        command = [sys.executable, "-m", "memlint", "check", "--isolated", "--output-format",
                   "json", "--no-cache", "--exit-zero", "--quiet", "--jobs", str(jobs),
                   "--confidence", "low"]
        if extra_select:
            command += ["--extend-select", extra_select]
        command += list(chunk)
        done = subprocess.run(command, cwd=root, capture_output=True, text=True)
        if done.returncode != 0:
            message = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"memlint failed in {root} (exit {done.returncode}): {message}")
        results.extend(json.loads(done.stdout or "[]"))
    return results


class SourceIndex:
    """Lines and enclosing-scope names of a project's files, read once each."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._lines: Dict[str, List[str]] = {}
        self._scopes: Dict[str, List[Tuple[int, int, int, str]]] = {}

    def lines(self, path: str) -> List[str]:
        if path not in self._lines:
            try:
                with open(os.path.join(self.root, path), encoding="utf-8",
                          errors="replace") as handle:
                    self._lines[path] = source_lines(handle.read())
            except OSError:
                self._lines[path] = []
        return self._lines[path]

    def _scope_table(self, path: str) -> List[Tuple[int, int, int, str]]:
        if path in self._scopes:
            return self._scopes[path]
        table: List[Tuple[int, int, int, str]] = []
        try:
            tree = ast.parse("\n".join(self.lines(path)))
        except (SyntaxError, ValueError):
            tree = None

        def visit(node: ast.AST, prefix: str, depth: int) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    name = f"{prefix}.{child.name}" if prefix else child.name
                    first = min([child.lineno] + [d.lineno for d in child.decorator_list])
                    last = getattr(child, "end_lineno", None) or child.lineno
                    table.append((first, last, depth, name))
                    visit(child, name, depth + 1)
                else:
                    visit(child, prefix, depth)

        if tree is not None:
            visit(tree, "", 0)
        self._scopes[path] = table
        return table

    def enclosing(self, path: str, line: int) -> str:
        """The qualified name of the innermost function or class around ``line``."""
        best = (-1, "<module>")
        for first, last, depth, name in self._scope_table(path):
            if first <= line <= last and depth > best[0]:
                best = (depth, name)
        return best[1]

    def line_text(self, path: str, line: int) -> str:
        lines = self.lines(path)
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        return re.sub(r"\s+", " ", text).strip()


def key_of(record: dict) -> str:
    """The stable key string of a finding or ledger entry."""
    return "|".join(str(record[field]) for field in KEY_FIELDS)


def keyed_findings(project: str, set_name: str, root: str, raw: List[dict]) -> List[dict]:
    """memlint's findings turned into records carrying their stable key fields."""
    index = SourceIndex(root)
    records = []
    for item in raw:
        path = os.path.relpath(os.path.join(root, item["path"]), root).replace(os.sep, "/")
        line = int(item.get("line") or 0)
        records.append({
            "set": set_name, "project": project, "path": path, "code": item["code"],
            "function": index.enclosing(path, line), "text": index.line_text(path, line),
            "line": line, "message": item.get("message", ""),
            "confidence": item.get("confidence", "high"),
        })
    records.sort(key=lambda r: (r["path"], r["line"], r["code"], r["message"]))
    seen: Dict[Tuple[str, ...], int] = {}
    for record in records:
        base = tuple(str(record[f]) for f in KEY_FIELDS[:-1])
        record["occurrence"] = seen.get(base, 0)
        seen[base] = record["occurrence"] + 1
        record["key"] = key_of(record)
    return records

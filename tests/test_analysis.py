"""The resource-lifetime analysis beyond the fixture corpus: robustness, messages, the table."""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path
from typing import List

import pytest

from memlint.analysis.resources import RESOURCE_CALLS
from memlint.engine import check_text
from memlint.rules import load_rules
from memlint.rules.base import RuleOptions

ROOT = Path(__file__).resolve().parent.parent
ANALYSIS_CODES = ["MEM001", "MEM003", "MEM004", "MEM041"]


def run(source: str, options: RuleOptions = RuleOptions(), codes: List[str] = ANALYSIS_CODES) -> List[tuple]:
    findings = check_text(source, "sample.py", load_rules(codes), options)
    return [(f.line, f.code, f.message) for f in findings]


def test_docs_list_every_resource_call() -> None:
    """The full list is docs/resources.md (the README has one row per knowledge file)."""
    reference = (ROOT / "docs" / "resources.md").read_text(encoding="utf-8")
    missing = [name for name in RESOURCE_CALLS if f"`{name}`" not in reference]
    assert not missing, f"docs/resources.md lacks: {missing}"


def test_messages_name_the_raising_call_and_its_line() -> None:
    source = (
        "import socket\n"
        "def send_all(address, payload):\n"
        "    sock = socket.create_connection(address)\n"
        "    sock.sendall(payload)\n"
        "    sock.close()\n"
    )
    assert run(source) == [
        (
            3,
            "MEM003",
            "`sock` (a socket from `socket.create_connection()`) is not closed when "
            "`sock.sendall()` raises (line 4)",
        )
    ]


def test_early_return_names_the_return_line() -> None:
    source = (
        "def first_line(path, skip):\n"
        "    f = open(path)\n"
        "    if skip:\n"
        "        return None\n"
        "    line = f.readline()\n"
        "    f.close()\n"
        "    return line\n"
    )
    (finding,) = run(source)
    assert finding[:2] == (2, "MEM001")
    assert "returns at line 4" in finding[2]


def test_custom_resources_from_options() -> None:
    source = "import mylib\ndef f(dsn):\n    conn = mylib.connect(dsn)\n    return conn.query()\n"
    assert run(source) == []
    found = run(source, RuleOptions(resources={"mylib.connect": "close"}))
    assert [(line, code) for line, code, _ in found] == [(3, "MEM001")]
    release = source.replace("    return conn.query()\n", "    try:\n        return conn.query()\n    finally:\n        conn.close()\n")
    assert run(release, RuleOptions(resources={"mylib.connect": "close"}), ["MEM001", "MEM003"]) == []


def test_prefer_with_is_reported_only_when_selected() -> None:
    source = "def read(p):\n    f = open(p)\n    try:\n        return f.read()\n    finally:\n        f.close()\n"
    assert [(line, code) for line, code, _ in run(source)] == [(2, "MEM041")]
    default_rules = load_rules(["MEM001", "MEM003", "MEM004"])
    assert check_text(source, "s.py", default_rules, RuleOptions()) == []


def test_deeply_nested_file_is_analysed_without_recursion_error() -> None:
    # A 1,500-term expression makes a tree far deeper than the default recursion limit;
    # the engine's deep-stack thread must still analyse the file and find the leak in it.
    from memlint.engine import run_with_deep_stack

    expression = " + ".join(["1"] * 1500)
    source = f"TOTAL = {expression}\n\ndef leak(path):\n    f = open(path)\n    return f.read()\n"
    found = run_with_deep_stack(lambda: run(source))
    assert [(line, code) for line, code, _ in found] == [(4, "MEM001")]


def _stdlib_sample() -> List[Path]:
    stdlib = Path(os.__file__).parent
    files = sorted(stdlib.glob("*.py"))[::12]
    broken = sorted(stdlib.glob("lib2to3/tests/data/*.py")) + sorted(stdlib.glob("test/tokenizedata/bad*.py"))
    broken += sorted(stdlib.glob("test/badsyntax_*.py"))
    return files + broken


@pytest.mark.parametrize("path", _stdlib_sample(), ids=lambda p: p.name)
def test_mem000_exactly_where_ast_rejects(path: Path) -> None:
    data = path.read_bytes()
    try:
        ast.parse(data)
        rejected = False
    except (SyntaxError, ValueError):
        rejected = True
    from memlint.engine import run_with_deep_stack

    findings = run_with_deep_stack(lambda: check_text(data, str(path), load_rules(ANALYSIS_CODES), RuleOptions()))
    codes = {finding.code for finding in findings}
    assert ("MEM000" in codes) == rejected, findings[:3]
    assert "MEM900" not in codes, [f.message for f in findings if f.code == "MEM900"]


def test_stdlib_sample_is_not_trivial() -> None:
    sample = _stdlib_sample()
    assert len(sample) > 20
    assert sys.version_info >= (3, 9)

"""What keeps ``--fix`` linear in the number of findings (issue 15, "linear cost").

The costs themselves are measured in ``benchmarks/bench_fix.py``; these tests pin down the
mechanisms, by counting work rather than timing it: one walk of a function for all the
questions the fixer asks about names in it, one ``ast`` parse of each fixed text, and the
garbage collector left as it was found.
"""

from __future__ import annotations

import ast
import gc
from collections import Counter
from pathlib import Path
from typing import Iterator, List, Set, Tuple

import libcst as cst
import pytest

import memlint
import memlint.fixes.mentions as mentions_module
from memlint.analysis.walk import find
from memlint.diagnostics import Edit, Finding, Fix
from memlint.engine import accepted_by_python
from memlint.fixes import fix_text
from memlint.fixes.collector import collector_paused
from memlint.fixes.files import fix_file
from memlint.fixes.mentions import MentionIndex, count_mentions, mentions

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "fixtures"

LEAKY = '''
def read_{n}(path):
    f = open(path, encoding="utf-8")
    data = f.read()
    f.close()
    return data
'''
CLEAN = '''
def read_{n}(path):
    with open(path, encoding="utf-8") as f:
        data = f.read()
    return data
'''


def _fixture_files() -> List[Path]:
    files: List[Path] = []
    for folder in ("MEM001", "MEM003", "fixes/cases"):
        files.extend(sorted((FIXTURES / folder).rglob("*.py")))
    return files


def _scopes(module: cst.Module) -> Iterator[cst.CSTNode]:
    yield module
    for function, _ in find(module, (cst.FunctionDef,), stop=()):
        yield function


def _names_under(root: cst.CSTNode) -> Set[str]:
    """Every plain name and every dotted name (``self._lock``) written under ``root``."""
    names: Set[str] = set()
    for node, _ in find(root, (cst.Name, cst.Attribute), stop=()):
        if isinstance(node, cst.Name):
            names.add(node.value)
        else:
            spelt = mentions_module.dotted(node)  # type: ignore[arg-type]
            if spelt:
                names.add(spelt)
    return names


def _same(got: List[Tuple[cst.CSTNode, Tuple[cst.CSTNode, ...]]], expected: List[Tuple[cst.CSTNode, Tuple[cst.CSTNode, ...]]]) -> bool:
    """The same nodes with the same paths, by identity and in the same order."""
    return [(id(n), tuple(map(id, p))) for n, p in got] == [(id(n), tuple(map(id, p))) for n, p in expected]


@pytest.mark.parametrize("path", _fixture_files(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_the_index_answers_as_a_walk_of_each_root_does(path: Path) -> None:
    module = cst.parse_module(path.read_text(encoding="utf-8"))
    index = MentionIndex()
    checked = 0
    for scope in _scopes(module):
        index.focus(scope)
        roots = [scope] + [node for node, _ in find(scope, (cst.BaseStatement,), stop=())]
        for root in roots:
            names = sorted(_names_under(root))[:12]
            for name in names:
                assert _same(index.of(root, {name}), mentions(root, {name})), (name, type(root).__name__)
                assert index.count([root], name) == count_mentions([root], name)
            if names:
                # Several names at once (``follow`` asks for every name holding the resource).
                assert _same(index.of(root, set(names)), mentions(root, set(names)))
                checked += 1
    # A statement of another scope (a helper followed from here) is answered too.
    index.focus(module)
    for function, _ in find(module, (cst.FunctionDef,), stop=()):
        statements = function.body.body if isinstance(function.body, cst.IndentedBlock) else ()
        for statement in statements:
            for name in sorted(_names_under(statement))[:5]:
                assert _same(index.of(statement, {name}), mentions(statement, {name}))
    assert checked or not _names_under(module)


def test_the_fixer_walks_each_function_once_whatever_it_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    count = 60
    walks = Counter()
    real_find = mentions_module.find

    def counting_find(root, *args, **kwargs):  # type: ignore[no-untyped-def]
        walks[id(root)] += 1
        return real_find(root, *args, **kwargs)

    monkeypatch.setattr(mentions_module, "find", counting_find)
    source = "".join(LEAKY.format(n=n) for n in range(count))
    findings = memlint.check_source(source, "many.py")
    assert sum(1 for f in findings if f.fix is not None) == count
    # Before: about eight walks per function (one per statement asked about, one per name).
    assert sum(walks.values()) <= count + 2, sum(walks.values())


def test_each_fixed_text_is_parsed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "module.py"
    target.write_text("".join(LEAKY.format(n=n) for n in range(3)), encoding="utf-8")
    parsed: Counter = Counter()
    real_parse = ast.parse

    def counting_parse(source, *args, **kwargs):  # type: ignore[no-untyped-def]
        parsed[source] += 1
        return real_parse(source, *args, **kwargs)

    monkeypatch.setattr(ast, "parse", counting_parse)
    result = fix_file(str(target), "module.py", lambda text: memlint.check_source(text, "module.py"))
    fixed = "".join(CLEAN.format(n=n) for n in range(3))
    assert result is not None and result.outcome.text == fixed
    # Before: the fixer parsed the fixed text to refuse broken code, then the check parsed it again.
    assert parsed[fixed] == 1


def _breaking_finding(text: str) -> Finding:
    """A finding whose fix turns the first line into code that does not parse."""
    first = text.splitlines()[0]
    edit = Edit(1, 1, 1, len(first) + 1, "def (:")
    return Finding("module.py", 1, 1, 1, 1, "MEM003", "test", Fix("break it", True, (edit,)))


def test_a_round_whose_output_does_not_parse_is_still_refused() -> None:
    source = LEAKY.format(n=0).lstrip("\n")
    check_calls: List[str] = []

    def check(text: str) -> List[Finding]:
        check_calls.append(text)
        return memlint.check_source(text, "module.py")

    outcome = fix_text(source, check, findings=[_breaking_finding(source)], parsed_by_check=accepted_by_python)
    assert outcome.text == source and outcome.problem is not None and not outcome.fixed
    assert outcome.problem.startswith("a fix produced invalid code")


def test_newer_syntax_than_the_interpreter_reads_is_never_fixed() -> None:
    """A file that only libcst can read (a ``type`` statement on 3.11) is checked, but a fix
    is applied only to text the running interpreter parses: none here."""
    source = "type Alias = int\n" + LEAKY.format(n=0)
    try:
        ast.parse(source)
    except SyntaxError:
        pass
    else:
        pytest.skip("this interpreter reads type statements")
    try:
        cst.parse_module(source)
    except Exception:  # noqa: BLE001 - a libcst too old for PEP 695
        pytest.skip("libcst cannot read type statements")
    check = lambda text: memlint.check_source(text, "module.py")  # noqa: E731
    assert any(f.fix is not None for f in check(source)), "the premise: the leak has a fix"
    outcome = fix_text(source, check, parsed_by_check=accepted_by_python)
    assert outcome.text == source and outcome.problem is not None


def test_the_collector_is_left_as_it_was_found() -> None:
    source = LEAKY.format(n=0).lstrip("\n")
    check = lambda text: memlint.check_source(text, "module.py")  # noqa: E731
    assert gc.isenabled()
    fix_text(source, check, parsed_by_check=accepted_by_python)
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused(collect_after=True):
            assert not gc.isenabled()
        fix_text(source, check, parsed_by_check=accepted_by_python)
        assert not gc.isenabled(), "a caller that turned the collector off keeps it off"
    finally:
        gc.enable()

"""The fixture corpus is the ground truth for MEM001/MEM003/MEM004, MEM051-MEM053 and MEM061.

Each file under ``fixtures/MEM001``, ``fixtures/MEM003``, ``fixtures/MEM004`` and
``fixtures/MEM051``-``MEM053`` (checked with those off-by-default rules selected) holds small
cases: top-level functions or classes named ``bad_*`` (a real defect) or ``ok_*`` (a tricky
negative), or, for module-level code, a whole file named ``bad_*.py`` / ``ok_*.py``. The
findings each file must produce are written in it as ``# expect: CODE[, CODE]`` comments on
the line where the finding sits, ``CODE(low)`` for a finding of low confidence (shown only
with ``--confidence low``; the Figures of each rule spec). ``test_fixture_file`` compares, per file
and exactly, the (line, code, confidence) triples memlint finds with those expected; the other tests keep the corpus itself
honest (size, naming, docstrings, syntax), independently of the analyzer.

``fixtures/MEM001/custom_config`` carries its own ``pyproject.toml`` with
``[tool.memlint.resources]``; it is checked through ``memlint.check_paths`` so that the
configuration is found the way users' projects find it.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections import Counter
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import pytest

import memlint
from memlint.diagnostics import Finding

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "fixtures"
RULE_DIRS = ("MEM001", "MEM003", "MEM004", "MEM042", "MEM051", "MEM052", "MEM053", "MEM061")
CHECKED_CODES = frozenset(RULE_DIRS)
# Off by default: their fixtures are checked with them selected (the others' without them).
GROWTH_DIRS = ("MEM051", "MEM052", "MEM053")
# Checked with their rule selected whether it is on by default or not.
SELECTED_DIRS = GROWTH_DIRS + ("MEM061",)
# Engine codes that mean the file was not analysed at all; never expected, always reported.
ENGINE_ERROR_CODES = frozenset({"MEM000", "MEM900"})
CUSTOM_CONFIG_DIR = FIXTURES / "MEM001" / "custom_config"
MIN_CASES = 200

_EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>.*?)\s*$")
_CODE = re.compile(r"MEM\d{3}(?:\(low\))?")
# Every finding is checked, whatever its confidence; the expectation says which it is.
ALL_CONFIDENCES = {"confidence": "low"}

Pair = Tuple[int, str]


def _all_fixture_files() -> List[Path]:
    files: List[Path] = []
    for rule in RULE_DIRS:
        files.extend(sorted((FIXTURES / rule).rglob("*.py")))
    return files


def _plain_fixture_files() -> List[Path]:
    """Fixture files checked with the default configuration through ``check_source``."""
    return [p for p in _all_fixture_files() if CUSTOM_CONFIG_DIR not in p.parents]


def _custom_config_files() -> List[Path]:
    return sorted(CUSTOM_CONFIG_DIR.glob("*.py"))


def _rel(path: Path) -> str:
    return path.relative_to(REPO_ROOT).as_posix()


def _is_module_level_case(path: Path) -> bool:
    return path.stem.startswith(("bad_", "ok_"))


def parse_expectations(source: str) -> List[Pair]:
    """(line, code) pairs from ``# expect:`` comments, read with tokenize.

    Only real comments count: a string literal that contains ``# expect`` is a STRING token.
    A malformed expectation raises ``ValueError`` rather than being ignored.
    """
    pairs: List[Pair] = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type != tokenize.COMMENT:
            continue
        match = _EXPECT.search(token.string)
        if match is None:
            continue
        line = token.start[0]
        items = [item.strip() for item in match.group("codes").split(",")]
        if not items or any(_CODE.fullmatch(item) is None for item in items):
            raise ValueError(f"line {line}: malformed expectation {token.string!r}")
        pairs.extend((line, item) for item in items)
    return sorted(pairs)


def _found_pairs(
    findings: Iterable[Finding], only_path: Optional[Path] = None
) -> Tuple[List[Pair], Dict[Pair, List[str]]]:
    """Pairs for the codes under test (plus engine errors) and their messages.

    ``only_path`` keeps the findings of one file out of a multi-file run.
    """
    pairs: List[Pair] = []
    messages: Dict[Pair, List[str]] = {}
    for finding in findings:
        if finding.code not in CHECKED_CODES and finding.code not in ENGINE_ERROR_CODES:
            continue
        if only_path is not None and Path(finding.path).resolve() != only_path.resolve():
            continue
        pair = (finding.line, finding.code + ("(low)" if finding.confidence == "low" else ""))
        pairs.append(pair)
        messages.setdefault(pair, []).append(finding.message)
    return sorted(pairs), messages


def _diff_report(
    path: Path,
    source: str,
    expected: Sequence[Pair],
    found: Sequence[Pair],
    messages: Dict[Pair, List[str]],
) -> str:
    lines = source.splitlines()
    missing = list((Counter(expected) - Counter(found)).elements())
    unexpected = list((Counter(found) - Counter(expected)).elements())

    def show(pair: Pair) -> str:
        line, code = pair
        text = lines[line - 1].strip() if 0 < line <= len(lines) else "<no such line>"
        return f"  {_rel(path)}:{line}: {code}  | {text}"

    report = [f"{_rel(path)}: findings differ from the `# expect:` comments"]
    if missing:
        report.append(f"missing ({len(missing)}):")
        report.extend(show(pair) for pair in sorted(missing))
    if unexpected:
        report.append(f"unexpected ({len(unexpected)}):")
        for pair in sorted(unexpected):
            report.append(show(pair))
            for message in messages.get(pair, [])[:1]:
                report.append(f"      message: {message}")
    return "\n".join(report)


def _assert_matches(
    path: Path, source: str, findings: Iterable[Finding], only_path: Optional[Path] = None
) -> None:
    expected = parse_expectations(source)
    found, messages = _found_pairs(findings, only_path)
    assert found == expected, _diff_report(path, source, expected, found, messages)


@pytest.mark.parametrize("path", _plain_fixture_files(), ids=_rel)
def test_fixture_file(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    selected = path.relative_to(FIXTURES).parts[0] in SELECTED_DIRS
    config = dict(ALL_CONFIDENCES, **({"extend-select": list(SELECTED_DIRS)} if selected else {}))
    findings = memlint.check_source(source, str(path), config)
    _assert_matches(path, source, findings)


def test_custom_config_resources_through_check_paths() -> None:
    """The `[tool.memlint.resources]` entry in the fixture's own pyproject.toml is honoured."""
    files = _custom_config_files()
    assert files, f"no fixture files in {_rel(CUSTOM_CONFIG_DIR)}"
    assert (CUSTOM_CONFIG_DIR / "pyproject.toml").is_file()
    findings = memlint.check_paths([str(CUSTOM_CONFIG_DIR)])
    for path in files:
        _assert_matches(path, path.read_text(encoding="utf-8"), findings, only_path=path)


def test_custom_config_resources_are_not_known_by_default() -> None:
    """Without that configuration `mylib.connect` is unknown, so the same file draws nothing.

    This is what makes the check above prove that the configuration was read.
    """
    for path in _custom_config_files():
        source = path.read_text(encoding="utf-8")
        assert parse_expectations(source), f"{_rel(path)} expects no finding at all"
        found, messages = _found_pairs(memlint.check_source(source, str(path)))
        assert found == [], _diff_report(path, source, [], found, messages)


# --- the corpus itself --------------------------------------------------------------------


def _cases(path: Path, tree: ast.Module) -> List[Tuple[str, int, int, ast.AST]]:
    """(name, first line, last line, node) of each case in one file."""
    if _is_module_level_case(path):
        return [(path.stem, 1, len(path.read_text(encoding="utf-8").splitlines()), tree)]
    cases = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name.startswith(
            ("bad_", "ok_")
        ):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            cases.append((node.name, first, node.end_lineno or node.lineno, node))
    return cases


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path), feature_version=(3, 9))


@pytest.mark.parametrize("path", _all_fixture_files(), ids=_rel)
def test_fixture_file_is_well_formed(path: Path) -> None:
    """Valid 3.9 syntax; every case documented; every `bad_` case expects something, no `ok_` case does."""
    source = path.read_text(encoding="utf-8")
    tree = _parse(path)
    expected = parse_expectations(source)
    cases = _cases(path, tree)
    assert cases, f"{_rel(path)} holds no bad_*/ok_* case"
    rule_dir = path.relative_to(FIXTURES).parts[0]
    covered = set()
    for name, first, last, node in cases:
        docstring = ast.get_docstring(node) if not isinstance(node, ast.Module) else ast.get_docstring(tree)
        assert docstring and docstring.strip(), f"{_rel(path)}: case {name} has no docstring"
        inside = [pair for pair in expected if first <= pair[0] <= last]
        covered.update(inside)
        if name.startswith("bad_"):
            assert inside, f"{_rel(path)}: {name} is a bad_ case without any `# expect:`"
            assert any(code.replace("(low)", "") == rule_dir for _, code in inside), (
                f"{_rel(path)}: {name} sits under {rule_dir}/ but expects only {sorted({c for _, c in inside})}"
            )
        else:
            assert not inside, f"{_rel(path)}: {name} is an ok_ case but expects {inside}"
    stray = [pair for pair in expected if pair not in covered]
    assert not stray, f"{_rel(path)}: expectations outside any case: {stray}"


def test_corpus_size_and_balance() -> None:
    counts: Dict[str, Counter] = {rule: Counter() for rule in RULE_DIRS}
    names: Counter = Counter()
    for path in _all_fixture_files():
        rule_dir = path.relative_to(FIXTURES).parts[0]
        for name, _, _, _ in _cases(path, _parse(path)):
            kind = "bad" if name.startswith("bad_") else "ok"
            counts[rule_dir][kind] += 1
            names[(rule_dir, name)] += 1
    total = sum(sum(c.values()) for c in counts.values())
    assert total >= MIN_CASES, f"only {total} cases: {dict(counts)}"
    for rule, count in counts.items():
        assert count["bad"] > 0 and count["ok"] > 0, f"{rule} needs both bad_ and ok_ cases: {dict(count)}"
    duplicated = [key for key, n in names.items() if n > 1]
    assert not duplicated, f"case names used twice in one rule directory: {duplicated}"


def test_expectation_parser_ignores_strings_and_rejects_typos() -> None:
    source = (
        'x = "# expect: MEM001"\n'
        "y = open(p)  # expect: MEM001, MEM003\n"
        "z = 1  # an ordinary comment\n"
    )
    assert parse_expectations(source) == [(2, "MEM001"), (2, "MEM003")]
    assert parse_expectations("f = open(p)  # expect: MEM003(low)\n") == [(1, "MEM003(low)")]
    with pytest.raises(ValueError):
        parse_expectations("f = open(p)  # expect: MEM01\n")
    with pytest.raises(ValueError):
        parse_expectations("f = open(p)  # expect: MEM003(lo)\n")

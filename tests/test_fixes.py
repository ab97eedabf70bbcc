"""`memlint.fixes` on the fixture corpus: checked-in expected text and the fix invariants.

Inputs are every MEM001/MEM003 fixture file (``fixtures/MEM001``, ``fixtures/MEM003``) and
the fixer's own cases (``fixtures/fixes/cases``). For each input that a safe fix changes,
the expected result is checked in under ``fixtures/fixes/expected/`` (same relative path;
``fixtures/fixes/cases/x.py`` -> ``expected/cases/x.py``); where ``--unsafe-fixes`` gives
something else, under ``fixtures/fixes/expected-unsafe/``. An input with no expected file
must come out unchanged.

After a change to the fixer, review the new output and rewrite the expected files with
``python tests/test_fixes.py --regenerate`` (then read the diff before committing it).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

import memlint
from memlint.fixes import FixOutcome, fix_text

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "fixtures"
FIX_FIXTURES = FIXTURES / "fixes"
CASES = FIX_FIXTURES / "cases"
EXPECTED = FIX_FIXTURES / "expected"
EXPECTED_UNSAFE = FIX_FIXTURES / "expected-unsafe"
LEAK_CODES = ("MEM001", "MEM003", "MEM041")


def _inputs() -> List[Path]:
    files: List[Path] = []
    for rule in ("MEM001", "MEM003"):
        files.extend(p for p in sorted((FIXTURES / rule).rglob("*.py")) if "custom_config" not in p.parts)
    files.extend(sorted(CASES.glob("*.py")))
    return files


def _config(path: Path) -> Optional[Dict[str, Any]]:
    # MEM041 is off by default; its cases are checked with it switched on, as a user would.
    # Every finding is fixed, whatever its confidence: a fix must be safe for all of them.
    config: Dict[str, Any] = {"confidence": "low"}
    if path.name.startswith("prefer_with"):
        config["extend-select"] = ["MEM041"]
    return config


def _relative(path: Path) -> Path:
    if CASES in path.parents:
        return Path("cases") / path.relative_to(CASES)
    return path.relative_to(FIXTURES)


def _fix(path: Path, text: str, unsafe: bool) -> FixOutcome:
    config = _config(path)
    return fix_text(text, lambda source: memlint.check_source(source, str(path), config), unsafe=unsafe)


def _leaks(findings: List[memlint.Finding]) -> List[memlint.Finding]:
    return [f for f in findings if f.code in LEAK_CODES]


def _id(path: Path) -> str:
    return _relative(path).as_posix()


@pytest.mark.parametrize("path", _inputs(), ids=_id)
def test_safe_fix_matches_checked_in_text(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    outcome = _fix(path, source, unsafe=False)
    expected = EXPECTED / _relative(path)
    if expected.exists():
        assert outcome.text == expected.read_text(encoding="utf-8")
        assert outcome.text != source, f"{expected} exists but the fix changes nothing"
    else:
        assert outcome.text == source, f"a safe fix changed {_id(path)}; no expected text at {expected}"


@pytest.mark.parametrize("path", _inputs(), ids=_id)
def test_unsafe_fix_matches_checked_in_text(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    outcome = _fix(path, source, unsafe=True)
    expected = EXPECTED_UNSAFE / _relative(path)
    if not expected.exists():
        expected = EXPECTED / _relative(path)
    if expected.exists():
        assert outcome.text == expected.read_text(encoding="utf-8")
    else:
        assert outcome.text == source


@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
@pytest.mark.parametrize("path", _inputs(), ids=_id)
def test_fix_invariants(path: Path, unsafe: bool) -> None:
    """Valid 3.9 code; the fixed findings are gone and no new one appears; idempotent."""
    source = path.read_text(encoding="utf-8")
    before = _leaks(memlint.check_source(source, str(path), _config(path)))
    outcome = _fix(path, source, unsafe=unsafe)
    assert outcome.problem is None
    ast.parse(outcome.text, feature_version=(3, 9))
    after = _leaks(memlint.check_source(outcome.text, str(path), _config(path)))
    fixed = _leaks(outcome.fixed)
    assert len(after) == len(before) - len(fixed), "a fix left its finding behind or made a new one"
    # Every applicable fix was applied: what remains has none (or only unsafe ones in safe mode).
    assert not [f for f in after if f.fix is not None and (f.fix.safe or unsafe)]
    # What remains is what was there, by message, apart from line numbers that moved.
    assert {_shape(f) for f in after} <= {_shape(f) for f in before}
    again = _fix(path, outcome.text, unsafe=unsafe)
    assert again.text == outcome.text and not again.fixed, "a second --fix changed the file again"


def _shape(finding: memlint.Finding) -> str:
    import re

    return finding.code + ":" + re.sub(r"line \d+", "line N", finding.message)


def test_checked_in_texts_belong_to_inputs() -> None:
    """No expected text is left over from an input that was renamed or removed."""
    inputs = {_relative(path) for path in _inputs()}
    for root in (EXPECTED, EXPECTED_UNSAFE):
        stale = [p for p in root.rglob("*.py") if p.relative_to(root) not in inputs]
        assert not stale, f"expected texts without an input: {stale}"


def test_every_fixer_case_but_the_refusals_is_changed() -> None:
    for path in CASES.glob("*.py"):
        assert (EXPECTED / _relative(path)).exists() == (path.name != "refusals.py"), path.name


def _regenerate() -> None:  # pragma: no cover - a maintenance helper, run by hand
    for path in _inputs():
        source = path.read_text(encoding="utf-8")
        safe = _fix(path, source, unsafe=False).text
        unsafe = _fix(path, source, unsafe=True).text
        for root, text, present in ((EXPECTED, safe, safe != source), (EXPECTED_UNSAFE, unsafe, unsafe != safe)):
            target = root / _relative(path)
            if present:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
            elif target.exists():
                target.unlink()


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:] == ["--regenerate"]:
        _regenerate()
    else:
        sys.exit("usage: python tests/test_fixes.py --regenerate")

"""The fixes of MEM051 (a bound for an unbounded cache) and MEM053 (a guard around a handler
added on every call): checked-in texts, the fix invariants, and the fixed code's behaviour.

Inputs are ``fixtures/fixes/growth/cases/*.py``; the expected ``--fix`` text is under
``fixtures/fixes/growth/expected/`` and, where ``--unsafe-fixes`` gives something else,
under ``fixtures/fixes/growth/expected-unsafe/`` (no file: the input comes out unchanged).
Rewrite them after a change with ``python tests/test_growth_fixes.py --regenerate`` and
read the diff before committing it.
"""

from __future__ import annotations

import ast
import io
import logging
import sys
import types
from pathlib import Path
from typing import List

import pytest

import memlint
from memlint.fixes import FixOutcome, fix_text

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "fixes" / "growth"
CASES = ROOT / "cases"
EXPECTED = ROOT / "expected"
EXPECTED_UNSAFE = ROOT / "expected-unsafe"
CODES = ("MEM051", "MEM053")
CONFIG = {"extend-select": list(CODES)}


def _inputs() -> List[Path]:
    return sorted(CASES.glob("*.py"))


def _check(path: Path):
    return lambda text: memlint.check_source(text, str(path), CONFIG)


def _fix(path: Path, text: str, unsafe: bool) -> FixOutcome:
    return fix_text(text, _check(path), unsafe=unsafe)


def _growth(findings: List[memlint.Finding]) -> List[memlint.Finding]:
    return [f for f in findings if f.code in CODES]


@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
@pytest.mark.parametrize("path", _inputs(), ids=lambda p: p.name)
def test_fix_matches_checked_in_text(path: Path, unsafe: bool) -> None:
    source = path.read_text(encoding="utf-8")
    outcome = _fix(path, source, unsafe)
    candidates = ([EXPECTED_UNSAFE / path.name] if unsafe else []) + [EXPECTED / path.name]
    expected = next((c for c in candidates if c.exists()), None)
    if expected is None:
        assert outcome.text == source
    else:
        assert outcome.text == expected.read_text(encoding="utf-8")


@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
@pytest.mark.parametrize("path", _inputs(), ids=lambda p: p.name)
def test_fix_invariants(path: Path, unsafe: bool) -> None:
    """Valid 3.9 code; the fixed findings are gone, no new one appears; a second fix changes nothing."""
    source = path.read_text(encoding="utf-8")
    before = _growth(memlint.check_source(source, str(path), CONFIG))
    outcome = _fix(path, source, unsafe)
    assert outcome.problem is None
    ast.parse(outcome.text, feature_version=(3, 9))
    after = _growth(memlint.check_source(outcome.text, str(path), CONFIG))
    assert len(after) == len(before) - len(_growth(outcome.fixed))
    assert not [f for f in after if f.fix is not None and (f.fix.safe or unsafe)]
    again = _fix(path, outcome.text, unsafe)
    assert again.text == outcome.text and not again.fixed


def test_which_findings_get_which_fix() -> None:
    """Safe only for a standard handler built in the statement from nothing the call gives, on
    a registry logger; a cache bound is never safe; a method cache and a handler built before
    the statement get none."""
    kinds = {}
    for path in _inputs():
        for finding in _growth(memlint.check_source(path.read_text(encoding="utf-8"), str(path), CONFIG)):
            kind = "none" if finding.fix is None else ("safe" if finding.fix.safe else "unsafe")
            kinds[(path.name, finding.line)] = kind
    handler = {line: kind for (name, line), kind in kinds.items() if name == "handler_guards.py"}
    assert sorted(handler.values()) == ["none"] * 2 + ["safe"] * 6 + ["unsafe"] * 4, handler
    cache = [kind for (name, _), kind in sorted(kinds.items()) if name == "cache_bounds.py"]
    assert cache == ["unsafe", "unsafe", "unsafe", "unsafe", "none"]
    assert [kind for (name, _), kind in kinds.items() if name == "cache_without_lru_name.py"] == ["none"]


# -- behaviour: the fixed code does what the original did, minus the piling up -------------


def _load(text: str, name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__file__ = str(CASES / "handler_guards.py")
    exec(compile(text, module.__file__, "exec"), module.__dict__)  # noqa: S102 - our own fixture
    return module


@pytest.fixture()
def handler_versions():
    """The handler cases before and after ``--fix`` (safe fixes only), and a cleanup."""
    path = CASES / "handler_guards.py"
    source = path.read_text(encoding="utf-8")
    fixed = _fix(path, source, unsafe=False).text
    assert fixed != source
    made: List[logging.Logger] = []
    yield _load(source, "handler_guards_before"), _load(fixed, "handler_guards_after"), made
    for logger in made:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)


def _lines_logged(get_logger, name: str, calls: int, made: List[logging.Logger], before=None) -> int:
    """Lines written to stderr by one record after ``calls`` calls of ``get_logger(name)``."""
    stream = io.StringIO()
    saved, sys.stderr = sys.stderr, stream
    try:
        logger = logging.getLogger(name)
        made.append(logger)
        logger.propagate = False
        if before is not None:
            before(logger)
        for _ in range(calls):
            logger = get_logger(name)
        logger.warning("one record")
    finally:
        sys.stderr = saved
    return stream.getvalue().count("one record")


def test_called_twice_logs_each_record_once_after_the_fix(handler_versions) -> None:
    original, fixed, made = handler_versions
    assert _lines_logged(original.get_logger, "t.before.twice", 2, made) == 2
    assert _lines_logged(fixed.get_logger, "t.after.twice", 2, made) == 1
    assert _lines_logged(fixed.get_logger, "t.after.many", 5, made) == 1


def test_the_first_call_behaves_as_before(handler_versions) -> None:
    original, fixed, made = handler_versions
    assert _lines_logged(original.get_logger, "t.before.once", 1, made) == 1
    assert _lines_logged(fixed.get_logger, "t.after.once", 1, made) == 1
    # A logger another part of the program has already given a handler still gets this one
    # on the first call (a guard `if not logger.handlers:` would have skipped it).
    def configured_elsewhere(logger: logging.Logger) -> None:
        logger.addHandler(logging.StreamHandler())

    assert _lines_logged(original.get_logger, "t.before.other", 1, made, configured_elsewhere) == 2
    assert _lines_logged(fixed.get_logger, "t.after.other", 1, made, configured_elsewhere) == 2


def test_each_logger_and_each_statement_gets_its_handler(handler_versions) -> None:
    _, fixed, made = handler_versions
    assert _lines_logged(fixed.get_logger, "t.after.a", 2, made) == 1
    assert _lines_logged(fixed.get_logger, "t.after.b", 2, made) == 1
    for _ in range(3):
        logger = fixed.stream_and_null("t.after.both")
    made.append(logger)
    assert [type(h).__name__ for h in logger.handlers] == ["StreamHandler", "NullHandler"]


def test_a_removed_handler_is_added_again_as_before(handler_versions) -> None:
    _, fixed, made = handler_versions
    logger = fixed.get_logger("t.after.removed")
    made.append(logger)
    logger.removeHandler(logger.handlers[0])
    assert logger.handlers == []
    fixed.get_logger("t.after.removed")
    fixed.get_logger("t.after.removed")
    assert len(logger.handlers) == 1


def test_the_bounded_cache_gives_the_same_results() -> None:
    path = CASES / "cache_bounds.py"
    source = path.read_text(encoding="utf-8")
    original = _load(source, "cache_bounds_before")
    fixed = _load(_fix(path, source, unsafe=True).text, "cache_bounds_after")
    for value in range(1500):
        assert fixed.square(value) == original.square(value)
    assert fixed.shout("abc") == original.shout("abc") == "ABC"
    assert fixed.typed_key(1) == original.typed_key(1)
    assert original.square.cache_info().maxsize is None and original.square.cache_info().currsize == 1500
    assert fixed.square.cache_info().maxsize == 1024 and fixed.square.cache_info().currsize == 1024
    assert fixed.shout.cache_info().maxsize == 1024


def _regenerate() -> None:  # pragma: no cover - a maintenance helper, run by hand
    for path in _inputs():
        source = path.read_text(encoding="utf-8")
        safe = _fix(path, source, unsafe=False).text
        unsafe = _fix(path, source, unsafe=True).text
        for root, text, present in ((EXPECTED, safe, safe != source), (EXPECTED_UNSAFE, unsafe, unsafe != safe)):
            target = root / path.name
            if present:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
            elif target.exists():
                target.unlink()


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:] == ["--regenerate"]:
        _regenerate()
    else:
        sys.exit("usage: python tests/test_growth_fixes.py --regenerate")


@pytest.mark.parametrize(
    "path, attribute",
    [("pkg/__init__.py", "_init_Service_start_handler"), ("-", "_Service_start_handler")],
)
def test_the_marker_name_is_never_mangled(path: str, attribute: str) -> None:
    """Inside a class a name starting with ``__`` would be mangled in ``logger.__x`` but not in
    ``getattr(logger, "__x")``: the guard would never see its own marker."""
    source = (
        "import logging\n\n\nclass Service:\n    def start(self):\n"
        "        logging.getLogger('s').addHandler(logging.NullHandler())\n"
    )
    fixed = fix_text(source, lambda text: memlint.check_source(text, path, CONFIG)).text
    assert f'"{attribute}"' in fixed and f".{attribute} = " in fixed, fixed

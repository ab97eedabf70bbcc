"""A fixed file behaves like the original, minus the leaks: run both on real temporary files.

``fixtures/fixes/behaviour/fileops.py`` holds leaky ``case_*`` functions. Each one runs,
in the original and in the ``--fix`` version, on its own fresh directory; the results (a
value, or the type and text of the exception raised) must be equal. With
``ResourceWarning`` made an error, an object closed only by the garbage collector raises in
its ``__del__``, which Python reports to ``sys.unraisablehook``: the fixed version must
report nothing, and the original must report something (else this test proves nothing).
"""

from __future__ import annotations

import types
from pathlib import Path

import pytest
from fix_behaviour_support import cases as _cases
from fix_behaviour_support import load, run

import memlint
from memlint.fixes import fix_text

# Every finding is fixed and checked, whatever its confidence: a fix must be safe for all.
ALL = {"confidence": "low"}

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "fixes" / "behaviour" / "fileops.py"


def _load(text: str, name: str) -> types.ModuleType:
    return load(text, name, FIXTURE)


@pytest.fixture(scope="module")
def fixed_text() -> str:
    source = FIXTURE.read_text(encoding="utf-8")
    outcome = fix_text(source, lambda text: memlint.check_source(text, str(FIXTURE), ALL))
    assert outcome.problem is None
    return outcome.text


def test_every_case_is_fixed_safely(fixed_text: str) -> None:
    source = FIXTURE.read_text(encoding="utf-8")
    before = [f for f in memlint.check_source(source, str(FIXTURE), ALL) if f.code in ("MEM001", "MEM003")]
    after = [f for f in memlint.check_source(fixed_text, str(FIXTURE), ALL) if f.code in ("MEM001", "MEM003")]
    assert len(before) >= len(_cases(_load(source, "fileops_probe")))
    assert after == [], [f"{f.line}: {f.message}" for f in after]


@pytest.mark.slow
def test_fixed_functions_behave_the_same_and_leak_nothing(fixed_text: str, tmp_path: Path) -> None:
    source = FIXTURE.read_text(encoding="utf-8")
    (tmp_path / "before").mkdir()
    (tmp_path / "after").mkdir()
    original, original_left = run(_load(source, "fileops_before"), tmp_path / "before")
    fixed, fixed_left = run(_load(fixed_text, "fileops_after"), tmp_path / "after")
    assert fixed == original
    # The detector works: the original leaves things behind...
    assert sum(len(items) for items in original_left.values()) >= 5, original_left
    # ... and the fixed version leaves nothing, case by case.
    assert {name: items for name, items in fixed_left.items() if items} == {}


def test_the_error_path_is_part_of_the_comparison(fixed_text: str, tmp_path: Path) -> None:
    """The exception raised between acquisition and release is still raised after the fix."""
    module = _load(fixed_text, "fileops_error")
    module.prepare(str(tmp_path))
    with pytest.raises(ValueError):
        module.case_error_skips_close(str(tmp_path))

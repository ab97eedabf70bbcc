"""The ``with`` written by ``--fix`` lasts as long as the code needs the resource (issue 15).

``fixtures/fixes/behaviour/lifetime.py`` holds the probes that broke earlier fixes (W1-W4:
a lock released before the work it guards, a descriptor used after its file was closed, a
bound method that escapes, a temporary file deleted before its path was read) and the
cases the fixer learned to fix (``Popen`` finished by ``communicate()``/``wait()``, a file
passed to a plain helper, ``NamedTemporaryFile(delete=False)`` read by name after close).
Each case runs in the original, in the ``--fix`` version and in the ``--unsafe-fixes``
version, on real files; the results must be equal. ``EXPECTED_FIXES`` in the fixture says
which cases are fixed, and how: a case it does not list must keep its finding.
"""

from __future__ import annotations

import ast
import types
from pathlib import Path
from typing import Dict, List, Set

import pytest
from fix_behaviour_support import cases, load, run

import memlint
from memlint.fixes import FixOutcome, fix_text

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "fixes" / "behaviour" / "lifetime.py"
LEAKS = ("MEM001", "MEM003")


def _fix(unsafe: bool) -> FixOutcome:
    source = FIXTURE.read_text(encoding="utf-8")
    outcome = fix_text(source, lambda text: memlint.check_source(text, str(FIXTURE)), unsafe=unsafe)
    assert outcome.problem is None
    return outcome


@pytest.fixture(scope="module")
def fixed() -> Dict[str, FixOutcome]:
    return {"safe": _fix(unsafe=False), "unsafe": _fix(unsafe=True)}


def _load(text: str, name: str) -> types.ModuleType:
    return load(text, name, FIXTURE)


def _expected() -> Dict[str, str]:
    module = _load(FIXTURE.read_text(encoding="utf-8"), "lifetime_expected")
    return dict(module.EXPECTED_FIXES)


def _cases_with(findings: List[memlint.Finding], text: str) -> Set[str]:
    """Names of the ``case_*`` functions of ``text`` that hold one of ``findings``."""
    names = set()
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("case_"):
            end = node.end_lineno or node.lineno
            if any(node.lineno <= f.line <= end for f in findings):
                names.add(node.name)
    return names


@pytest.mark.parametrize("mode", ["safe", "unsafe"])
def test_the_expected_cases_and_only_they_are_fixed(fixed: Dict[str, FixOutcome], mode: str) -> None:
    source = FIXTURE.read_text(encoding="utf-8")
    allowed = {"safe"} if mode == "safe" else {"safe", "unsafe"}
    wanted = {name for name, kind in _expected().items() if kind in allowed}
    outcome = fixed[mode]
    fixed_cases = _cases_with([f for f in outcome.fixed if f.code in LEAKS], source)
    assert fixed_cases == wanted
    # Every case draws a finding, so a case left alone proves the fixer refused it.
    module = _load(source, "lifetime_probe")
    checked = [f for f in memlint.check_source(source, str(FIXTURE)) if f.code in LEAKS]
    assert _cases_with(checked, source) == {name for name, _ in cases(module)}


@pytest.mark.parametrize("mode", ["safe", "unsafe"])
def test_fixed_cases_behave_the_same(fixed: Dict[str, FixOutcome], mode: str, tmp_path: Path) -> None:
    source = FIXTURE.read_text(encoding="utf-8")
    (tmp_path / "before").mkdir()
    (tmp_path / "after").mkdir()
    original, original_left = run(_load(source, "lifetime_before"), tmp_path / "before")
    after, after_left = run(_load(fixed[mode].text, f"lifetime_{mode}"), tmp_path / "after")
    assert after == original
    allowed = {"safe"} if mode == "safe" else {"safe", "unsafe"}
    wanted = {name for name, kind in _expected().items() if kind in allowed}
    # The never-closed originals leak on this path (else the detector proves nothing); the
    # MEM003 ones only leak when something raises. The fixed cases leave nothing behind.
    leaking = [name for name in wanted if original_left[name]]
    assert len(leaking) >= 4, original_left
    assert {name: after_left[name] for name in wanted if after_left[name]} == {}


def test_w1_lock_is_held_while_the_work_runs(fixed: Dict[str, FixOutcome], tmp_path: Path) -> None:
    """The outcome itself, not only its equality: the fixed W1 still sees its lock held."""
    module = _load(fixed["safe"].text, "lifetime_w1")
    module.prepare(str(tmp_path))
    assert module.case_w1_lock_guards_the_work(str(tmp_path)) is True

"""A fixed file behaves like the original, minus the leaks: run both on real temporary files.

``fixtures/fixes/behaviour/fileops.py`` holds leaky ``case_*`` functions. Each one runs,
in the original and in the ``--fix`` version, on its own fresh directory; the results (a
value, or the type and text of the exception raised) must be equal. With
``ResourceWarning`` made an error, an object closed only by the garbage collector raises in
its ``__del__``, which Python reports to ``sys.unraisablehook``: the fixed version must
report nothing, and the original must report something (else this test proves nothing).
"""

from __future__ import annotations

import gc
import sys
import threading
import types
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pytest

import memlint
from memlint.fixes import fix_text

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "fixes" / "behaviour" / "fileops.py"


def _load(text: str, name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__file__ = str(FIXTURE)
    exec(compile(text, str(FIXTURE), "exec"), module.__dict__)  # noqa: S102 - our own fixture
    return module


def _cases(module: types.ModuleType) -> List[Tuple[str, Callable[[str], Any]]]:
    return sorted((name, value) for name, value in vars(module).items() if name.startswith("case_"))


def _outcome(function: Callable[[str], Any], workdir: str) -> Tuple[str, Any]:
    try:
        return ("returned", function(workdir))
    except Exception as error:  # noqa: BLE001 - the exception is the result being compared
        return ("raised", f"{type(error).__name__}: {error}")


def _run(module: types.ModuleType, root: Path) -> Tuple[Dict[str, Tuple[str, Any]], Dict[str, List[str]]]:
    """Each case's outcome, and what each left behind (unclosed objects, held locks)."""
    outcomes: Dict[str, Tuple[str, Any]] = {}
    leftovers: Dict[str, List[str]] = {}
    for name, function in _cases(module):
        workdir = root / name
        workdir.mkdir()
        module.prepare(str(workdir))
        with _unraisable() as reported:
            outcomes[name] = _outcome(function, str(workdir))
            gc.collect()
        locks = [key for key, value in vars(module).items() if _is_held_lock(value)]
        leftovers[name] = reported + [f"lock {key} still held" for key in locks]
        for key in locks:
            getattr(module, key).release()
    return outcomes, leftovers


def _is_held_lock(value: Any) -> bool:
    return isinstance(value, type(threading.Lock())) and value.locked()


class _unraisable:
    """Collect what ``__del__`` methods raise (the ResourceWarnings made errors) meanwhile."""

    def __enter__(self) -> List[str]:
        self.reported: List[str] = []
        self._hook = sys.unraisablehook
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.simplefilter("error", ResourceWarning)
        sys.unraisablehook = self._collect
        return self.reported

    def _collect(self, unraisable: Any) -> None:
        self.reported.append(f"{type(unraisable.exc_value).__name__}: {unraisable.exc_value}")

    def __exit__(self, *exc_info: object) -> None:
        gc.collect()
        sys.unraisablehook = self._hook
        self._warnings.__exit__(*exc_info)


@pytest.fixture(scope="module")
def fixed_text() -> str:
    source = FIXTURE.read_text(encoding="utf-8")
    outcome = fix_text(source, lambda text: memlint.check_source(text, str(FIXTURE)))
    assert outcome.problem is None
    return outcome.text


def test_every_case_is_fixed_safely(fixed_text: str) -> None:
    source = FIXTURE.read_text(encoding="utf-8")
    before = [f for f in memlint.check_source(source, str(FIXTURE)) if f.code in ("MEM001", "MEM003")]
    after = [f for f in memlint.check_source(fixed_text, str(FIXTURE)) if f.code in ("MEM001", "MEM003")]
    assert len(before) >= len(_cases(_load(source, "fileops_probe")))
    assert after == [], [f"{f.line}: {f.message}" for f in after]


@pytest.mark.slow
def test_fixed_functions_behave_the_same_and_leak_nothing(fixed_text: str, tmp_path: Path) -> None:
    source = FIXTURE.read_text(encoding="utf-8")
    (tmp_path / "before").mkdir()
    (tmp_path / "after").mkdir()
    original, original_left = _run(_load(source, "fileops_before"), tmp_path / "before")
    fixed, fixed_left = _run(_load(fixed_text, "fileops_after"), tmp_path / "after")
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

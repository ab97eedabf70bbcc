"""Running a behaviour fixture and its fixed version on real files, and what they leave behind.

Shared by tests/test_fix_behaviour.py and tests/test_fix_lifetime.py. Each ``case_*``
function of a fixture runs on its own fresh directory (made by the fixture's ``prepare``);
its outcome is its return value, or the type and text of the exception it raised. With
``ResourceWarning`` made an error, an object closed only by the garbage collector raises in
its ``__del__``, which Python reports to ``sys.unraisablehook``: that is collected as
something the case left behind, and so is a module-level lock still held.
"""

from __future__ import annotations

import gc
import sys
import threading
import types
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple


def load(text: str, name: str, fixture: Path) -> types.ModuleType:
    """``text`` (the fixture or its fixed version) run as a module named ``name``."""
    module = types.ModuleType(name)
    module.__file__ = str(fixture)
    exec(compile(text, str(fixture), "exec"), module.__dict__)  # noqa: S102 - our own fixture
    return module


def cases(module: types.ModuleType) -> List[Tuple[str, Callable[[str], Any]]]:
    return sorted((name, value) for name, value in vars(module).items() if name.startswith("case_"))


def _outcome(function: Callable[[str], Any], workdir: str) -> Tuple[str, Any]:
    try:
        return ("returned", function(workdir))
    except Exception as error:  # noqa: BLE001 - the exception is the result being compared
        return ("raised", f"{type(error).__name__}: {error}")


def run(module: types.ModuleType, root: Path) -> Tuple[Dict[str, Tuple[str, Any]], Dict[str, List[str]]]:
    """Each case's outcome, and what each left behind (unclosed objects, held locks)."""
    outcomes: Dict[str, Tuple[str, Any]] = {}
    leftovers: Dict[str, List[str]] = {}
    for name, function in cases(module):
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

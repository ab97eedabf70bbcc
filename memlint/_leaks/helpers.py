"""Python's own long-lived helpers, which a leak check must not blame on the code it checks.

multiprocessing starts a resource tracker (the ``spawn`` and ``forkserver`` start methods)
and a forkserver once per process and keeps them, with a pipe to each and a ``pymp-*``
folder in the temp directory, until the interpreter exits. Whichever test first needed
them would otherwise be blamed for all of that. They are recognised by what the
standard library records about them (pids, descriptor numbers, the folder), not by name:
the forkserver's children share its command line, and those are real leaks.
"""

from __future__ import annotations

import os
import sys
from typing import Any, FrozenSet, Optional


def _tracker() -> Any:
    module = sys.modules.get("multiprocessing.resource_tracker")
    return None if module is None else getattr(module, "_resource_tracker", None)


def _forkserver() -> Any:
    module = sys.modules.get("multiprocessing.forkserver")
    return None if module is None else getattr(module, "_forkserver", None)


def _ints(*values: Any) -> FrozenSet[int]:
    return frozenset(value for value in values if isinstance(value, int) and not isinstance(value, bool))


def helper_pids() -> FrozenSet[int]:
    """The pids of the resource tracker and the forkserver, when they run."""
    tracker, forkserver = _tracker(), _forkserver()
    return _ints(getattr(tracker, "_pid", None), getattr(forkserver, "_forkserver_pid", None))


def forkserver_pid() -> Optional[int]:
    """The forkserver's pid: the processes it forks were asked for by this process."""
    pid = getattr(_forkserver(), "_forkserver_pid", None)
    return pid if isinstance(pid, int) else None


def helper_fds() -> FrozenSet[int]:
    """This process's ends of the pipes to the resource tracker and the forkserver."""
    tracker, forkserver = _tracker(), _forkserver()
    return _ints(getattr(tracker, "_fd", None), getattr(forkserver, "_forkserver_alive_fd", None))


def helper_temp_dirs() -> FrozenSet[str]:
    """multiprocessing's ``pymp-*`` folder (removed by multiprocessing itself at exit)."""
    module = sys.modules.get("multiprocessing.process")
    if module is None:
        return frozenset()
    try:
        folder = module.current_process()._config.get("tempdir")
    except Exception:  # noqa: BLE001 - a private attribute; absence just means no folder
        return frozenset()
    return frozenset((os.path.abspath(folder),)) if isinstance(folder, str) else frozenset()

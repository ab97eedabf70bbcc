"""Compare what the process holds before and after a piece of work, and name the leftovers."""

from __future__ import annotations

import gc
import os
import sys
import tempfile
import threading
import time
import warnings
import weakref
from contextlib import contextmanager, nullcontext
from functools import lru_cache
from typing import Any, ContextManager, Dict, FrozenSet, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

from memlint._leaks import helpers, processes, sites, snapshot
from memlint._leaks.model import DEFAULT_ALLOW, AllowList, Leak
from memlint._leaks.processes import ChildKey
from memlint._leaks.snapshot import FdKey

DEFAULT_GRACE_PERIOD = 0.5
# The grace wait ends early once nothing has moved for this long: no new thread or child
# ended and no remaining thread ran a Python instruction. A thread blocked for good (on a
# queue, a lock, a socket) is then reported without waiting out the whole grace period.
QUIET_PERIOD = 0.1
_FIRST_POLL, _LONGEST_POLL = 0.002, 0.025


class LeakChecker:
    """Watches the process from ``start()`` to ``stop()``; ``stop()`` returns the leaks.

    The end-of-check work is kept cheap for clean code: descriptors and threads are
    compared first, and only when something new is still there does the checker run
    ``gc.collect()`` (which may close it, turning it into a ResourceWarning) and wait up to
    ``grace_period`` seconds for new threads and child processes to finish (less when they
    stop making progress, see ``QUIET_PERIOD``).
    """

    def __init__(
        self,
        allow: Sequence[str] = (),
        grace_period: float = DEFAULT_GRACE_PERIOD,
        ignored_temp_names: Sequence[str] = (),
        tempdir: Optional[str] = None,
    ) -> None:
        grace_period = validate_grace_period(grace_period)
        if isinstance(allow, str):
            raise ValueError("allow must be a list of patterns, not a single string")
        self.allow = _allow_list(tuple(allow))
        self.grace_period = float(grace_period)
        self.notes: List[str] = []
        self._recording = sites.Recording(tempdir or tempfile.gettempdir(), ignored_temp_names)
        self._fds: Dict[FdKey, Optional[str]] = {}
        self._threads: FrozenSet[threading.Thread] = frozenset()
        self._children: FrozenSet[ChildKey] = frozenset()
        self._spawns_at_start = 0
        self._multiprocessing_ready = False
        self._warnings_context: Optional[Any] = None
        self._running = False

    # ------------------------------------------------------------------ lifecycle

    @property
    def running(self) -> bool:
        """Whether the check has started and not yet stopped."""
        return self._running

    def start(self) -> "LeakChecker":
        """Take the baseline and start recording creation sites and warnings."""
        if self._running:
            raise RuntimeError("this LeakChecker is already running")
        sites.install()
        self._multiprocessing_ready = processes.patch_multiprocessing()
        self._fds = snapshot.read_fds(self.notes)
        self._threads = snapshot.read_threads()
        self._children = processes.read_children(self.notes)
        self._spawns_at_start = sites.spawn_count()
        sites.begin(self._recording)
        self._running = True
        try:
            self._warnings_context = warnings.catch_warnings()
            self._warnings_context.__enter__()
            if _resource_warning_action() != "error":
                # The default filters ignore ResourceWarning; a leak check must see every one.
                warnings.simplefilter("always", ResourceWarning)
        except BaseException:
            self.close()
            raise
        return self

    def stop(self, owners: Iterable[Any] = ()) -> List[Leak]:
        """End the check and return what was left behind (minus allowed leaks).

        Threads working for one of ``owners`` (objects that outlive the check, such as the
        values of wider-scoped pytest fixtures) are not leaks of the check: a pool that
        starts its threads lazily, on first use, starts them under whichever test used it.
        """
        if not self._running:
            raise RuntimeError("this LeakChecker is not running")
        try:
            fds, threads, children = self._new_resources(settle=False)
            if threads and owners:
                threads = _not_owned(threads, owners)
            if fds or threads or children:
                with sites.quiet():
                    gc.collect()
                self._wait(threads, children)
                fds, threads, children = self._new_resources(settle=True)
                if threads and owners:
                    threads = _not_owned(threads, owners)
            self._exit_warnings()
            leaks = self._fd_leaks(fds) + self._thread_leaks(threads) + self._child_leaks(children)
            leaks += self._temp_leaks()
            leaks += self._recording.warnings + self._recording.unraisables
            for leak in self._recording.foreign_warnings:
                note = f"a ResourceWarning was raised for an object made before the check began: {leak.name}"
                if note not in self.notes:
                    self.notes.append(note)
            return [leak for leak in leaks if not self.allow.allows(leak)]
        finally:
            self.close()

    def close(self) -> None:
        """Stop recording without reporting (idempotent; used on errors and interrupts)."""
        try:
            self._exit_warnings()
        finally:
            if self._running:
                self._running = False
                sites.end(self._recording)
                self._threads = frozenset()

    def __enter__(self) -> "LeakChecker":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def excluded(self) -> ContextManager[None]:
        """Treat whatever the enclosed code creates as part of the baseline.

        Used for pytest fixtures of a wider scope, whose resources outlive the test.
        """
        return self._excluding() if self._running else nullcontext()

    @contextmanager
    def _excluding(self) -> Iterator[None]:
        spawns = sites.spawn_count()
        fds_before = snapshot.read_fds(self.notes)
        threads_before = snapshot.read_threads()
        self._recording.paused += 1
        try:
            yield
        finally:
            self._recording.paused -= 1
            for key, target in snapshot.new_fds(fds_before, snapshot.read_fds(self.notes, baseline=False)).items():
                self._fds[key] = target
            self._threads = self._threads | (snapshot.read_threads() - threads_before)
            if sites.spawn_count() != spawns:
                self._children = self._children | processes.read_children(self.notes)

    # ------------------------------------------------------------------ comparison

    def _new_resources(self, settle: bool) -> "tuple[Dict[FdKey, str], List[threading.Thread], List[ChildKey]]":
        fds = snapshot.new_fds(self._fds, snapshot.read_fds(self.notes, baseline=False))
        if fds:
            for fd in helpers.helper_fds():
                fds.pop(fd, None)
        threads = [t for t in snapshot.read_threads() - self._threads if t.is_alive()]
        children: List[ChildKey] = []
        # multiprocessing imported during the check: its starts before that went uncounted.
        newly_imported = not self._multiprocessing_ready and processes.patch_multiprocessing()
        if newly_imported or sites.spawn_count() != self._spawns_at_start:
            current = processes.read_children(self.notes, force=settle or newly_imported)
            children = processes.new_children(self._children, current)
        return fds, threads, children

    def _wait(self, threads: List[threading.Thread], children: List[ChildKey]) -> None:
        """Give new threads and children up to the grace period to finish by themselves,
        but stop as soon as they all have, or none of them has moved for ``QUIET_PERIOD``."""
        threads = [thread for thread in threads if thread is not threading.current_thread()]
        started = time.monotonic()
        deadline = started + self.grace_period
        quiet_since, last_state = started, _progress(threads, children)
        interval = _FIRST_POLL
        while threads or children:
            now = time.monotonic()
            if now >= deadline or now - quiet_since >= min(QUIET_PERIOD, self.grace_period):
                return
            time.sleep(min(interval, deadline - now))
            interval = min(interval * 2, _LONGEST_POLL)
            threads = [thread for thread in threads if thread.is_alive()]
            children = [key for key in children if processes.child_is_running(key)]
            state = _progress(threads, children)
            if state != last_state:
                quiet_since, last_state = time.monotonic(), state

    def _exit_warnings(self) -> None:
        context, self._warnings_context = self._warnings_context, None
        if context is not None:
            context.__exit__(None, None, None)

    # ------------------------------------------------------------------ naming leaks

    def _fd_leaks(self, fds: Dict[FdKey, str]) -> List[Leak]:
        leaks = []
        for key, target in sorted(fds.items(), key=lambda item: str(item[0])):
            detail = f"fd {key}" if isinstance(key, int) else ""
            if target.startswith("socket:"):
                sock, site = sites.socket_for_fd(key) if isinstance(key, int) else (None, None)
                address = target[len("socket:"):] if not isinstance(key, int) else snapshot.socket_address(key, sock)
                leaks.append(Leak("socket", address, detail, site, {"fd": key if isinstance(key, int) else None}))
                del sock
            elif target.startswith(("pipe:", "anon_inode:")):
                site = sites.site_for_fd(key) if isinstance(key, int) else None
                leaks.append(Leak("fd", target, detail, site, {"fd": key}))
            else:
                path = target[: -len(" (deleted)")] if target.endswith(" (deleted)") else target
                if path != target:
                    detail = f"{detail}, file deleted" if detail else "file deleted"
                leaks.append(Leak("fd", path, detail, sites.site_for_path(path), {"fd": key, "path": path}))
        return leaks

    def _thread_leaks(self, threads: List[threading.Thread]) -> List[Leak]:
        leaks = []
        for thread in sorted(threads, key=lambda t: t.name):
            detail = "daemon" if thread.daemon else "non-daemon"
            leaks.append(Leak("thread", thread.name, detail, sites.site_for_thread(thread), {"ident": thread.ident}))
        return leaks

    def _child_leaks(self, children: List[ChildKey]) -> List[Leak]:
        leaks = []
        own = processes.own_cmdline() if children else []
        for pid, _ in sorted(children):
            cmdline = processes.child_cmdline(pid)
            site = processes.site_for_process(pid, cmdline, own)
            name = " ".join(cmdline) or "<command line unreadable>"
            leaks.append(Leak("process", name, f"pid {pid}", site, {"pid": pid, "cmdline": cmdline}))
        return leaks

    def _temp_leaks(self) -> List[Leak]:
        leaks = []
        helper_dirs = helpers.helper_temp_dirs() if self._recording.temp_entries else frozenset()
        for top, site in sorted(self._recording.temp_entries.items()):
            if site is None or top in helper_dirs or not os.path.lexists(top):
                continue
            detail = "directory" if os.path.isdir(top) else "file"
            leaks.append(Leak("temp", top, f"{detail} left in the temp directory", site, {"path": top}))
        return leaks


def _progress(threads: List[threading.Thread], children: List[ChildKey]) -> Tuple[Any, ...]:
    """What changes while threads run Python code or threads and children end."""
    frames = sys._current_frames()
    positions = []
    for thread in threads:
        frame = frames.get(thread.ident) if thread.ident is not None else None
        positions.append((thread.ident, id(frame), frame.f_lasti if frame is not None else -1))
    del frames
    return tuple(positions), tuple(children)


def _not_owned(threads: List[threading.Thread], owners: Iterable[Any]) -> List[threading.Thread]:
    """``threads`` minus those whose target or arguments refer to one of ``owners`` (or to
    an attribute of one: a fixture's value may hold the pool rather than be it)."""
    owned: Set[int] = set()
    for owner in owners:
        owned.add(id(owner))
        for value in getattr(owner, "__dict__", {}).values():
            owned.add(id(value))
    return [thread for thread in threads if not any(id(ref) in owned for ref in _references(thread))]


def _references(thread: threading.Thread) -> Iterator[Any]:
    target = getattr(thread, "_target", None)
    values = [target, getattr(target, "__self__", None)]
    values.extend(getattr(thread, "_args", ()) or ())
    values.extend((getattr(thread, "_kwargs", None) or {}).values())
    values.extend(vars(thread).values())  # Thread subclasses keep their owner as an attribute
    for value in values:
        if isinstance(value, weakref.ref):
            value = value()
        if value is not None:
            yield value


@lru_cache(maxsize=64)
def _allow_list(patterns: Tuple[str, ...]) -> AllowList:
    # A pytest run builds one checker per test, mostly with the same few pattern lists.
    return AllowList(DEFAULT_ALLOW + patterns)


def validate_grace_period(value: Any) -> float:
    """``value`` as seconds, or ``ValueError`` unless it is a number >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"grace_period must be a number of seconds >= 0, got {value!r}")
    return float(value)


def _resource_warning_action() -> str:
    """The action the current filters take for a plain ResourceWarning."""
    for action, message, category, module, lineno in warnings.filters:
        if message is None and module is None and lineno == 0 and issubclass(ResourceWarning, category):
            return str(action)
    return "default"

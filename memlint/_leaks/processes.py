"""Child processes: count every way one is started, scan every descendant, name the site.

Scanning for children walks every process on the machine (milliseconds), so a check only
scans when the recorder has seen a process being started since the last scan. Every start
method must therefore be counted: the audit hook sees ``subprocess``, ``os.fork``,
``os.posix_spawn``, ``os.system``; multiprocessing's ``spawn`` and ``forkserver`` methods
start processes without an audit event, so ``multiprocessing.util.spawnv_passfds`` and
``BaseProcess.start`` are wrapped once multiprocessing has been imported (importing it
ourselves would cost every run of a suite that never uses it).
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Sequence, Set, Tuple

import psutil

from memlint._leaks import helpers, sites
from memlint._leaks.model import Site

ChildKey = Tuple[int, float]

_multiprocessing_patched = False
_subreaper = False


# --------------------------------------------------------------------------- counting starts


def patch_multiprocessing() -> bool:
    """Wrap multiprocessing's process starts once it is imported; whether that is done."""
    global _multiprocessing_patched
    if _multiprocessing_patched:
        return True
    util = sys.modules.get("multiprocessing.util")
    process_module = sys.modules.get("multiprocessing.process")
    if util is None or process_module is None:
        return False
    with sites._lock:
        if not _multiprocessing_patched:
            util.spawnv_passfds = _counting_spawnv_passfds(util.spawnv_passfds)
            process_module.BaseProcess.start = _counting_start(process_module.BaseProcess.start)
            _multiprocessing_patched = True
    return True


def _counting_spawnv_passfds(original: Callable[..., int]) -> Callable[..., int]:
    # Used by the spawn start method, the resource tracker and the forkserver itself.
    def spawnv_passfds(path: Any, args: Any, passfds: Any) -> int:
        sites.record_spawn(sites.argv_of(args))
        return original(path, args, passfds)

    return spawnv_passfds


def _counting_start(original: Callable[[Any], None]) -> Callable[[Any], None]:
    # Covers every start method, including forkserver children, which the forkserver forks.
    def start(self: Any) -> None:
        site = sites.current_site() if sites.recording() else None
        original(self)
        sites.record_spawn(None, count_only=True)
        pid = getattr(self, "pid", None)
        if site is not None and isinstance(pid, int):
            sites.note_pid(pid, site)

    start.__wrapped__ = original  # type: ignore[attr-defined]
    return start


def become_subreaper() -> None:
    """On Linux, adopt orphaned descendants (``sh -c 'sleep 30 &'``) so a scan still finds them.

    Only the pytest plugin asks for this: the process is a test run, and orphans that end
    stay zombies until it exits, which is harmless there.
    """
    global _subreaper
    if _subreaper or not sys.platform.startswith("linux"):
        return
    _subreaper = True
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):  # no prctl: orphans are then missed, as documented
        pass


# --------------------------------------------------------------------------- scanning


_process: Optional[psutil.Process] = None
_children_cache: Tuple[int, FrozenSet[ChildKey]] = (-1, frozenset())


def process() -> psutil.Process:
    """This process, as a psutil object (created once: psutil caches per instance)."""
    global _process
    if _process is None or _process.pid != os.getpid():
        _process = psutil.Process()
    return _process


def read_children(notes: List[str], force: bool = False) -> FrozenSet[ChildKey]:
    """Every running descendant as ``(pid, create_time)``; reused until a process is started."""
    global _children_cache
    count = sites.spawn_count()
    if not force and _children_cache[0] == count:
        return _children_cache[1]
    keys = set()
    try:
        for child in process().children(recursive=True):
            try:
                if child.status() != psutil.STATUS_ZOMBIE:
                    keys.add((child.pid, child.create_time()))
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
    except (psutil.AccessDenied, NotImplementedError) as error:
        text = f"child processes are not readable on {sys.platform}: {error}"
        if text not in notes:
            notes.append(text)
    result = frozenset(keys)
    _children_cache = (count, result)
    return result


def new_children(baseline: FrozenSet[ChildKey], current: FrozenSet[ChildKey]) -> List[ChildKey]:
    """Running descendants started under the check, minus Python's own helpers.

    A grandchild counts only when its parent is this process, a new descendant, or the
    forkserver (which forks on this process's request): a server left by an earlier test
    that forks on its own would otherwise get the next test blamed.
    """
    candidates = [key for key in current - baseline if child_is_running(key)]
    if not candidates:
        return []
    excluded = helpers.helper_pids()
    parents: Dict[int, Optional[int]] = {}
    for pid, _ in candidates:
        try:
            parents[pid] = psutil.Process(pid).ppid()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            parents[pid] = None
    accepted: Set[int] = set()
    roots = {os.getpid(), helpers.forkserver_pid()}
    changed = True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if pid not in accepted and pid not in excluded and (parent in roots or parent in accepted):
                accepted.add(pid)
                changed = True
    return sorted(key for key in candidates if key[0] in accepted)


def child_is_running(key: ChildKey) -> bool:
    """Whether the child ``key`` still runs (a zombie has finished: it only awaits a wait())."""
    try:
        child = psutil.Process(key[0])
        return child.create_time() == key[1] and child.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def child_cmdline(pid: int) -> List[str]:
    """The command line of ``pid`` (empty when it cannot be read)."""
    try:
        return list(psutil.Process(pid).cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return []


def own_cmdline() -> List[str]:
    """This process's command line (a forked child shows the same one)."""
    try:
        return list(process().cmdline())
    except (psutil.AccessDenied, psutil.NoSuchProcess):
        return []


# --------------------------------------------------------------------------- sites


def site_for_process(pid: int, cmdline: Sequence[str], own_cmdline: Sequence[str] = ()) -> Optional[Site]:
    """Where the child was started: by pid (multiprocessing), else the spawn whose argv
    matches its command line (exactly, by program name, inside a shell command), else a
    fork when the child runs our own command line. Unknown rather than a guess."""
    site = sites.site_for_pid(pid)
    if site is not None:
        return site
    cmdline = tuple(cmdline)
    spawns = list(reversed(sites.spawns()))
    for argv, site in spawns:
        if argv == cmdline:
            return site
    for argv, site in spawns:
        if argv and cmdline and argv[1:] == cmdline[1:] and os.path.basename(argv[0]) == os.path.basename(cmdline[0]):
            return site
    for argv, site in spawns:
        if argv and cmdline and len(argv) == 3 and argv[1] == "-c" and _shell_runs(argv[2], cmdline):
            return site
    if own_cmdline and cmdline == tuple(own_cmdline):
        for argv, site in spawns:
            if argv is None:
                return site
    return None


def _shell_runs(command: str, cmdline: Sequence[str]) -> bool:
    """Whether a shell command line plausibly started ``cmdline`` (``sleep 30 &`` -> sleep 30)."""
    words = command.replace("&", " ").replace(";", " ").replace("|", " ").split()
    wanted = [os.path.basename(cmdline[0]), *cmdline[1:]]
    for start in range(len(words)):
        candidate = words[start:start + len(wanted)]
        if candidate and os.path.basename(candidate[0]) == wanted[0] and candidate[1:] == wanted[1:]:
            return True
    return False

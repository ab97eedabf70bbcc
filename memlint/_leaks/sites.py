"""The process-wide recorder of creation sites.

Audit hooks cannot be removed, so ``install()`` adds exactly one per process, and only once
leak checking has been asked for. While no check is running the hook does a dictionary
lookup and returns (it still counts process creations, which lets a check skip the costly
child-process scan when nothing was spawned). Where no audit event exists the recorder
wraps the function instead: ``threading.Thread.start``, ``os.pipe`` and the epoll
selector (``processes`` wraps multiprocessing's starts).

Sites are kept only while at least one check runs, and are forgotten when the last one
ends, so nothing here grows over a long test session.
"""

from __future__ import annotations

import os
import sys
import sysconfig
import threading
import warnings
import weakref
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from memlint._leaks.model import Leak, Site

_USER, _LIBRARY, _STDLIB, _SKIP = 0, 1, 2, 3

_HERE = os.path.dirname(os.path.abspath(__file__))
_HERE_PREFIX = os.path.join(_HERE, "")
_PACKAGE = os.path.dirname(_HERE)
_MACHINERY_FILES = frozenset(
    os.path.join(_PACKAGE, name) for name in ("leakcheck.py", "pytest_plugin.py")
)

_lock = threading.RLock()
_installed = False
# Replaced, never mutated, so the hook can iterate it while another thread starts a check.
_recordings: Tuple["Recording", ...] = ()
_spawn_count = 0
# Raised while a checker runs its own gc.collect(): what that surfaces is reported as a leak
# of the test, and forwarding it too would show it again at a meaningless location.
_quiet = 0

# Registries, valid while a recording is active (cleared by the last ``end``).
_by_path: Dict[str, Site] = {}
_by_object_id: Dict[int, Site] = {}
_sockets: List[Tuple[Any, Site]] = []
_threads: "weakref.WeakKeyDictionary[threading.Thread, Site]" = weakref.WeakKeyDictionary()
# Descriptors without a path: pipes and epoll selectors.
_fd_sites: Dict[int, Site] = {}
_spawns: List[Tuple[Optional[Tuple[str, ...]], Site]] = []
_pid_sites: Dict[int, Site] = {}

_classification: Dict[str, int] = {}
_original_thread_start: Optional[Callable[..., Any]] = None
_original_pipe: Optional[Callable[[], Tuple[int, int]]] = None
_original_epoll_selector: Optional[Any] = None
_original_showwarnmsg: Optional[Callable[[Any], Any]] = None
_previous_unraisablehook: Optional[Callable[[Any], Any]] = None


class Recording:
    """What one running check collects from the recorder.

    ``paused`` is raised while a higher-scoped pytest fixture sets up: what it creates belongs
    to the fixture, not to the test that happened to need it first.
    """

    def __init__(self, tempdir: str, ignored_temp_names: Sequence[str] = ()) -> None:
        self.temp_prefix = os.path.join(os.path.abspath(tempdir), "")
        self.ignored_temp_names = tuple(ignored_temp_names)
        self.paused = 0
        # top-level temp entry -> creation site, or None when it existed before we saw it.
        self.temp_entries: Dict[str, Optional[Site]] = {}
        self.warnings: List[Leak] = []
        # ResourceWarnings about objects created before the recording started.
        self.foreign_warnings: List[Leak] = []
        self.unraisables: List[Leak] = []

    def note_path(self, path: str, site: Optional[Site]) -> None:
        if self.paused or not path.startswith(self.temp_prefix):
            return
        name = path[len(self.temp_prefix):].split(os.sep, 1)[0]
        if not name:
            return
        top = self.temp_prefix + name
        if top in self.temp_entries:
            return
        if any(name.startswith(prefix) for prefix in self.ignored_temp_names):
            self.temp_entries[top] = None
            return
        # Audit events fire before the operation: if the entry is not there yet, we make it.
        self.temp_entries[top] = None if os.path.lexists(top) else site


# --------------------------------------------------------------------------- frames


def _roots(*keys: str) -> Tuple[str, ...]:
    paths = sysconfig.get_paths()
    found = set()
    for key in keys:
        value = paths.get(key)
        if value:
            found.add(os.path.join(os.path.abspath(value), ""))
            found.add(os.path.join(os.path.realpath(value), ""))
    return tuple(found)


_LIBRARY_ROOTS = _roots("purelib", "platlib")
_STDLIB_ROOTS = _roots("stdlib", "platstdlib")


def _classify(filename: str) -> int:
    kind = _classification.get(filename)
    if kind is not None:
        return kind
    if filename.startswith(("<frozen", _HERE_PREFIX)) or filename in _MACHINERY_FILES:
        kind = _SKIP
    elif filename.startswith(_LIBRARY_ROOTS):
        kind = _LIBRARY
    elif filename.startswith(_STDLIB_ROOTS):
        kind = _STDLIB
    else:
        kind = _USER
    _classification[filename] = kind
    return kind


_pytest_folder: Optional[str] = None


def _pytest_prefix() -> Optional[str]:
    """pytest's own package folder: a frame it calls directly is a test or a fixture."""
    global _pytest_folder
    if _pytest_folder is None:
        path = getattr(sys.modules.get("_pytest"), "__file__", None)
        if path:
            _pytest_folder = os.path.join(os.path.dirname(os.path.abspath(path)), "")
    return _pytest_folder


def current_site() -> Optional[Site]:
    """The innermost caller frame in user code (else in a third-party library, else anywhere
    outside memlint's own machinery, whose own frames are always skipped), with the test or
    fixture frame that led there (the frame pytest called) when that is another frame."""
    frame: Any = sys._getframe(1)
    found: Optional[Site] = None
    found_frame: Any = None
    fallbacks: Dict[int, Any] = {}
    pytest_prefix = _pytest_prefix()
    while frame is not None:
        caller = frame.f_back
        if found is None:
            kind = _classify(frame.f_code.co_filename)
            if kind == _USER:
                found, found_frame = _site(frame), frame
                if pytest_prefix is None:
                    return found
            elif kind != _SKIP and kind not in fallbacks:
                fallbacks[kind] = frame
        if pytest_prefix is not None and caller is not None and caller.f_code.co_filename.startswith(pytest_prefix):
            if found is None:
                found_frame = fallbacks.get(_LIBRARY) or fallbacks.get(_STDLIB)
                found = _site(found_frame) if found_frame is not None else None
            if found is None or found_frame is frame:
                return _site(frame)
            return Site(found.filename, found.lineno, found.function, _site(frame))
        frame = caller
    if found is not None:
        return found
    fallback = fallbacks.get(_LIBRARY) or fallbacks.get(_STDLIB)
    return None if fallback is None else _site(fallback)


def _site(frame: Any) -> Site:
    return Site(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)


# --------------------------------------------------------------------------- audit events


def _path_of(value: Any) -> Optional[str]:
    if value is None or isinstance(value, int):
        return None
    try:
        return os.path.abspath(os.fsdecode(value))
    except (TypeError, ValueError):
        return None


def _on_path(path_value: Any, remember: bool) -> None:
    path = _path_of(path_value)
    if path is None:
        return
    site = current_site()
    if remember and site is not None:
        _by_path[path] = site
    for recording in _recordings:
        recording.note_path(path, site)


def _on_open(args: Tuple[Any, ...]) -> None:
    if _recordings:
        _on_path(args[0], True)


def _on_destination(args: Tuple[Any, ...]) -> None:
    if _recordings:
        _on_path(args[1], False)


def _on_mkdir(args: Tuple[Any, ...]) -> None:
    if _recordings:
        _on_path(args[0], True)


def _on_socket(args: Tuple[Any, ...]) -> None:
    if not _recordings:
        return
    sock = args[0]
    site = current_site()
    if site is None:
        return
    if len(_sockets) >= _PRUNE_AT:
        _forget_dead_sockets()
    _by_object_id[id(sock)] = site
    try:
        _sockets.append((weakref.ref(sock), site))
    except TypeError:  # a bare _socket.socket has no weakref slot
        pass


_PRUNE_AT = 512


def _forget_dead_sockets() -> None:
    """Drop sockets that no longer exist, so a long check does not grow without bound."""
    alive: List[Tuple[Any, Site]] = []
    alive_ids = set()
    for ref, site in _sockets:
        sock = ref()
        if sock is not None:
            alive.append((ref, site))
            alive_ids.add(id(sock))
    for id_ in set(_by_object_id) - alive_ids:
        del _by_object_id[id_]
    _sockets[:] = alive


def record_spawn(argv: Optional[Tuple[str, ...]], count_only: bool = False) -> None:
    """Count a process start (and, while recording, remember its argv and site)."""
    global _spawn_count
    _spawn_count += 1
    if _recordings and not count_only:
        site = current_site()
        if site is not None:
            _spawns.append((argv, site))


def argv_of(value: Any) -> Optional[Tuple[str, ...]]:
    """An argv as a tuple of strings (``None`` when it is not one)."""
    if value is None:
        return None
    if isinstance(value, (str, bytes, os.PathLike)):
        return (os.fsdecode(value),)
    try:
        return tuple(os.fsdecode(item) for item in value)
    except TypeError:
        return None


def _on_popen(args: Tuple[Any, ...]) -> None:
    record_spawn(argv_of(args[1]))


def _on_posix_spawn(args: Tuple[Any, ...]) -> None:
    record_spawn(argv_of(args[1]))


def _on_spawn(args: Tuple[Any, ...]) -> None:
    record_spawn(argv_of(args[2]))


def _on_system(args: Tuple[Any, ...]) -> None:
    command = args[0]
    record_spawn(("/bin/sh", "-c", os.fsdecode(command)) if command is not None else None)


def _on_fork(args: Tuple[Any, ...]) -> None:
    record_spawn(None)


def _on_sqlite_connect(args: Tuple[Any, ...]) -> None:
    # sqlite opens the database file in C, where no "open" event is raised.
    if _recordings and args and args[0] not in (":memory:", b":memory:", ""):
        _on_path(args[0], True)


_HANDLERS: Dict[str, Callable[[Tuple[Any, ...]], None]] = {
    "open": _on_open,
    "os.mkdir": _on_mkdir,
    "os.rename": _on_destination,
    "os.link": _on_destination,
    "os.symlink": _on_destination,
    "socket.__new__": _on_socket,
    "subprocess.Popen": _on_popen,
    "os.posix_spawn": _on_posix_spawn,
    "os.posix_spawnp": _on_posix_spawn,
    "os.spawn": _on_spawn,
    "os.system": _on_system,
    "os.fork": _on_fork,
    "os.forkpty": _on_fork,
    "sqlite3.connect": _on_sqlite_connect,
}


def _audit_hook(event: str, args: Tuple[Any, ...]) -> None:
    handler = _HANDLERS.get(event)
    if handler is None:
        return
    try:
        handler(args)
    except Exception:  # noqa: BLE001 - an audit hook that raises would break the audited call
        pass


# --------------------------------------------------------------------------- wrappers


def _thread_start(self: threading.Thread, *args: Any, **kwargs: Any) -> Any:
    if _recordings:
        try:
            site = current_site()
            if site is not None:
                _threads[self] = site
        except Exception:  # noqa: BLE001 - recording must never stop the thread from starting
            pass
    assert _original_thread_start is not None
    return _original_thread_start(self, *args, **kwargs)


def _pipe() -> Tuple[int, int]:
    assert _original_pipe is not None
    fds = _original_pipe()
    if _recordings:
        try:
            site = current_site()
            if site is not None:
                for fd in fds:
                    _fd_sites[fd] = site
        except Exception:  # noqa: BLE001 - the caller owns the pipe either way
            pass
    return fds


def _recorded_epoll(*args: Any, **kwargs: Any) -> Any:
    assert _original_epoll_selector is not None
    epoll = _original_epoll_selector(*args, **kwargs)
    if _recordings:
        try:
            site = current_site()
            if site is not None:
                _fd_sites[epoll.fileno()] = site
        except Exception:  # noqa: BLE001 - the caller owns the selector either way
            pass
    return epoll


def _showwarnmsg(message: Any) -> None:
    if _recordings and isinstance(message.category, type) and issubclass(message.category, ResourceWarning):
        try:
            leak, ours = _resource_warning_leak(message)
        except Exception:  # noqa: BLE001 - never lose the warning itself
            leak, ours = None, False
        if leak is not None:
            for recording in _recordings:
                if not recording.paused:
                    (recording.warnings if ours else recording.foreign_warnings).append(leak)
        if leak is not None and _quiet:
            return
    assert _original_showwarnmsg is not None
    _original_showwarnmsg(message)


def _resource_warning_leak(message: Any) -> Tuple[Leak, bool]:
    """The leak a ResourceWarning reports, and whether it is the running check's.

    A file with a path, a socket or a Popen would have been recorded had it been created while
    recording, so one the registries do not know was created earlier (by a previous test,
    say) and merely collected now: that is not the current check's leak.
    """
    source = message.source
    site: Optional[Site] = None
    traceable = False
    if source is not None:
        site = _by_object_id.get(id(source))
        name = getattr(source, "name", None)
        if isinstance(name, (str, bytes)):
            traceable = True
            if site is None:
                site = site_for_path(os.path.abspath(os.fsdecode(name)))
        elif _is_socket(source):
            traceable = True
        args = getattr(source, "args", None)
        if args is not None and hasattr(source, "pid"):  # a subprocess.Popen
            traceable = True
            if site is None:
                site = _pid_sites.get(getattr(source, "pid", None)) or _exact_spawn_site(argv_of(args) or ())
    leak = Leak("resource-warning", str(message.message), site=site)
    return leak, site is not None or not traceable


def _is_socket(value: Any) -> bool:
    socket_module = sys.modules.get("socket")
    return socket_module is not None and isinstance(value, socket_module.socket)


def _unraisable_hook(unraisable: Any) -> None:
    if _recordings:
        try:
            leak = _unraisable_leak(unraisable)
        except Exception:  # noqa: BLE001 - the previous hook still reports it
            leak = None
        if leak is not None:
            for recording in _recordings:
                if not recording.paused:
                    recording.unraisables.append(leak)
        if leak is not None and _quiet:
            return
    previous = _previous_unraisablehook or sys.__unraisablehook__
    previous(unraisable)


def _unraisable_leak(unraisable: Any) -> Leak:
    # Only text is kept: holding the exception or object could resurrect it.
    exc_type = getattr(unraisable.exc_type, "__name__", str(unraisable.exc_type))
    where = unraisable.err_msg or "Exception ignored in"
    try:
        target = repr(unraisable.object)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the report
        target = "<unrepresentable object>"
    site = None
    tb = unraisable.exc_traceback
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is not None:
        site = Site(tb.tb_frame.f_code.co_filename, tb.tb_lineno, tb.tb_frame.f_code.co_name)
    return Leak(
        "unraisable", f"{exc_type}: {unraisable.exc_value}", detail=f"{where}: {target}", site=site
    )


# --------------------------------------------------------------------------- lifecycle


def install() -> None:
    """Install the audit hook and the wrappers (once per process; idempotent)."""
    global _installed, _original_thread_start, _original_pipe, _original_showwarnmsg, _original_epoll_selector
    with _lock:
        if _installed:
            return
        sys.addaudithook(_audit_hook)
        _original_thread_start = threading.Thread.start
        threading.Thread.start = _thread_start  # type: ignore[method-assign]
        _original_pipe = os.pipe
        os.pipe = _pipe
        # ``select.epoll`` cannot be subclassed or wrapped without breaking isinstance(), but
        # the selectors module (and so asyncio) creates it through this class attribute.
        import selectors

        selector_class = getattr(selectors, "EpollSelector", None)
        if selector_class is not None:
            _original_epoll_selector = selector_class._selector_cls
            selector_class._selector_cls = staticmethod(_recorded_epoll)
        # The C warnings machinery looks ``_showwarnmsg`` up on the module at each warning,
        # and ``catch_warnings`` leaves it alone, so this sees warnings that pytest records.
        _original_showwarnmsg = warnings._showwarnmsg  # type: ignore[attr-defined]
        warnings._showwarnmsg = _showwarnmsg  # type: ignore[attr-defined]
        _installed = True


def begin(recording: Recording) -> None:
    """Start delivering events to ``recording`` (installs the recorder if needed)."""
    global _previous_unraisablehook, _recordings
    install()
    with _lock:
        if not _recordings:
            _previous_unraisablehook = sys.unraisablehook
            sys.unraisablehook = _unraisable_hook
        _recordings = _recordings + (recording,)


def end(recording: Recording) -> None:
    """Stop delivering events to ``recording``; the last one out forgets every site."""
    global _previous_unraisablehook, _recordings
    with _lock:
        _recordings = tuple(other for other in _recordings if other is not recording)
        if _recordings:
            return
        if sys.unraisablehook is _unraisable_hook and _previous_unraisablehook is not None:
            sys.unraisablehook = _previous_unraisablehook
        _previous_unraisablehook = None
        _by_path.clear()
        _by_object_id.clear()
        del _sockets[:]
        _threads.clear()
        _fd_sites.clear()
        del _spawns[:]
        _pid_sites.clear()


@contextmanager
def quiet() -> Iterator[None]:
    """Record but do not forward the warnings and unraisable exceptions raised inside."""
    global _quiet
    _quiet += 1
    try:
        yield
    finally:
        _quiet -= 1


def spawn_count() -> int:
    """How many process creations the hook has seen since it was installed."""
    return _spawn_count


def recording() -> bool:
    """Whether at least one check is running."""
    return bool(_recordings)


def note_pid(pid: int, site: Site) -> None:
    """Remember where the process ``pid`` was started (multiprocessing knows its pid)."""
    if _recordings:
        _pid_sites[pid] = site


def site_for_pid(pid: int) -> Optional[Site]:
    """Where the process ``pid`` was started, if known by pid."""
    return _pid_sites.get(pid)


def spawns() -> List[Tuple[Optional[Tuple[str, ...]], Site]]:
    """The process starts seen while recording: ``(argv or None for a fork, site)``."""
    return list(_spawns)


# --------------------------------------------------------------------------- look-ups


def site_for_path(path: str) -> Optional[Site]:
    """Where ``path`` was last opened or created (matched through symlinks too)."""
    site = _by_path.get(path)
    if site is not None:
        return site
    real = os.path.realpath(path)
    for recorded, site in list(_by_path.items()):
        if recorded == real or os.path.realpath(recorded) == real:
            return site
    return None


def socket_for_fd(fd: int) -> Tuple[Any, Optional[Site]]:
    """The live socket object using ``fd`` (if created while recording) and its site."""
    for ref, site in reversed(_sockets):
        sock = ref()
        if sock is None:
            continue
        try:
            if sock.fileno() == fd:
                return sock, site
        except OSError:
            continue
    return None, None


def site_for_thread(thread: threading.Thread) -> Optional[Site]:
    """Where ``thread`` was started, if that happened while recording."""
    return _threads.get(thread)


def site_for_fd(fd: int) -> Optional[Site]:
    """Where the pipe end or epoll selector ``fd`` was created, if while recording."""
    return _fd_sites.get(fd)


def _exact_spawn_site(argv: Sequence[str]) -> Optional[Site]:
    wanted = tuple(argv)
    for recorded, site in reversed(_spawns):
        # with shell=True the audit event shows the shell's argv: (sh, -c, command)
        if recorded == wanted or (recorded and len(recorded) > 2 and recorded[1] == "-c" and recorded[2:] == wanted):
            return site
    return None

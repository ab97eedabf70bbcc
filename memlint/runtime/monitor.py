"""MEM-002: measure this process's memory, raise alerts, and clean up before the limit.

``MemoryAlerts`` turns a usage ratio into ``"OK"``, ``"WARNING"`` (70%) or ``"CRITICAL"``
(90%). Stateless, as in the rules document, through ``check_memory_status``; stateful
through ``update``, which adds what a live system needs: callbacks on entering and leaving
a level, hysteresis (a level is left only once usage falls ``hysteresis`` below its
threshold) and a cooldown (listeners hear at most one change of level per cooldown, except
that a rise to a higher level is never delayed), a bounded history of alerts, and logging.

``MemoryMonitor`` measures this process (RSS, or USS on request) with psutil, not the
machine. Its limit can be ``"auto"``: the smallest of the cgroup v2 and v1 limits,
``RLIMIT_AS`` and physical memory, so that a container's real limit counts. Cleanup
actions run in priority order until usage is back under the warning level, and
``monitor.watch(interval=...)`` polls in a background thread for the length of a ``with``.

This is the only module of memlint that imports psutil.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple, Union

import psutil

from memlint.runtime._memlimit import (
    DEFAULT_CGROUP_ROOT,
    DEFAULT_PROC_CGROUP,
    MemoryLimit,
    detect_memory_limit,
)
from memlint.runtime._utc import Clock, now_utc, resolve_clock

__all__ = [
    "CRITICAL",
    "OK",
    "WARNING",
    "AlertEvent",
    "CleanupReport",
    "MemoryAlerts",
    "MemoryLimit",
    "MemoryMonitor",
    "MemoryWatcher",
]

logger = logging.getLogger(__name__)

OK = "OK"
WARNING = "WARNING"
CRITICAL = "CRITICAL"
LEVELS = (OK, WARNING, CRITICAL)
_RANK = {OK: 0, WARNING: 1, CRITICAL: 2}
_LOG_LEVEL = {OK: logging.INFO, WARNING: logging.WARNING, CRITICAL: logging.CRITICAL}

MIB = 1024 * 1024

AlertCallback = Callable[["AlertEvent"], Any]
MemoryReader = Callable[[], float]
CleanupAction = Callable[[], Any]


def _finite_number(value: Any, name: str, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, not {value!r}")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be {'positive' if positive else 'non-negative'}, not {value!r}")
    return float(value)


def _check_level(level: str) -> str:
    if level not in _RANK:
        raise ValueError(f"unknown memory level {level!r}; expected one of {', '.join(LEVELS)}")
    return level


@dataclass(frozen=True)
class AlertEvent:
    """One change of alert level as listeners heard it."""

    timestamp: datetime
    previous: str
    level: str
    current_mb: float
    limit_mb: float

    @property
    def usage_ratio(self) -> float:
        return self.current_mb / self.limit_mb


class MemoryAlerts:
    """Alert levels for a memory reading against a limit (the document's ``MemoryAlerts``).

    ``check_memory_status`` is the document's pure classification. ``update`` is the live
    version: it keeps the current level with hysteresis, notifies ``on_enter``/``on_leave``
    callbacks (outside its lock, in order; a failing callback is logged and skipped), and
    records notified changes in ``history`` (the newest ``history_size``).

    The cooldown is measured with ``clock`` (an aware UTC clock). A fall to a lower level
    that happens within ``cooldown_seconds`` of the previous notification is held back and
    delivered by the first ``update`` after the cooldown, if usage is still low; a rise is
    always delivered at once. A value swinging across a threshold therefore produces at
    most about two notifications per cooldown, and listeners always see consistent
    leave/enter pairs.

    Callbacks run on the thread that called ``update`` (the watcher's, under
    ``monitor.watch()``) and should be quick: changes are delivered one at a time.
    """

    WARN_THRESHOLD = 0.7  # 70% usage
    CRITICAL_THRESHOLD = 0.9  # 90% usage

    def __init__(
        self,
        warn_threshold: Optional[float] = None,
        critical_threshold: Optional[float] = None,
        *,
        hysteresis: float = 0.05,
        cooldown_seconds: float = 30.0,
        history_size: int = 100,
        clock: Optional[Clock] = None,
    ) -> None:
        warn = _finite_number(
            self.WARN_THRESHOLD if warn_threshold is None else warn_threshold, "warn_threshold", positive=True
        )
        critical = _finite_number(
            self.CRITICAL_THRESHOLD if critical_threshold is None else critical_threshold,
            "critical_threshold",
            positive=True,
        )
        if not warn < critical:
            raise ValueError(f"warn_threshold ({warn}) must be below critical_threshold ({critical})")
        hysteresis = _finite_number(hysteresis, "hysteresis", positive=False)
        if not hysteresis < warn:
            raise ValueError(f"hysteresis ({hysteresis}) must be smaller than warn_threshold ({warn})")
        if isinstance(history_size, bool) or not isinstance(history_size, int) or history_size <= 0:
            raise ValueError(f"history_size must be a positive int, not {history_size!r}")
        self.warn_threshold = warn
        self.critical_threshold = critical
        self.hysteresis = hysteresis
        self.cooldown_seconds = _finite_number(cooldown_seconds, "cooldown_seconds", positive=False)
        self._clock = resolve_clock(clock)
        self._state_lock = threading.Lock()
        # Held while computing *and* delivering a change, so that listeners hear changes in
        # the order they happened. Re-entrant so a callback may call ``update`` itself.
        self._delivery_lock = threading.RLock()
        self._level = OK
        self._notified = OK
        self._last_notice: Optional[datetime] = None
        self._history: Deque[AlertEvent] = deque(maxlen=history_size)
        self._on_enter: Dict[str, List[AlertCallback]] = {level: [] for level in LEVELS}
        self._on_leave: Dict[str, List[AlertCallback]] = {level: [] for level in LEVELS}

    def check_memory_status(self, current_mb: float, limit_mb: float) -> str:
        """The alert level of ``current_mb`` out of ``limit_mb``, without hysteresis or state."""
        usage_ratio = _finite_number(current_mb, "current_mb", positive=False) / _finite_number(
            limit_mb, "limit_mb", positive=True
        )
        if usage_ratio >= self.critical_threshold:
            return CRITICAL
        if usage_ratio >= self.warn_threshold:
            return WARNING
        return OK

    def on_enter(self, level: str, callback: AlertCallback) -> None:
        """Call ``callback(event)`` whenever listeners are told that ``level`` was entered."""
        self._subscribe(self._on_enter, level, callback)

    def on_leave(self, level: str, callback: AlertCallback) -> None:
        """Call ``callback(event)`` whenever listeners are told that ``level`` was left."""
        self._subscribe(self._on_leave, level, callback)

    def _subscribe(self, table: Dict[str, List[AlertCallback]], level: str, callback: AlertCallback) -> None:
        _check_level(level)
        if not callable(callback):
            raise TypeError(f"callback must be callable, not {type(callback).__name__}")
        with self._state_lock:
            table[level].append(callback)

    @property
    def level(self) -> str:
        """The current level, with hysteresis applied (may run ahead of what was notified)."""
        with self._state_lock:
            return self._level

    @property
    def notified_level(self) -> str:
        """The level listeners were last told about."""
        with self._state_lock:
            return self._notified

    @property
    def history(self) -> Tuple[AlertEvent, ...]:
        """The notified level changes, oldest first, at most ``history_size`` of them."""
        with self._state_lock:
            return tuple(self._history)

    def _next_level(self, current: str, ratio: float) -> str:
        # Entering a level takes its threshold; leaving it takes the threshold minus the
        # hysteresis, so a value hovering just around a threshold stays where it is.
        if ratio >= self.critical_threshold:
            return CRITICAL
        if current == CRITICAL and ratio >= self.critical_threshold - self.hysteresis:
            return CRITICAL
        if ratio >= self.warn_threshold:
            return WARNING
        if current != OK and ratio >= self.warn_threshold - self.hysteresis:
            return WARNING
        return OK

    def update(self, current_mb: float, limit_mb: float) -> str:
        """Feed a reading; notify listeners of a change of level; return the current level."""
        current_mb = _finite_number(current_mb, "current_mb", positive=False)
        limit_mb = _finite_number(limit_mb, "limit_mb", positive=True)
        with self._delivery_lock:
            now = now_utc(self._clock)
            with self._state_lock:
                previous_level = self._level
                self._level = self._next_level(previous_level, current_mb / limit_mb)
                level = self._level
                event = self._maybe_notice(now, current_mb, limit_mb)
                leave: List[AlertCallback] = []
                enter: List[AlertCallback] = []
                if event is not None:
                    leave = list(self._on_leave[event.previous])
                    enter = list(self._on_enter[event.level])
            if level != previous_level:
                logger.debug(
                    "memory level %s -> %s at %.1f MiB of %.1f MiB", previous_level, level, current_mb, limit_mb
                )
            if event is not None:
                logger.log(
                    _LOG_LEVEL[event.level],
                    "memory %s (was %s): %.1f MiB of %.1f MiB (%.0f%%)",
                    event.level,
                    event.previous,
                    current_mb,
                    limit_mb,
                    event.usage_ratio * 100,
                )
                for callback in leave + enter:
                    self._deliver(callback, event)
            return level

    def _maybe_notice(self, now: datetime, current_mb: float, limit_mb: float) -> Optional[AlertEvent]:
        """The notification due now, if any; records it. Caller holds the state lock."""
        if self._level == self._notified:
            return None
        rising = _RANK[self._level] > _RANK[self._notified]
        if not rising and self._last_notice is not None:
            elapsed = (now - self._last_notice).total_seconds()
            # A clock that went backwards does not extend the cooldown indefinitely.
            if 0 <= elapsed < self.cooldown_seconds:
                return None
        event = AlertEvent(now, self._notified, self._level, current_mb, limit_mb)
        self._notified = self._level
        self._last_notice = now
        self._history.append(event)
        return event

    @staticmethod
    def _deliver(callback: AlertCallback, event: AlertEvent) -> None:
        try:
            callback(event)
        except Exception:  # noqa: BLE001 - one broken listener must not silence the others
            logger.exception("memory alert callback %r failed", callback)


@dataclass(frozen=True)
class CleanupReport:
    """What one cleanup run did."""

    before_mb: float
    after_mb: float
    target_mb: float
    actions_run: Tuple[str, ...]
    errors: Tuple[Tuple[str, str], ...]
    skipped: bool = False

    @property
    def reached_target(self) -> bool:
        return self.after_mb < self.target_mb


@dataclass(frozen=True)
class _Action:
    priority: int
    order: int
    name: str
    action: CleanupAction


class MemoryMonitor:
    """Measure this process's memory and act before it reaches its limit (MEM-002).

    ``threshold_mb`` keeps the document's meaning: ``check_memory()["needs_cleanup"]`` and
    ``should_cleanup()`` are true once usage is above it, and ``usage_percent`` is relative
    to it. ``limit_mb`` is the ceiling the alert levels are relative to: a number of MiB,
    ``"auto"`` (the limit the process really runs under), or ``None`` to use
    ``threshold_mb`` as the ceiling too.

    ``reader`` replaces the measurement (a callable returning MiB), ``metric`` chooses
    ``"rss"`` or ``"uss"`` (slower, but counts only memory this process alone holds).
    ``cgroup_root`` and ``proc_cgroup`` point ``"auto"`` at other cgroup files (tests).
    """

    def __init__(
        self,
        threshold_mb: float = 500,
        *,
        limit_mb: Union[float, str, None] = None,
        metric: str = "rss",
        alerts: Optional[MemoryAlerts] = None,
        reader: Optional[MemoryReader] = None,
        cleanup_cooldown_seconds: float = 30.0,
        clock: Optional[Clock] = None,
        cgroup_root: str = DEFAULT_CGROUP_ROOT,
        proc_cgroup: str = DEFAULT_PROC_CGROUP,
    ) -> None:
        self.threshold_mb = _finite_number(threshold_mb, "threshold_mb", positive=True)
        if metric not in ("rss", "uss"):
            raise ValueError(f"metric must be 'rss' or 'uss', not {metric!r}")
        if reader is not None and not callable(reader):
            raise TypeError(f"reader must be a callable returning MiB, not {type(reader).__name__}")
        self.metric = metric
        self._clock = resolve_clock(clock)
        self.alerts = alerts if alerts is not None else MemoryAlerts(clock=self._clock)
        self.cleanup_cooldown_seconds = _finite_number(
            cleanup_cooldown_seconds, "cleanup_cooldown_seconds", positive=False
        )
        self._reader = reader
        self._process: Optional[psutil.Process] = None
        self.limit: Optional[MemoryLimit] = None
        if limit_mb == "auto":
            self.limit = detect_memory_limit(
                int(psutil.virtual_memory().total), cgroup_root=cgroup_root, proc_cgroup=proc_cgroup
            )
            self.limit_mb: Optional[float] = self.limit.mb
        elif limit_mb is None:
            self.limit_mb = None
        elif isinstance(limit_mb, str):
            raise ValueError(f"limit_mb must be a number, 'auto' or None, not {limit_mb!r}")
        else:
            self.limit_mb = _finite_number(limit_mb, "limit_mb", positive=True)
        self._lock = threading.Lock()
        # Held for the whole of a cleanup run; a second concurrent run is skipped, not queued.
        self._cleanup_lock = threading.Lock()
        self._actions: List[_Action] = []
        self._registered = 0
        self._last_cleanup: Optional[datetime] = None
        self._last_reading: Optional[Dict[str, Any]] = None

    @property
    def ceiling_mb(self) -> float:
        """What alert levels are relative to: ``limit_mb``, or ``threshold_mb`` without one."""
        return self.limit_mb if self.limit_mb is not None else self.threshold_mb

    @property
    def target_mb(self) -> float:
        """Cleanup stops once usage is below this: under both the threshold and the warning level."""
        return min(self.threshold_mb, self.alerts.warn_threshold * self.ceiling_mb)

    def read_mb(self) -> float:
        """This process's memory in MiB, by the injected reader or psutil (``metric``)."""
        if self._reader is not None:
            return _finite_number(self._reader(), "memory reading", positive=False)
        with self._lock:
            if self._process is None:
                self._process = psutil.Process()
            process = self._process
        if self.metric == "uss":
            return float(process.memory_full_info().uss) / MIB
        return float(process.memory_info().rss) / MIB

    def _virtual_mb(self) -> float:
        with self._lock:
            if self._process is None:
                self._process = psutil.Process()
            process = self._process
        return float(process.memory_info().vms) / MIB

    def check_memory(self) -> Dict[str, Any]:
        """Measure now; update alert levels (callbacks may fire); return the reading.

        Keys: the document's ``memory_mb``, ``threshold_mb``, ``needs_cleanup`` and
        ``usage_percent``, plus ``limit_mb`` (the ceiling for levels), ``limit_source``,
        ``limit_percent``, ``level`` and ``metric``. ``limit_metric`` says what
        ``limit_percent`` and ``level`` measure: the virtual size (``"vms"``) when the
        limit in force is ``RLIMIT_AS``, otherwise the same as ``metric``.
        """
        memory_mb = self.read_mb()
        ceiling = self.ceiling_mb
        # RLIMIT_AS bounds the address space, not the resident set: a process fails with
        # MemoryError when its virtual size reaches it, however small its RSS. When that
        # is the limit in force, the levels compare the virtual size with it.
        limit_metric = "custom" if self._reader is not None else self.metric
        limit_usage_mb = memory_mb
        if self._reader is None and self.limit is not None and self.limit.source == "rlimit_as":
            limit_usage_mb = self._virtual_mb()
            limit_metric = "vms"
        level = self.alerts.update(limit_usage_mb, ceiling)
        reading: Dict[str, Any] = {
            "memory_mb": memory_mb,
            "threshold_mb": self.threshold_mb,
            "needs_cleanup": memory_mb > self.threshold_mb,
            "usage_percent": (memory_mb / self.threshold_mb) * 100,
            "limit_mb": ceiling,
            "limit_source": self._limit_source(),
            "limit_percent": (limit_usage_mb / ceiling) * 100,
            "limit_metric": limit_metric,
            "level": level,
            "metric": "custom" if self._reader is not None else self.metric,
        }
        with self._lock:
            self._last_reading = dict(reading)
        # Every reading at DEBUG: enough to see a usage pattern without a profiler.
        logger.debug(
            "memory %.1f MiB (%s), %.0f%% of %.1f MiB, %s",
            memory_mb,
            reading["metric"],
            reading["limit_percent"],
            ceiling,
            level,
        )
        return reading

    def _limit_source(self) -> str:
        if self.limit is not None:
            return self.limit.source
        return "limit_mb" if self.limit_mb is not None else "threshold_mb"

    def should_cleanup(self) -> bool:
        """Whether usage is above ``threshold_mb`` (measures now)."""
        return bool(self.check_memory()["needs_cleanup"])

    @property
    def last_reading(self) -> Optional[Dict[str, Any]]:
        """A copy of the latest ``check_memory()`` result (``None`` before the first)."""
        with self._lock:
            return dict(self._last_reading) if self._last_reading is not None else None

    def add_cleanup_action(self, action: CleanupAction, priority: int = 0, name: Optional[str] = None) -> None:
        """Register ``action``; higher ``priority`` runs first, equal ones in registration order."""
        if not callable(action):
            raise TypeError(f"cleanup action must be callable, not {type(action).__name__}")
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise TypeError(f"priority must be an int, not {priority!r}")
        label = name if name is not None else getattr(action, "__qualname__", repr(action))
        with self._lock:
            self._actions.append(_Action(-priority, self._registered, label, action))
            self._registered += 1
            self._actions.sort(key=lambda item: (item.priority, item.order))

    @property
    def cleanup_actions(self) -> Tuple[str, ...]:
        """The names of the registered cleanup actions, in the order they run."""
        with self._lock:
            return tuple(item.name for item in self._actions)

    def remove_cleanup_action(self, action: CleanupAction) -> None:
        """Unregister every registration of ``action``; ``KeyError`` if it was never added."""
        with self._lock:
            kept = [item for item in self._actions if item.action is not action]
            if len(kept) == len(self._actions):
                raise KeyError(f"cleanup action {action!r} is not registered")
            self._actions = kept

    def run_cleanup(self) -> CleanupReport:
        """Run cleanup actions in priority order until usage is below ``target_mb``.

        Memory is measured before the first action and after each one. An action that
        raises is logged and recorded, and the next one runs. If another thread is already
        cleaning up, returns at once with ``skipped=True``.
        """
        if not self._cleanup_lock.acquire(blocking=False):
            now_mb = self.read_mb()
            return CleanupReport(now_mb, now_mb, self.target_mb, (), (), skipped=True)
        try:
            return self._run_cleanup()
        finally:
            self._cleanup_lock.release()

    def _run_cleanup(self) -> CleanupReport:
        target = self.target_mb
        before = current = self.read_mb()
        with self._lock:
            actions = list(self._actions)
            self._last_cleanup = now_utc(self._clock)
        ran: List[str] = []
        errors: List[Tuple[str, str]] = []
        for item in actions:
            if current < target:
                break
            ran.append(item.name)
            try:
                item.action()
            except Exception as error:  # noqa: BLE001 - the remaining actions must still run
                logger.exception("memory cleanup action %s failed", item.name)
                errors.append((item.name, f"{type(error).__name__}: {error}"))
            current = self.read_mb()
        report = CleanupReport(before, current, target, tuple(ran), tuple(errors))
        log_level = logging.INFO if report.reached_target or not actions else logging.WARNING
        logger.log(
            log_level,
            "memory cleanup ran %d action(s): %.1f MiB -> %.1f MiB (target below %.1f MiB)",
            len(ran),
            before,
            current,
            target,
        )
        return report

    def poll(self) -> Optional[CleanupReport]:
        """Measure, update alerts, and clean up if usage is high; the report if cleanup ran.

        Cleanup is due when usage is above the threshold or at the warning level or above,
        and runs at most once per ``cleanup_cooldown_seconds``.
        """
        reading = self.check_memory()
        if not reading["needs_cleanup"] and reading["level"] == OK:
            return None
        now = now_utc(self._clock)
        with self._lock:
            last = self._last_cleanup
        if last is not None:
            elapsed = (now - last).total_seconds()
            if 0 <= elapsed < self.cleanup_cooldown_seconds:
                return None
        return self.run_cleanup()

    def watch(self, interval: float = 1.0) -> "MemoryWatcher":
        """A background watcher calling ``poll()`` every ``interval`` seconds; use it in ``with``."""
        return MemoryWatcher(self, interval)


class MemoryWatcher:
    """A thread that polls a monitor until closed: ``with monitor.watch(interval=1.0): ...``.

    The thread starts on ``__enter__`` (or ``start()``), polls at once and then every
    ``interval`` seconds, and is stopped and joined by ``__exit__`` (or ``close()``), so
    none is left behind. A poll that raises is logged and the watch goes on. A watcher
    runs once; create another with ``monitor.watch()`` to watch again.
    """

    def __init__(self, monitor: MemoryMonitor, interval: float = 1.0) -> None:
        self.monitor = monitor
        self.interval = _finite_number(interval, "interval", positive=True)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        self._polls = 0
        self._closed = False

    @property
    def polls(self) -> int:
        """How many polls have completed (successful or not)."""
        with self._lock:
            return self._polls

    @property
    def running(self) -> bool:
        with self._lock:
            thread = self._thread
        return thread is not None and thread.is_alive()

    def start(self) -> "MemoryWatcher":
        """Start the watcher thread; ``RuntimeError`` if it was started before."""
        with self._lock:
            if self._thread is not None or self._closed:
                raise RuntimeError("a MemoryWatcher can be started only once; call monitor.watch() again")
            self._thread = threading.Thread(target=self._run, name="memlint-memory-watcher", daemon=True)
            thread = self._thread
        try:
            thread.start()
        except BaseException:
            # Never started (e.g. the system is out of threads): nothing to join later.
            with self._lock:
                self._thread = None
            raise
        return self

    def close(self) -> None:
        """Stop the thread and wait for it to end (waits for a poll in progress). Idempotent."""
        self._stop.set()
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def __enter__(self) -> "MemoryWatcher":
        return self.start()

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        self.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.monitor.poll()
            except Exception:  # noqa: BLE001 - a failed poll must not end the watch
                logger.exception("memory watcher poll failed")
            with self._lock:
                self._polls += 1
            if self._stop.wait(self.interval):
                break

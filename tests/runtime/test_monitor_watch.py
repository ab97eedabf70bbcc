"""The background watcher: clean start and stop, no thread left behind, thread-safe state."""

from __future__ import annotations

import logging
import random
import threading
from datetime import datetime, timezone
from typing import Callable, Dict, List

import pytest

from memlint.runtime import MemoryAlerts, MemoryMonitor
from memlint.runtime.monitor import CRITICAL, OK, WARNING, AlertEvent

WAIT = 10.0  # generous upper bound for a condition to become true; never a timing assertion


def _watcher_threads() -> List[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "memlint-memory-watcher"]


def _wait_until(condition: Callable[[], bool]) -> bool:
    done = threading.Event()
    for _ in range(int(WAIT / 0.01)):
        if condition():
            return True
        done.wait(0.01)
    return condition()


class CountingReader:
    def __init__(self, value: float = 10.0) -> None:
        self.value = value
        self._lock = threading.Lock()
        self.calls = 0

    def __call__(self) -> float:
        with self._lock:
            self.calls += 1
            return self.value


def test_watch_starts_polls_and_stops_leaving_no_thread() -> None:
    before = set(threading.enumerate())
    reader = CountingReader()
    monitor = MemoryMonitor(reader=reader)
    with monitor.watch(interval=0.01) as watcher:
        assert watcher.running
        assert len(_watcher_threads()) == 1
        assert _wait_until(lambda: watcher.polls >= 3)
    assert not watcher.running
    assert _watcher_threads() == []
    assert set(threading.enumerate()) == before
    calls = reader.calls
    assert calls >= 3
    threading.Event().wait(0.05)
    assert reader.calls == calls  # nothing polls after the block


def test_watch_stops_when_the_block_raises() -> None:
    monitor = MemoryMonitor(reader=CountingReader())
    with pytest.raises(KeyError):
        with monitor.watch(interval=0.01) as watcher:
            raise KeyError("boom")
    assert not watcher.running
    assert _watcher_threads() == []


def test_a_long_interval_does_not_delay_stopping() -> None:
    monitor = MemoryMonitor(reader=CountingReader())
    with monitor.watch(interval=3600) as watcher:
        assert _wait_until(lambda: watcher.polls >= 1)
    assert _watcher_threads() == []


def test_a_watcher_runs_once_and_close_is_idempotent() -> None:
    monitor = MemoryMonitor(reader=CountingReader())
    watcher = monitor.watch(interval=0.01)
    with watcher:
        with pytest.raises(RuntimeError, match="only once"):
            watcher.start()
    watcher.close()
    with pytest.raises(RuntimeError):
        watcher.start()
    with pytest.raises(ValueError):
        monitor.watch(interval=0)
    unstarted = monitor.watch()
    unstarted.close()  # closing a watcher that never started is fine
    assert _watcher_threads() == []


def test_a_failing_poll_is_logged_and_the_watch_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    calls: List[int] = []

    def flaky() -> float:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("psutil hiccup")
        return 10.0

    monitor = MemoryMonitor(reader=flaky)
    with caplog.at_level(logging.ERROR, logger="memlint.runtime.monitor"):
        with monitor.watch(interval=0.01) as watcher:
            assert _wait_until(lambda: watcher.polls >= 3)
    assert any("poll failed" in record.getMessage() for record in caplog.records)
    assert _watcher_threads() == []


def test_the_watcher_fires_callbacks_and_cleans_up() -> None:
    reader = CountingReader(100)
    monitor = MemoryMonitor(threshold_mb=500, reader=reader, cleanup_cooldown_seconds=0)
    entered = threading.Event()
    cleaned = threading.Event()
    callback_threads: List[str] = []

    def on_critical(event: AlertEvent) -> None:
        callback_threads.append(threading.current_thread().name)
        entered.set()

    def free_memory() -> None:
        reader.value = 50
        cleaned.set()

    monitor.alerts.on_enter(CRITICAL, on_critical)
    monitor.add_cleanup_action(free_memory)
    with monitor.watch(interval=0.01):
        reader.value = 480  # 96% of the threshold
        assert entered.wait(WAIT)
        assert cleaned.wait(WAIT)
    assert callback_threads[0] == "memlint-memory-watcher"
    assert _watcher_threads() == []


def test_alert_state_stays_consistent_under_concurrent_updates() -> None:
    """Several threads and a watcher feed one MemoryAlerts: the notified changes form one chain."""
    alerts = MemoryAlerts(cooldown_seconds=0, history_size=100_000)
    counts: Dict[str, int] = {}
    counts_lock = threading.Lock()

    def counter(key: str) -> Callable[[AlertEvent], None]:
        def record(event: AlertEvent) -> None:
            with counts_lock:
                counts[key] = counts.get(key, 0) + 1

        return record

    for level in (OK, WARNING, CRITICAL):
        alerts.on_enter(level, counter("enter " + level))
        alerts.on_leave(level, counter("leave " + level))

    shared = {"value": 10.0}

    def watched() -> float:
        return shared["value"]

    monitor = MemoryMonitor(threshold_mb=100, reader=watched, alerts=alerts, cleanup_cooldown_seconds=3600)
    errors: List[BaseException] = []
    start = threading.Barrier(5)

    def hammer(seed: int) -> None:
        generator = random.Random(seed)
        try:
            start.wait()
            for _ in range(2000):
                value = generator.uniform(0, 100)
                shared["value"] = value
                alerts.update(value, 100)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    workers = [threading.Thread(target=hammer, args=(seed,)) for seed in range(4)]
    started: List[threading.Thread] = []
    with monitor.watch(interval=0.001):
        try:
            for worker in workers:
                worker.start()
                started.append(worker)
            start.wait()
        finally:
            for worker in started:
                worker.join()
    assert errors == []
    history = alerts.history
    assert len(history) > 10
    assert history[0].previous == OK
    for earlier, later in zip(history, history[1:]):
        assert later.previous == earlier.level
    assert alerts.notified_level == history[-1].level
    for level in (OK, WARNING, CRITICAL):
        enters = counts.get("enter " + level, 0)
        leaves = counts.get("leave " + level, 0)
        # Starting in OK counts as having entered it once.
        expected_inside = 1 if alerts.notified_level == level else 0
        assert enters + (1 if level == OK else 0) - leaves == expected_inside
    assert sum(counts.values()) == 2 * len(history)
    assert _watcher_threads() == []


def test_cleanup_actions_can_be_registered_while_the_watcher_cleans_up() -> None:
    monitor = MemoryMonitor(threshold_mb=10, reader=lambda: 50.0, cleanup_cooldown_seconds=0)
    ran = threading.Event()
    monitor.add_cleanup_action(ran.set, priority=100, name="first")
    errors: List[BaseException] = []

    def register(index: int) -> None:
        try:
            for number in range(100):
                monitor.add_cleanup_action(lambda: None, priority=number % 7, name=f"{index}-{number}")
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    workers = [threading.Thread(target=register, args=(index,)) for index in range(4)]
    started: List[threading.Thread] = []
    with monitor.watch(interval=0.001):
        assert ran.wait(WAIT)
        try:
            for worker in workers:
                worker.start()
                started.append(worker)
        finally:
            for worker in started:
                worker.join()
    assert errors == []
    names = monitor.cleanup_actions
    assert len(names) == 401
    assert names[0] == "first"
    assert _watcher_threads() == []


def test_history_and_level_reads_are_safe_during_updates() -> None:
    alerts = MemoryAlerts(cooldown_seconds=0, history_size=50, clock=lambda: datetime.now(timezone.utc))
    stop = threading.Event()
    failures: List[BaseException] = []

    def reader() -> None:
        try:
            while not stop.is_set():
                history = alerts.history
                assert len(history) <= 50
                assert alerts.level in (OK, WARNING, CRITICAL)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            failures.append(error)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for step in range(5000):
            alerts.update(95 if step % 2 else 5, 100)
    finally:
        stop.set()
        thread.join()
    assert failures == []
    assert len(alerts.history) == 50


def test_a_watcher_that_cannot_start_leaves_nothing_to_join(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    watcher = MemoryMonitor(reader=CountingReader()).watch(interval=0.01)
    monkeypatch.setattr(threading.Thread, "start", refuse)
    with pytest.raises(RuntimeError, match="can't start"):
        with watcher:
            pass  # pragma: no cover - never entered
    monkeypatch.undo()
    watcher.close()  # no join on a thread that never started
    assert not watcher.running

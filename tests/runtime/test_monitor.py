"""MemoryAlerts and MemoryMonitor: levels, hysteresis, cooldown, cleanup, limits, real readings."""

from __future__ import annotations

import logging
import os
import sys
from datetime import datetime, timedelta, timezone
from typing import Dict, List, Tuple

import psutil
import pytest

from memlint.runtime import MemoryAlerts, MemoryMonitor
from memlint.runtime._memlimit import cgroup1_limit, cgroup2_limit, detect_memory_limit, rlimit_as
from memlint.runtime.monitor import CRITICAL, OK, WARNING, AlertEvent

MIB = 1024 * 1024
START = datetime(2026, 1, 1, tzinfo=timezone.utc)


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Recorder:
    """Counts on_enter/on_leave callbacks per level."""

    def __init__(self, alerts: MemoryAlerts) -> None:
        self.calls: List[Tuple[str, str]] = []
        for level in (OK, WARNING, CRITICAL):
            alerts.on_enter(level, lambda event, level=level: self.calls.append(("enter", level)))
            alerts.on_leave(level, lambda event, level=level: self.calls.append(("leave", level)))

    def count(self, kind: str, level: str) -> int:
        return self.calls.count((kind, level))


# --- MemoryAlerts: the document's stateless classification -------------------------------


def test_document_thresholds_and_levels() -> None:
    alerts = MemoryAlerts()
    assert MemoryAlerts.WARN_THRESHOLD == 0.7
    assert MemoryAlerts.CRITICAL_THRESHOLD == 0.9
    assert alerts.check_memory_status(69.9, 100) == "OK"
    assert alerts.check_memory_status(70, 100) == "WARNING"
    assert alerts.check_memory_status(89.9, 100) == "WARNING"
    assert alerts.check_memory_status(90, 100) == "CRITICAL"
    assert alerts.check_memory_status(150, 100) == "CRITICAL"
    assert alerts.check_memory_status(current_mb=0, limit_mb=1) == "OK"


@pytest.mark.parametrize(
    "current, limit",
    [(10, 0), (10, -5), (-1, 100), (float("nan"), 100), (10, float("inf")), (True, 100), ("10", 100)],
)
def test_bad_readings_are_refused(current: object, limit: object) -> None:
    with pytest.raises(ValueError):
        MemoryAlerts().check_memory_status(current, limit)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        MemoryAlerts().update(current, limit)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"warn_threshold": 0.9, "critical_threshold": 0.9},
        {"warn_threshold": 0.95},
        {"hysteresis": 0.7},
        {"hysteresis": -0.1},
        {"cooldown_seconds": -1},
        {"history_size": 0},
    ],
)
def test_bad_configuration_is_refused(kwargs: Dict[str, float]) -> None:
    with pytest.raises(ValueError):
        MemoryAlerts(**kwargs)  # type: ignore[arg-type]


def test_unknown_level_and_non_callable_callbacks_are_refused() -> None:
    alerts = MemoryAlerts()
    with pytest.raises(ValueError, match="unknown memory level"):
        alerts.on_enter("HIGH", lambda event: None)
    with pytest.raises(TypeError):
        alerts.on_leave(WARNING, "not callable")  # type: ignore[arg-type]


# --- MemoryAlerts: live levels with hysteresis and cooldown -------------------------------


def test_exactly_one_callback_per_crossing() -> None:
    clock = FakeClock()
    alerts = MemoryAlerts(clock=clock)  # hysteresis 0.05, cooldown 30 s
    recorder = Recorder(alerts)
    # Percent of a 100 MiB limit. Leaving WARNING needs < 65, leaving CRITICAL needs < 85.
    readings = [50, 75, 80, 72, 68, 66, 60, 75, 95, 87, 86, 60]
    levels = []
    for value in readings:
        clock.advance(60)  # past the cooldown: every crossing is delivered
        levels.append(alerts.update(value, 100))
    assert levels == [OK, WARNING, WARNING, WARNING, WARNING, WARNING, OK, WARNING, CRITICAL, CRITICAL, CRITICAL, OK]
    transitions = [(event.previous, event.level) for event in alerts.history]
    assert transitions == [(OK, WARNING), (WARNING, OK), (OK, WARNING), (WARNING, CRITICAL), (CRITICAL, OK)]
    assert recorder.count("enter", WARNING) == 2
    assert recorder.count("leave", WARNING) == 2
    assert recorder.count("enter", CRITICAL) == 1
    assert recorder.count("leave", CRITICAL) == 1
    assert recorder.count("enter", OK) == 2
    assert recorder.count("leave", OK) == 2
    assert len(recorder.calls) == 2 * len(transitions)
    # Each change is heard as leave-then-enter.
    assert recorder.calls[:2] == [("leave", OK), ("enter", WARNING)]


def test_no_callbacks_while_hovering_inside_the_band() -> None:
    clock = FakeClock()
    alerts = MemoryAlerts(clock=clock)
    recorder = Recorder(alerts)
    alerts.update(71, 100)
    assert recorder.calls == [("leave", OK), ("enter", WARNING)]
    for step in range(200):
        clock.advance(60)
        # Crosses the 70% threshold every time, but never leaves the 65%..90% band.
        alerts.update(66 if step % 2 else 74, 100)
    assert recorder.calls == [("leave", OK), ("enter", WARNING)]
    assert alerts.level == WARNING
    for step in range(200):
        clock.advance(60)
        alerts.update(86 if step % 2 else 89.9, 100)  # under CRITICAL's entry threshold
    assert len(recorder.calls) == 2


def test_hovering_around_critical_stays_critical() -> None:
    clock = FakeClock()
    alerts = MemoryAlerts(clock=clock)
    alerts.update(91, 100)
    recorder = Recorder(alerts)
    for step in range(100):
        clock.advance(60)
        alerts.update(88 if step % 2 else 92, 100)
    assert recorder.calls == []
    assert alerts.level == CRITICAL


def test_cooldown_holds_back_falls_and_delivers_them_later() -> None:
    clock = FakeClock()
    alerts = MemoryAlerts(clock=clock, cooldown_seconds=30)
    recorder = Recorder(alerts)
    alerts.update(80, 100)  # t=0: a rise is delivered at once
    clock.advance(1)
    alerts.update(50, 100)  # t=1: a fall inside the cooldown is held back
    assert alerts.level == OK
    assert alerts.notified_level == WARNING
    assert recorder.count("leave", WARNING) == 0
    clock.advance(20)
    alerts.update(50, 100)  # t=21: still inside
    assert recorder.count("leave", WARNING) == 0
    clock.advance(10)
    alerts.update(50, 100)  # t=31: delivered now
    assert recorder.count("leave", WARNING) == 1
    assert recorder.count("enter", OK) == 1
    assert alerts.notified_level == OK
    clock.advance(1)
    alerts.update(95, 100)  # t=32: a rise ignores the cooldown
    assert recorder.count("enter", CRITICAL) == 1


def test_cooldown_limits_a_wide_swing_to_few_notifications() -> None:
    clock = FakeClock()
    alerts = MemoryAlerts(clock=clock, cooldown_seconds=30)
    times: List[float] = []
    alerts.on_enter(OK, lambda event: times.append((event.timestamp - START).total_seconds()))
    alerts.on_enter(WARNING, lambda event: times.append((event.timestamp - START).total_seconds()))
    for second in range(100):
        clock.now = START + timedelta(seconds=second)
        alerts.update(50 if second % 2 else 80, 100)
    # Worked by hand: a rise at 0; each fall waits for 30 s after the last notice (31, 63,
    # 95) and the rise right after it is delivered at once (32, 64, 96).
    assert times == [0, 31, 32, 63, 64, 95, 96]


def test_a_clock_going_backwards_does_not_block_notifications() -> None:
    clock = FakeClock()
    alerts = MemoryAlerts(clock=clock, cooldown_seconds=30)
    alerts.update(80, 100)
    clock.advance(-3600)
    alerts.update(10, 100)
    assert alerts.notified_level == OK


def test_history_is_bounded_and_keeps_the_newest() -> None:
    clock = FakeClock()
    alerts = MemoryAlerts(clock=clock, history_size=3)
    for value in (80, 10, 95, 10, 75):
        clock.advance(60)
        alerts.update(value, 100)
    history = alerts.history
    assert len(history) == 3
    assert [(event.previous, event.level) for event in history] == [(OK, CRITICAL), (CRITICAL, OK), (OK, WARNING)]
    assert all(isinstance(event, AlertEvent) for event in history)
    assert history[-1].timestamp == clock.now
    assert history[-1].usage_ratio == pytest.approx(0.75)


def test_a_failing_callback_is_logged_and_the_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    alerts = MemoryAlerts(clock=FakeClock())
    heard: List[str] = []

    def broken(event: AlertEvent) -> None:
        raise RuntimeError("listener bug")

    alerts.on_enter(WARNING, broken)
    alerts.on_enter(WARNING, lambda event: heard.append(event.level))
    with caplog.at_level(logging.ERROR, logger="memlint.runtime.monitor"):
        assert alerts.update(75, 100) == WARNING
    assert heard == [WARNING]
    assert any("callback" in record.getMessage() and record.exc_info for record in caplog.records)


def test_changes_are_logged_with_matching_severity(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    alerts = MemoryAlerts(clock=clock)
    with caplog.at_level(logging.INFO, logger="memlint.runtime.monitor"):
        alerts.update(75, 100)
        clock.advance(60)
        alerts.update(95, 100)
        clock.advance(60)
        alerts.update(10, 100)
    records = [r for r in caplog.records if r.name == "memlint.runtime.monitor"]
    assert [r.levelno for r in records] == [logging.WARNING, logging.CRITICAL, logging.INFO]
    assert "75.0 MiB of 100.0 MiB" in records[0].getMessage()


def test_a_callback_may_feed_the_alerts_again() -> None:
    alerts = MemoryAlerts(clock=FakeClock(), cooldown_seconds=0)
    alerts.on_enter(CRITICAL, lambda event: alerts.update(10, 100))
    assert alerts.update(95, 100) == CRITICAL
    assert alerts.level == OK


def test_a_naive_clock_is_refused() -> None:
    alerts = MemoryAlerts(clock=lambda: datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="naive"):
        alerts.update(10, 100)


# --- MemoryMonitor with an injected reading ----------------------------------------------


class Memory:
    """A settable reading in MiB."""

    def __init__(self, value: float) -> None:
        self.value = value

    def __call__(self) -> float:
        return self.value


def test_check_memory_has_the_document_keys_and_values() -> None:
    monitor = MemoryMonitor(threshold_mb=500, reader=Memory(600), clock=FakeClock())
    reading = monitor.check_memory()
    assert reading["memory_mb"] == 600
    assert reading["threshold_mb"] == 500
    assert reading["needs_cleanup"] is True
    assert reading["usage_percent"] == pytest.approx(120.0)
    # Without a limit, the threshold is the ceiling of the levels too.
    assert reading["limit_mb"] == 500
    assert reading["limit_source"] == "threshold_mb"
    assert reading["level"] == CRITICAL
    assert monitor.should_cleanup() is True
    assert monitor.last_reading == reading


def test_levels_follow_the_limit_and_cleanup_follows_the_threshold() -> None:
    memory = Memory(450)
    monitor = MemoryMonitor(threshold_mb=500, limit_mb=1000, reader=memory, clock=FakeClock())
    reading = monitor.check_memory()
    assert (reading["needs_cleanup"], reading["level"], reading["limit_source"]) == (False, OK, "limit_mb")
    memory.value = 750
    reading = monitor.check_memory()
    assert (reading["needs_cleanup"], reading["level"]) == (True, WARNING)
    assert reading["limit_percent"] == pytest.approx(75.0)
    assert monitor.target_mb == 500  # under the threshold and under 70% of the limit


def test_monitor_feeds_its_alerts_so_callbacks_fire() -> None:
    memory = Memory(100)
    clock = FakeClock()
    monitor = MemoryMonitor(threshold_mb=1000, reader=memory, clock=clock)
    entered: List[float] = []
    monitor.alerts.on_enter(WARNING, lambda event: entered.append(event.current_mb))
    monitor.check_memory()
    memory.value = 800
    monitor.check_memory()
    monitor.check_memory()
    assert entered == [800]


def test_monitor_with_injected_reading_and_clock_fires_once_per_crossing() -> None:
    memory = Memory(100)
    clock = FakeClock()
    monitor = MemoryMonitor(threshold_mb=1000, limit_mb=1000, reader=memory, clock=clock)
    recorder = Recorder(monitor.alerts)
    # Up into WARNING, hover around 70% inside the band, down out of it, up to CRITICAL,
    # hover around 90%, then back to OK.
    for value in [100, 720, 690, 710, 660, 699, 600, 920, 880, 910, 860, 100]:
        clock.advance(60)
        memory.value = value
        monitor.check_memory()
    assert recorder.calls == [
        ("leave", OK), ("enter", WARNING),
        ("leave", WARNING), ("enter", OK),
        ("leave", OK), ("enter", CRITICAL),
        ("leave", CRITICAL), ("enter", OK),
    ]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"threshold_mb": 0},
        {"threshold_mb": -1},
        {"limit_mb": "huge"},
        {"limit_mb": 0},
        {"metric": "vms"},
        {"cleanup_cooldown_seconds": -1},
    ],
)
def test_bad_monitor_configuration_is_refused(kwargs: Dict[str, object]) -> None:
    with pytest.raises(ValueError):
        MemoryMonitor(**kwargs)  # type: ignore[arg-type]


def test_a_bad_reading_is_an_error() -> None:
    with pytest.raises(ValueError, match="memory reading"):
        MemoryMonitor(reader=lambda: -5.0).check_memory()
    with pytest.raises(TypeError):
        MemoryMonitor(reader=42)  # type: ignore[arg-type]


def _freeing(memory: Memory, amount: float, log: List[str], name: str):  # type: ignore[no-untyped-def]
    def action() -> None:
        log.append(name)
        memory.value -= amount

    return action


def test_cleanup_runs_in_priority_order_until_under_the_warning_level() -> None:
    memory = Memory(900)
    monitor = MemoryMonitor(threshold_mb=800, limit_mb=1000, reader=memory, clock=FakeClock())
    log: List[str] = []
    monitor.add_cleanup_action(_freeing(memory, 100, log, "low"), priority=1, name="low")
    monitor.add_cleanup_action(_freeing(memory, 150, log, "high"), priority=10, name="high")
    monitor.add_cleanup_action(_freeing(memory, 100, log, "mid"), priority=5, name="mid")
    monitor.add_cleanup_action(_freeing(memory, 100, log, "mid2"), priority=5, name="mid2")
    assert monitor.cleanup_actions == ("high", "mid", "mid2", "low")
    report = monitor.run_cleanup()
    # Target: below min(800, 0.7 * 1000) = 700. 900 -150-> 750 -100-> 650: done.
    assert log == ["high", "mid"]
    assert report.actions_run == ("high", "mid")
    assert (report.before_mb, report.after_mb, report.target_mb) == (900, 650, 700)
    assert report.reached_target and not report.skipped


def test_cleanup_goes_on_after_a_failing_action_and_reports_a_shortfall(caplog: pytest.LogCaptureFixture) -> None:
    memory = Memory(900)
    monitor = MemoryMonitor(threshold_mb=1000, reader=memory, clock=FakeClock())
    log: List[str] = []

    def broken() -> None:
        raise OSError("disk gone")

    monitor.add_cleanup_action(broken, priority=2, name="broken")
    monitor.add_cleanup_action(_freeing(memory, 10, log, "small"), priority=1, name="small")
    with caplog.at_level(logging.WARNING, logger="memlint.runtime.monitor"):
        report = monitor.run_cleanup()
    assert log == ["small"]
    assert report.actions_run == ("broken", "small")
    assert report.errors == (("broken", "OSError: disk gone"),)
    assert not report.reached_target
    assert any(r.levelno == logging.WARNING and "cleanup" in r.getMessage() for r in caplog.records)


def test_no_action_runs_when_usage_is_already_low() -> None:
    monitor = MemoryMonitor(threshold_mb=1000, reader=Memory(10), clock=FakeClock())
    log: List[str] = []
    monitor.add_cleanup_action(lambda: log.append("ran"))
    assert monitor.run_cleanup().actions_run == ()
    assert log == []


def test_remove_cleanup_action() -> None:
    monitor = MemoryMonitor(reader=Memory(10))

    def action() -> None:
        pass

    monitor.add_cleanup_action(action)
    monitor.remove_cleanup_action(action)
    assert monitor.cleanup_actions == ()
    with pytest.raises(KeyError):
        monitor.remove_cleanup_action(action)
    with pytest.raises(TypeError):
        monitor.add_cleanup_action(action, priority=1.5)  # type: ignore[arg-type]


def test_a_cleanup_started_during_a_cleanup_is_skipped() -> None:
    memory = Memory(900)
    monitor = MemoryMonitor(threshold_mb=500, reader=memory, clock=FakeClock())
    inner = []
    monitor.add_cleanup_action(lambda: inner.append(monitor.run_cleanup()))
    outer = monitor.run_cleanup()
    assert not outer.skipped
    assert len(inner) == 1 and inner[0].skipped and inner[0].actions_run == ()


def test_poll_cleans_up_only_when_needed_and_respects_its_cooldown() -> None:
    memory = Memory(100)
    clock = FakeClock()
    monitor = MemoryMonitor(threshold_mb=500, limit_mb=1000, reader=memory, clock=clock, cleanup_cooldown_seconds=30)
    log: List[str] = []
    monitor.add_cleanup_action(lambda: log.append("ran"))
    assert monitor.poll() is None
    memory.value = 600  # above the threshold, still OK against the limit
    assert monitor.poll() is not None
    assert log == ["ran"]
    clock.advance(10)
    assert monitor.poll() is None  # inside the cooldown
    clock.advance(30)
    assert monitor.poll() is not None
    assert log == ["ran", "ran"]


# --- the memory limit ---------------------------------------------------------------------


def _write(path: "os.PathLike[str]", text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="ascii") as handle:
        handle.write(text)


def test_cgroup2_limit_is_the_smallest_along_the_path(tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc = tmp_path / "cgroup"
    _write(proc, "0::/a/b\n")
    root = tmp_path / "fs"
    _write(root / "a" / "b" / "memory.max", "314572800\n")
    _write(root / "a" / "memory.max", "209715200\n")
    assert cgroup2_limit(str(root), str(proc)) == 200 * MIB
    _write(root / "a" / "memory.max", "max\n")
    assert cgroup2_limit(str(root), str(proc)) == 300 * MIB
    assert cgroup1_limit(str(root), str(proc)) is None


def test_cgroup2_in_hybrid_mode_and_unreadable_values(tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc = tmp_path / "cgroup"
    _write(proc, "4:memory:/\n0::/\n")
    root = tmp_path / "fs"
    _write(root / "unified" / "memory.max", "104857600")
    assert cgroup2_limit(str(root), str(proc)) == 100 * MIB
    _write(root / "unified" / "memory.max", "garbage")
    assert cgroup2_limit(str(root), str(proc)) is None


def test_cgroup1_limit_ignores_the_unlimited_value(tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc = tmp_path / "cgroup"
    _write(proc, "5:cpu,cpuacct:/x\n4:memory:/docker/abc\n0::/\n")
    root = tmp_path / "fs"
    _write(root / "memory" / "docker" / "abc" / "memory.limit_in_bytes", str(100 * MIB))
    _write(root / "memory" / "memory.limit_in_bytes", "9223372036854771712")
    assert cgroup1_limit(str(root), str(proc)) == 100 * MIB
    # In a container the process's own path is often not mounted: the mount root counts.
    _write(proc, "4:memory:/not/mounted/here\n")
    _write(root / "memory" / "memory.limit_in_bytes", str(64 * MIB))
    assert cgroup1_limit(str(root), str(proc)) == 64 * MIB


def test_auto_limit_is_the_smallest_source(tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc = tmp_path / "cgroup"
    _write(proc, "4:memory:/\n0::/\n")
    root = tmp_path / "fs"
    _write(root / "memory.max", str(300 * MIB))
    _write(root / "memory" / "memory.limit_in_bytes", str(200 * MIB))
    common = {"cgroup_root": str(root), "proc_cgroup": str(proc)}

    limit = detect_memory_limit(8 * 1024 * MIB, rlimit=lambda: None, **common)
    assert (limit.bytes, limit.source) == (200 * MIB, "cgroup1")
    assert dict(limit.candidates) == {"cgroup2": 300 * MIB, "cgroup1": 200 * MIB, "physical": 8 * 1024 * MIB}
    assert detect_memory_limit(8 * 1024 * MIB, rlimit=lambda: 100 * MIB, **common).source == "rlimit_as"
    assert detect_memory_limit(50 * MIB, rlimit=lambda: 100 * MIB, **common).source == "physical"
    empty = tmp_path / "empty"
    nothing = detect_memory_limit(50 * MIB, rlimit=lambda: None, cgroup_root=str(empty), proc_cgroup=str(empty / "x"))
    assert (nothing.bytes, nothing.source) == (50 * MIB, "physical")
    with pytest.raises(ValueError):
        detect_memory_limit(0, **common)


def test_monitor_auto_limit_uses_the_injected_cgroup_root(tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc = tmp_path / "cgroup"
    _write(proc, "0::/\n")
    _write(tmp_path / "fs" / "memory.max", str(256 * MIB))
    monitor = MemoryMonitor(limit_mb="auto", cgroup_root=str(tmp_path / "fs"), proc_cgroup=str(proc))
    assert monitor.limit is not None
    if monitor.limit.source == "rlimit_as":  # pragma: no cover - only under a tiny ulimit -v
        pytest.skip("RLIMIT_AS of this process is below the fake 256 MiB cgroup limit")
    assert monitor.limit_mb == 256
    assert monitor.check_memory()["limit_source"] == "cgroup2"


def test_rlimit_as_reads_the_soft_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    resource = pytest.importorskip("resource", reason="RLIMIT_AS exists only on POSIX")
    monkeypatch.setattr(resource, "getrlimit", lambda which: (512 * MIB, resource.RLIM_INFINITY))
    assert rlimit_as() == 512 * MIB
    monkeypatch.setattr(resource, "getrlimit", lambda which: (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    assert rlimit_as() is None


def test_real_auto_limit_is_positive_and_at_most_physical_memory() -> None:
    monitor = MemoryMonitor(limit_mb="auto")
    assert monitor.limit is not None
    assert 0 < monitor.limit.bytes <= psutil.virtual_memory().total


# --- the real psutil reading --------------------------------------------------------------


def test_real_reading_is_this_process_rss() -> None:
    monitor = MemoryMonitor()
    reading = monitor.check_memory()["memory_mb"]
    rss = psutil.Process().memory_info().rss / MIB
    assert abs(reading - rss) < 32  # same process, a moment apart
    assert reading < psutil.virtual_memory().used / MIB + 1  # not the machine's


def test_real_reading_grows_with_this_process() -> None:
    monitor = MemoryMonitor()
    before = monitor.read_mb()
    block = b"x" * (96 * MIB)  # written, so the pages are resident
    after = monitor.read_mb()
    assert len(block) == 96 * MIB
    assert after - before > 48
    del block


@pytest.mark.skipif(sys.platform == "darwin", reason="USS needs task_for_pid rights on macOS")
def test_uss_on_request() -> None:
    monitor = MemoryMonitor(metric="uss")
    reading = monitor.check_memory()
    assert reading["metric"] == "uss"
    assert 0 < reading["memory_mb"] <= psutil.Process().memory_info().rss / MIB + 32


def test_an_address_space_limit_is_compared_with_the_virtual_size(tmp_path: "os.PathLike[str]") -> None:
    # Issue 16, defect 6: with RLIMIT_AS in force the monitor compared RSS with it and said
    # OK/WARNING while the process was about to hit MemoryError. Run in a child: the limit
    # cannot be raised again once lowered.
    import subprocess
    import textwrap

    code = textwrap.dedent('''
        import json, resource, psutil
        from memlint.runtime import MemoryMonitor
        import memlint.runtime.monitor
        vms = psutil.Process().memory_info().vms
        # A limit 6% above today's virtual size: far below physical memory and any cgroup.
        resource.setrlimit(resource.RLIMIT_AS, (int(vms * 1.06), resource.RLIM_INFINITY))
        monitor = MemoryMonitor(threshold_mb=10_000, limit_mb="auto", cgroup_root="/nonexistent")
        reading = monitor.check_memory()
        vms_now = psutil.Process().memory_info().vms
        print(json.dumps({"source": monitor.limit.source, "reading": reading,
                          "expected": vms_now / monitor.limit.bytes * 100}))
    ''')
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                               env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    assert completed.returncode == 0, completed.stderr
    import json

    result = json.loads(completed.stdout)
    assert result["source"] == "rlimit_as"
    reading = result["reading"]
    # The virtual size is within 6% of the limit: the level says so, whatever the RSS
    # (checked first: the old code's reading had no limit_metric, and its level was low).
    assert reading["level"] == CRITICAL
    assert reading["limit_percent"] == pytest.approx(result["expected"], rel=0.05)
    assert reading["limit_metric"] == "vms"

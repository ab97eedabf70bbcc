"""TaskMemory: unknown ids raise, completed records keep their id, age is measured in UTC."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from memlint.runtime import TaskMemory

START = datetime(2026, 5, 1, 9, 0, tzinfo=timezone.utc)


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def test_lifecycle() -> None:
    clock = FakeClock()
    tasks = TaskMemory(clock=clock)
    tasks.start_task("t1", {"goal": "summarise"})
    tasks.update_task("t1", "progress", 0.5)
    active = tasks.active_tasks
    assert active["t1"]["data"] == {"goal": "summarise"}
    assert active["t1"]["working_memory"] == {"progress": 0.5}
    assert active["t1"]["started_at"] == START.isoformat(timespec="microseconds")
    clock.now = START + timedelta(minutes=5)
    record = tasks.complete_task("t1", result="done")
    assert tasks.active_tasks == {}
    assert record["task_id"] == "t1"
    assert record["result"] == "done"
    assert record["working_memory"] is None
    assert record["completed_at"] == (START + timedelta(minutes=5)).isoformat(timespec="microseconds")
    assert tasks.completed_tasks == [record]


def test_unknown_task_ids_raise_key_error() -> None:
    tasks = TaskMemory()
    with pytest.raises(KeyError, match="no active task 'ghost'"):
        tasks.update_task("ghost", "k", "v")
    with pytest.raises(KeyError):
        tasks.complete_task("ghost", None)
    with pytest.raises(KeyError):
        tasks.get_task("ghost")
    tasks.start_task("t", {})
    tasks.complete_task("t", 1)
    with pytest.raises(KeyError):
        tasks.complete_task("t", 2)  # completing twice is an error, not a silent no-op
    with pytest.raises(KeyError):
        tasks.update_task("t", "late", True)
    assert len(tasks.completed_tasks) == 1


def test_starting_an_active_task_again_is_refused() -> None:
    tasks = TaskMemory()
    tasks.start_task("t", {"v": 1})
    with pytest.raises(ValueError, match="already active"):
        tasks.start_task("t", {"v": 2})
    assert tasks.get_task("t")["data"] == {"v": 1}


def test_cleanup_old_completed_uses_the_clock() -> None:
    clock = FakeClock()
    tasks = TaskMemory(clock=clock)
    for name, hours in (("old", 0), ("recent", 10)):
        clock.now = START + timedelta(hours=hours)
        tasks.start_task(name, {})
        tasks.complete_task(name, name)
    clock.now = START + timedelta(hours=30)
    assert tasks.cleanup_old_completed(max_age_hours=24) == 1
    assert [task["task_id"] for task in tasks.completed_tasks] == ["recent"]
    assert tasks.cleanup_old_completed() == 0
    assert tasks.cleanup_old_completed(max_age_hours=0) == 1
    assert tasks.completed_tasks == []


def test_timestamps_are_converted_to_utc() -> None:
    tokyo = timezone(timedelta(hours=9))
    tasks = TaskMemory(clock=lambda: datetime(2026, 5, 1, 18, 0, tzinfo=tokyo))
    tasks.start_task("t", {})
    started = datetime.fromisoformat(tasks.get_task("t")["started_at"])
    assert started.utcoffset() == timedelta(0)
    assert started == START
    naive = TaskMemory(clock=lambda: datetime(2026, 5, 1))
    with pytest.raises(ValueError, match="naive"):
        naive.start_task("t", {})


def test_bad_arguments_are_refused() -> None:
    tasks = TaskMemory()
    with pytest.raises(ValueError):
        tasks.start_task("", {})
    with pytest.raises(TypeError):
        tasks.start_task("t", ["not", "a", "mapping"])  # type: ignore[arg-type]
    for bad in (-1, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            tasks.cleanup_old_completed(bad)
    with pytest.raises(TypeError):
        tasks.cleanup_old_completed("24")  # type: ignore[arg-type]


def test_returned_records_are_copies() -> None:
    tasks = TaskMemory()
    tasks.start_task("t", {"goal": "x"})
    tasks.active_tasks["t"]["working_memory"]["sneaky"] = 1
    tasks.get_task("t")["data"]["goal"] = "y"
    record = tasks.get_task("t")
    assert record["working_memory"] == {}
    assert record["data"] == {"goal": "x"}

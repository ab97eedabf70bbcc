"""memory_context, async_memory_context and MemoryManager."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any, List

import pytest

from memlint.runtime import MemoryManager, MemoryMonitor, WorkingMemory, async_memory_context, memory_context
from memlint.runtime.context import MemoryContextManager


class RecordingManager:
    def __init__(self, fail_pop: bool = False) -> None:
        self.calls: List[str] = []
        self.fail_pop = fail_pop

    def push_context(self, name: str) -> None:
        self.calls.append(f"push {name}")

    def pop_context(self) -> None:
        self.calls.append("pop")
        if self.fail_pop:
            raise RuntimeError("pop failed")

    def cleanup_if_needed(self) -> None:
        self.calls.append("cleanup")


class AsyncManager(RecordingManager):
    async def push_context(self, name: str) -> None:  # type: ignore[override]
        await asyncio.sleep(0)
        self.calls.append(f"push {name}")

    async def cleanup_if_needed(self) -> None:  # type: ignore[override]
        await asyncio.sleep(0)
        self.calls.append("cleanup")


def test_memory_context_pushes_pops_and_cleans_up() -> None:
    manager = RecordingManager()
    with memory_context(manager, "task") as mem:
        assert mem is manager
        manager.calls.append("body")
    assert manager.calls == ["push task", "body", "pop", "cleanup"]


def test_memory_context_cleans_up_on_error() -> None:
    manager = RecordingManager()
    with pytest.raises(ValueError):
        with memory_context(manager, "task"):
            raise ValueError("boom")
    assert manager.calls == ["push task", "pop", "cleanup"]


def test_cleanup_runs_even_if_pop_fails() -> None:
    manager = RecordingManager(fail_pop=True)
    with pytest.raises(RuntimeError, match="pop failed"):
        with memory_context(manager, "task"):
            pass
    assert manager.calls == ["push task", "pop", "cleanup"]


def test_no_pop_when_push_fails() -> None:
    class Refusing(RecordingManager):
        def push_context(self, name: str) -> None:
            raise ValueError("no")

    manager = Refusing()
    with pytest.raises(ValueError):
        with memory_context(manager, "task"):
            pass  # pragma: no cover - never entered
    assert manager.calls == []


@pytest.mark.parametrize("manager_class", [RecordingManager, AsyncManager])
def test_async_memory_context(manager_class: Any) -> None:
    manager = manager_class()

    async def main() -> None:
        with pytest.raises(KeyError):
            async with async_memory_context(manager, "job") as mem:
                assert mem is manager
                manager.calls.append("body")
                raise KeyError("x")

    asyncio.run(main())
    assert manager.calls == ["push job", "body", "pop", "cleanup"]


def test_memory_manager_implements_the_protocol() -> None:
    assert isinstance(MemoryManager(), MemoryContextManager)
    assert isinstance(RecordingManager(), MemoryContextManager)
    assert not isinstance(object(), MemoryContextManager)


def test_store_is_scoped_to_the_context() -> None:
    manager = MemoryManager(monitor=MemoryMonitor(reader=lambda: 1.0))
    with memory_context(manager, "outer") as mem:
        mem.store("shared", "outer value")
        mem.store("only_outer", 1)
        with memory_context(manager, "inner"):
            assert manager.contexts == ("outer", "inner")
            assert manager.current_context == "inner"
            mem.store("shared", "inner value")
            assert mem.get("shared") == "inner value"
            assert mem.get("only_outer") == 1
        assert mem.get("shared") == "outer value"
    assert manager.contexts == () and manager.current_context is None
    assert manager.get("shared", "gone") == "gone"


def test_misuse_is_an_error() -> None:
    manager = MemoryManager(monitor=MemoryMonitor(reader=lambda: 1.0))
    with pytest.raises(RuntimeError, match="active context"):
        manager.store("k", "v")
    with pytest.raises(RuntimeError, match="no active context"):
        manager.pop_context()
    with pytest.raises(ValueError):
        manager.push_context("")


def test_popping_clears_working_temp_data() -> None:
    working = WorkingMemory()
    manager = MemoryManager(monitor=MemoryMonitor(reader=lambda: 1.0), working=working)
    with memory_context(manager, "step"):
        working.temp_data["scratch"] = "x"
        working.task_context["keep"] = "y"
    assert len(working.temp_data) == 0
    assert working.task_context["keep"] == "y"


def test_cleanup_if_needed_asks_the_monitor() -> None:
    usage = {"mb": 100.0}
    monitor = MemoryMonitor(threshold_mb=500, reader=lambda: usage["mb"], cleanup_cooldown_seconds=0)
    ran: List[str] = []

    def shrink() -> None:
        ran.append("shrink")
        usage["mb"] = 50.0

    monitor.add_cleanup_action(shrink)
    manager = MemoryManager(monitor=monitor)
    assert manager.cleanup_if_needed() is False
    usage["mb"] = 600.0
    with memory_context(manager, "big"):
        pass
    assert ran == ["shrink"]
    assert manager.cleanup_if_needed() is False


def test_default_monitor_is_created_on_first_use() -> None:
    manager = MemoryManager()
    assert isinstance(manager.monitor, MemoryMonitor)
    assert manager.monitor is manager.monitor
    assert manager.monitor.threshold_mb == 500


def test_only_the_monitor_imports_psutil() -> None:
    code = (
        "import sys\n"
        "import memlint.runtime.context, memlint.runtime.working\n"
        "import memlint.runtime.conversation, memlint.runtime.task\n"
        "from memlint.runtime import MemoryManager, memory_context\n"
        "with memory_context(MemoryManager(monitor=None), 'x') as mem:\n"
        "    mem.store('k', 'v')\n"
        "    assert 'psutil' not in sys.modules, 'imported before any measurement'\n"
        "import memlint.runtime.monitor\n"
        "assert 'psutil' in sys.modules\n"
    )
    # A fresh interpreter: this one has long imported psutil through other tests.
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr

"""MEM-004: scoped memory contexts, and a manager that implements the protocol they use.

``memory_context(manager, name)`` (and ``async_memory_context``) pushes a named context,
yields the manager, and in ``finally`` pops it and then runs ``cleanup_if_needed()``, the
latter even if popping raised. Any object with ``push_context(name)``, ``pop_context()`` and
``cleanup_if_needed()`` is a manager; with the async version each may also be a coroutine
function.

``MemoryManager`` is the runtime's manager: values ``store``-d inside a context live until
that context is popped, and ``cleanup_if_needed()`` asks a ``MemoryMonitor`` whether to run
its cleanup actions.
"""

from __future__ import annotations

import inspect
import threading
from contextlib import asynccontextmanager, contextmanager
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncIterator,
    Dict,
    Iterator,
    List,
    Optional,
    Protocol,
    Tuple,
    TypeVar,
    runtime_checkable,
)

if TYPE_CHECKING:  # pragma: no cover - the monitor (and psutil) load only when needed
    from memlint.runtime.monitor import CleanupReport, MemoryMonitor
    from memlint.runtime.working import WorkingMemory

__all__ = ["MemoryContextManager", "MemoryManager", "async_memory_context", "memory_context"]

@runtime_checkable
class MemoryContextManager(Protocol):
    """What ``memory_context`` needs from a manager."""

    def push_context(self, name: str) -> Any: ...

    def pop_context(self) -> Any: ...

    def cleanup_if_needed(self) -> Any: ...


M = TypeVar("M", bound=MemoryContextManager)


@contextmanager
def memory_context(memory_manager: M, context_name: str) -> Iterator[M]:
    """Push ``context_name`` on ``memory_manager`` for the block; pop it and clean up after."""
    memory_manager.push_context(context_name)
    try:
        yield memory_manager
    finally:
        try:
            memory_manager.pop_context()
        finally:
            memory_manager.cleanup_if_needed()


async def _settle(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


@asynccontextmanager
async def async_memory_context(memory_manager: M, context_name: str) -> AsyncIterator[M]:
    """The async twin of ``memory_context``; the manager's methods may be sync or async."""
    await _settle(memory_manager.push_context(context_name))
    try:
        yield memory_manager
    finally:
        try:
            await _settle(memory_manager.pop_context())
        finally:
            await _settle(memory_manager.cleanup_if_needed())


class MemoryManager:
    """A stack of named contexts with scoped storage, cleaned up through a ``MemoryMonitor``.

    ``monitor``: the monitor that decides whether cleanup is needed; a default
    ``MemoryMonitor()`` (threshold 500 MiB) is created on first use when none is given.
    ``working``: an optional ``WorkingMemory`` whose temporary data is cleared whenever a
    context is popped (the document's "on context switch" cleanup trigger).
    Thread-safe; a context stack is shared by all threads that use the manager.
    """

    def __init__(self, monitor: Optional["MemoryMonitor"] = None, working: Optional["WorkingMemory"] = None) -> None:
        self._monitor = monitor
        self.working = working
        self._lock = threading.RLock()
        self._stack: List[Tuple[str, Dict[str, Any]]] = []

    @property
    def monitor(self) -> "MemoryMonitor":
        with self._lock:
            if self._monitor is None:
                from memlint.runtime.monitor import MemoryMonitor

                self._monitor = MemoryMonitor()
            return self._monitor

    def push_context(self, name: str) -> None:
        """Enter a new innermost context called ``name``."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"context name must be a non-empty str, not {name!r}")
        with self._lock:
            self._stack.append((name, {}))

    def pop_context(self) -> str:
        """Leave the innermost context, dropping what was stored in it; return its name."""
        with self._lock:
            if not self._stack:
                raise RuntimeError("pop_context() called with no active context")
            name, _values = self._stack.pop()
        if self.working is not None:
            self.working.clear_temp()
        return name

    @property
    def current_context(self) -> Optional[str]:
        with self._lock:
            return self._stack[-1][0] if self._stack else None

    @property
    def contexts(self) -> Tuple[str, ...]:
        """The active context names, outermost first."""
        with self._lock:
            return tuple(name for name, _ in self._stack)

    def store(self, key: str, value: Any) -> None:
        """Store ``value`` in the innermost context; ``RuntimeError`` outside any context."""
        with self._lock:
            if not self._stack:
                raise RuntimeError("store() needs an active context; use memory_context(manager, name)")
            self._stack[-1][1][key] = value

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key`` from the innermost context that has it, else ``default``."""
        with self._lock:
            for _, values in reversed(self._stack):
                if key in values:
                    return values[key]
        return default

    def cleanup_if_needed(self) -> bool:
        """Let the monitor measure and, if usage is high, clean up; whether cleanup ran."""
        return self.monitor.poll() is not None

    def cleanup_old_data(self) -> "CleanupReport":
        """Run the monitor's cleanup actions now, ignoring its cooldown (MEM-002's example).

        As always, actions stop once usage is under the monitor's target.
        """
        return self.monitor.run_cleanup()

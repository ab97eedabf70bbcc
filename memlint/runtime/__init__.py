"""memlint's reference runtime: correct, importable implementations of the rules document.

``from memlint.runtime import LongTermMemory`` and friends. The linter never imports this
package. Names resolve lazily, so importing one class does not import the others (and
only the monitor needs psutil).
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

# A library must not print through the root logger's last-resort handler ("No handlers
# could be found", or WARNINGs on stderr) unless the application configures logging.
logging.getLogger(__name__).addHandler(logging.NullHandler())

if TYPE_CHECKING:  # pragma: no cover
    from memlint.runtime.archive import MemoryArchiver
    from memlint.runtime.context import MemoryManager, async_memory_context, memory_context
    from memlint.runtime.conversation import ConversationMemory
    from memlint.runtime.index import LongTermMemoryIndex
    from memlint.runtime.longterm import LongTermMemory
    from memlint.runtime.monitor import MemoryAlerts, MemoryMonitor
    from memlint.runtime.shortterm import ShortTermMemory
    from memlint.runtime.task import TaskMemory
    from memlint.runtime.working import WorkingMemory

_LAZY = {
    "LongTermMemory": "memlint.runtime.longterm",
    "MemoryArchiver": "memlint.runtime.archive",
    "LongTermMemoryIndex": "memlint.runtime.index",
    "MemoryMonitor": "memlint.runtime.monitor",
    "MemoryAlerts": "memlint.runtime.monitor",
    "WorkingMemory": "memlint.runtime.working",
    "ConversationMemory": "memlint.runtime.conversation",
    "TaskMemory": "memlint.runtime.task",
    "ShortTermMemory": "memlint.runtime.shortterm",
    "MemoryManager": "memlint.runtime.context",
    "memory_context": "memlint.runtime.context",
    "async_memory_context": "memlint.runtime.context",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'memlint.runtime' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(__all__))

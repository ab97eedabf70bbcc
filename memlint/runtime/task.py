"""Task memory (the rules document's Pattern 2), without its silent failures.

An unknown task id raises ``KeyError`` (the document's version ignored it), starting a task
that is already active raises ``ValueError`` (it overwrote it), completed records keep
their ``task_id``, and every timestamp is an aware UTC ISO 8601 string from an injectable
clock, so ``cleanup_old_completed`` compares like with like.
"""

from __future__ import annotations

import math
import threading
from datetime import timedelta
from typing import Any, Dict, List, Mapping, Optional

from memlint.runtime._utc import Clock, iso_utc, now_utc, parse_utc, resolve_clock

__all__ = ["TaskMemory"]


class TaskMemory:
    """Active tasks with their working memory, and completed tasks until they age out.

    A task record is a dict: ``task_id``, ``data``, ``started_at``, ``working_memory``;
    completed ones add ``completed_at`` and ``result`` and have ``working_memory`` set to
    ``None`` (it is released on completion). The properties return copies.
    """

    def __init__(self, clock: Optional[Clock] = None) -> None:
        self._clock = resolve_clock(clock)
        self._lock = threading.Lock()
        self._active: Dict[str, Dict[str, Any]] = {}
        self._completed: List[Dict[str, Any]] = []

    @staticmethod
    def _check_id(task_id: str) -> str:
        if not isinstance(task_id, str) or not task_id:
            raise ValueError(f"task_id must be a non-empty str, not {task_id!r}")
        return task_id

    def start_task(self, task_id: str, task_data: Mapping[str, Any]) -> None:
        """Start tracking a task; ``ValueError`` if a task with this id is already active."""
        self._check_id(task_id)
        if not isinstance(task_data, Mapping):
            raise TypeError(f"task_data must be a mapping, not {type(task_data).__name__}")
        started_at = iso_utc(now_utc(self._clock))
        with self._lock:
            if task_id in self._active:
                raise ValueError(f"task {task_id!r} is already active; complete it first")
            self._active[task_id] = {
                "task_id": task_id,
                "data": dict(task_data),
                "started_at": started_at,
                "working_memory": {},
            }

    @staticmethod
    def _copy(task: Dict[str, Any]) -> Dict[str, Any]:
        # One level deeper than the record, so that callers cannot reach the stored dicts;
        # the values themselves are shared (they may well not be copyable).
        record = dict(task)
        for key in ("data", "working_memory"):
            if isinstance(record.get(key), dict):
                record[key] = dict(record[key])
        return record

    def _active_task(self, task_id: str) -> Dict[str, Any]:
        try:
            return self._active[task_id]
        except KeyError:
            raise KeyError(f"no active task {task_id!r}") from None

    def update_task(self, task_id: str, key: str, value: Any) -> None:
        """Set ``key`` in the task's working memory; ``KeyError`` if the task is not active."""
        with self._lock:
            self._active_task(task_id)["working_memory"][key] = value

    def get_task(self, task_id: str) -> Dict[str, Any]:
        """A copy of the active task's record; ``KeyError`` if the task is not active."""
        with self._lock:
            return self._copy(self._active_task(task_id))

    def complete_task(self, task_id: str, result: Any) -> Dict[str, Any]:
        """Move the task to the completed list, dropping its working memory; return the record.

        ``KeyError`` if the task is not active (never started, or already completed).
        """
        completed_at = iso_utc(now_utc(self._clock))
        with self._lock:
            task = self._active_task(task_id)
            del self._active[task_id]
            task["completed_at"] = completed_at
            task["result"] = result
            task["working_memory"] = None
            self._completed.append(task)
            return self._copy(task)

    @property
    def active_tasks(self) -> Dict[str, Dict[str, Any]]:
        """Active tasks by id (copies of the records)."""
        with self._lock:
            return {task_id: self._copy(task) for task_id, task in self._active.items()}

    @property
    def completed_tasks(self) -> List[Dict[str, Any]]:
        """Completed tasks, oldest completion first (copies of the records)."""
        with self._lock:
            return [self._copy(task) for task in self._completed]

    def cleanup_old_completed(self, max_age_hours: float = 24) -> int:
        """Forget completed tasks older than ``max_age_hours``; return how many were removed."""
        if isinstance(max_age_hours, bool) or not isinstance(max_age_hours, (int, float)):
            raise TypeError(f"max_age_hours must be a number, not {max_age_hours!r}")
        if not math.isfinite(max_age_hours) or max_age_hours < 0:
            raise ValueError(f"max_age_hours must be a finite number >= 0, not {max_age_hours!r}")
        cutoff = now_utc(self._clock) - timedelta(hours=max_age_hours)
        with self._lock:
            kept = [task for task in self._completed if parse_utc(task["completed_at"]) > cutoff]
            removed = len(self._completed) - len(kept)
            self._completed = kept
        return removed

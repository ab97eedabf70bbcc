"""``ShortTermMemory``: a task workspace whose temporary files never outlive it (MEM-003).

The rules document's MEM-003 example, as a class you can use: ``context``, ``temp_files``,
``process_task(task_data)``, ``_create_temp_file()``, ``_process(task_data, temp_file)``
and ``_cleanup_temp_files()`` keep their names and meaning. What the example leaves to
chance is fixed:

- temporary files are created in a private directory (``tempfile.mkdtemp``) with
  ``mkstemp`` (no name races, mode 0600), and the descriptor is closed at once;
- ``process_task`` removes its files on every path: success, an exception, and
  ``KeyboardInterrupt``/``SystemExit`` too (``finally``, not ``except Exception``);
- ``close()`` (or ``with``) removes every file still tracked and the directory itself;
  if neither happens, a ``weakref.finalize`` removes the directory when the object is
  collected or the interpreter exits, so nothing is left behind on any path;
- a file that cannot be removed is logged (WARNING) and the others are still removed;
- ``_process`` is the hook the document leaves undefined: override it, or pass
  ``processor=`` (a callable taking ``(task_data, temp_file)``).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import weakref
from typing import Any, Callable, Dict, List, Optional

__all__ = ["ShortTermMemory"]

logger = logging.getLogger(__name__)

Processor = Callable[[Any, str], Any]


class ShortTermMemory:
    """Working state for tasks (``context``) and temporary files removed on every path.

    ``temp_dir``: where the private directory is created (default: the system's temp
    directory). ``processor``: what ``process_task`` runs, ``processor(task_data,
    temp_file)``, unless a subclass overrides ``_process``.
    """

    def __init__(self, *, temp_dir: Optional[str] = None, processor: Optional[Processor] = None) -> None:
        if processor is not None and not callable(processor):
            raise TypeError(f"processor must be callable, not {type(processor).__name__}")
        self.context: Dict[str, Any] = {}
        self.temp_files: List[str] = []
        self._processor = processor
        self._lock = threading.RLock()
        self._directory: Optional[str] = tempfile.mkdtemp(prefix="memlint-stm-", dir=temp_dir)
        # The safety net for an object that is never closed: the directory goes with it.
        self._finalizer = weakref.finalize(self, shutil.rmtree, self._directory, True)

    @property
    def directory(self) -> str:
        """The private directory holding this memory's temporary files."""
        if self._directory is None:
            raise ValueError("this ShortTermMemory is closed")
        return self._directory

    def process_task(self, task_data: Any) -> Any:
        """Run ``_process(task_data, temp_file)`` with a fresh temporary file; remove the
        task's files whatever happens, and let any error propagate."""
        temp_file = None
        try:
            # Tracked in self.temp_files by _create_temp_file and removed by the
            # _cleanup_temp_files() below; the linter does not follow that list.
            temp_file = self._create_temp_file()  # noqa: MEM001
            return self._process(task_data, temp_file)
        except Exception as error:
            logger.error("task processing failed: %s", error)
            raise
        finally:
            # Always clean up, even on error or interruption.
            self._cleanup_temp_files()

    def temp_file(self, suffix: str = "") -> str:
        """A new empty temporary file (a path), tracked until the next cleanup."""
        return self._create_temp_file(suffix)

    def _create_temp_file(self, suffix: str = "") -> str:
        with self._lock:
            descriptor, path = tempfile.mkstemp(suffix=suffix, dir=self.directory)
            os.close(descriptor)
            self.temp_files.append(path)
            return path

    def _process(self, task_data: Any, temp_file: str) -> Any:
        if self._processor is None:
            raise NotImplementedError("pass processor= or override _process(task_data, temp_file)")
        return self._processor(task_data, temp_file)

    def _cleanup_temp_files(self) -> None:
        """Remove every tracked file; one that cannot be removed is logged, not fatal."""
        with self._lock:
            for temp_file in self.temp_files:
                try:
                    if temp_file and os.path.exists(temp_file):
                        os.remove(temp_file)
                except OSError as error:
                    logger.warning("failed to remove temporary file %s: %s", temp_file, error)
            self.temp_files.clear()

    def close(self) -> None:
        """Remove the tracked files, the private directory, and forget the context. Idempotent."""
        self._cleanup_temp_files()
        with self._lock:
            self.context.clear()
            self._directory = None
        self._finalizer()  # removes the directory (and anything else put there) now

    def __enter__(self) -> "ShortTermMemory":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._directory is None else self._directory
        return f"ShortTermMemory({len(self.temp_files)} temporary files, {state})"

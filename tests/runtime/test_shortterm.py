"""ShortTermMemory: the rules' MEM-003 example as a workspace that always cleans up."""

from __future__ import annotations

import gc
import logging
import os
from pathlib import Path
from typing import Any, List

import pytest

from memlint.runtime import ShortTermMemory


def test_process_task_removes_its_file_on_success(tmp_path: Path) -> None:
    seen: List[str] = []

    def work(task: Any, temp_file: str) -> str:
        seen.append(temp_file)
        Path(temp_file).write_text(task)
        assert os.path.exists(temp_file)
        return task.upper()

    with ShortTermMemory(temp_dir=str(tmp_path), processor=work) as memory:
        assert memory.process_task("abc") == "ABC"
        assert not os.path.exists(seen[0])
        assert memory.temp_files == []


@pytest.mark.parametrize("error", [ValueError("bad task"), KeyboardInterrupt()])
def test_process_task_removes_its_file_when_it_fails(tmp_path: Path, error: BaseException) -> None:
    seen: List[str] = []

    def work(task: Any, temp_file: str) -> None:
        seen.append(temp_file)
        raise error

    memory = ShortTermMemory(temp_dir=str(tmp_path), processor=work)
    with pytest.raises(type(error)):
        memory.process_task({"x": 1})
    assert not os.path.exists(seen[0]), "removed on the error path too"
    memory.close()


def test_subclass_overrides_process_as_in_the_document(tmp_path: Path) -> None:
    class Summing(ShortTermMemory):
        def _process(self, task_data: Any, temp_file: str) -> int:
            Path(temp_file).write_text(str(sum(task_data)))
            return int(Path(temp_file).read_text())

    with Summing(temp_dir=str(tmp_path)) as memory:
        assert memory.process_task([1, 2, 3]) == 6
    with ShortTermMemory(temp_dir=str(tmp_path)) as plain, pytest.raises(NotImplementedError):
        plain.process_task(1)


def test_close_removes_tracked_files_and_the_directory(tmp_path: Path) -> None:
    with ShortTermMemory(temp_dir=str(tmp_path)) as memory:
        directory = memory.directory
        extra = memory.temp_file(suffix=".json")
        Path(directory, "stray").write_text("left by a caller")
        memory.context["k"] = "v"
        assert os.path.exists(extra)
    assert not os.path.exists(extra)
    assert not os.path.exists(directory)
    assert memory.context == {}
    memory.close()  # idempotent
    with pytest.raises(ValueError):
        memory.temp_file()


def test_an_unclosed_memory_leaves_nothing_when_collected(tmp_path: Path) -> None:
    memory = ShortTermMemory(temp_dir=str(tmp_path))
    memory.temp_file()
    directory = memory.directory
    del memory
    gc.collect()
    assert not os.path.exists(directory)
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_cannot_be_removed_is_logged_and_the_rest_go(tmp_path: Path, caplog: Any,
                                                                  monkeypatch: Any) -> None:
    memory = ShortTermMemory(temp_dir=str(tmp_path))
    first, second = memory.temp_file(), memory.temp_file()
    real_remove = os.remove

    def refuse_first(path: str) -> None:
        if path == first:
            raise PermissionError("busy")
        real_remove(path)

    monkeypatch.setattr(os, "remove", refuse_first)
    with caplog.at_level(logging.WARNING, logger="memlint.runtime.shortterm"):
        memory._cleanup_temp_files()
    assert not os.path.exists(second)
    assert any(first in record.getMessage() for record in caplog.records)
    monkeypatch.undo()
    memory.close()
    assert not os.path.exists(first)


def test_bad_processor() -> None:
    with pytest.raises(TypeError):
        ShortTermMemory(processor="not callable")  # type: ignore[arg-type]

"""The long-term memory examples of docs/runtime.md run (the PostgreSQL one needs a server:
it is checked to name the API the other examples use)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[2] / "docs" / "runtime.md"
PART_TWO = "<!-- section: runtime monitoring and working memory (runtime part 2) -->"


def test_long_term_examples_run(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)  # the examples write agent-memory.sqlite3 and ./memory_archive
    section = DOC.read_text(encoding="utf-8").split(PART_TWO, 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    runnable = [block for block in blocks if "postgresql://" not in block]
    assert len(runnable) >= 2 and len(blocks) == len(runnable) + 1
    for number, block in enumerate(runnable):
        exec(compile(block, f"docs/runtime.md long-term example {number}", "exec"), {"__name__": "doc_example"})
    assert (tmp_path / "agent-memory.sqlite3").is_file()

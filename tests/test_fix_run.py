"""`memlint.fixes.run`: which files of a run get fixed, and which findings are left."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, List, NamedTuple

import pytest

import memlint
from memlint.diagnostics import Finding
from memlint.fixes.run import files_to_fix, fix_files

LEAKY = "def load(p):\n    f = open(p)\n    data = f.read()\n    f.close()\n    return data\n"
UNFIXABLE = "import os\n\n\ndef raw(p):\n    fd = os.open(p, os.O_RDONLY)\n    return os.read(fd, 10)\n"


class Source(NamedTuple):
    path: str
    display: str


def _checker(path: str, display: str) -> Callable[[str], List[Finding]]:
    return lambda text: memlint.check_source(text, display)


def _setup(tmp_path: Path) -> List[Source]:
    (tmp_path / "leaky.py").write_text(LEAKY, encoding="utf-8")
    (tmp_path / "unfixable.py").write_text(UNFIXABLE, encoding="utf-8")
    (tmp_path / "broken.py").write_text(LEAKY + "def (:\n", encoding="utf-8")
    return [Source(str(tmp_path / name), name) for name in ("broken.py", "leaky.py", "unfixable.py")]


def _findings(sources: List[Source]) -> List[Finding]:
    found: List[Finding] = []
    for source in sources:
        found.extend(memlint.check_source(Path(source.path).read_text(encoding="utf-8"), source.display))
    return found


def test_only_files_with_fixable_findings_and_no_parse_error_are_fixed(tmp_path: Path) -> None:
    sources = _setup(tmp_path)
    findings = _findings(sources)
    assert files_to_fix(findings) == {"leaky.py", "unfixable.py"}
    run = fix_files(sources, findings, _checker)
    assert [item.display for item in run.changed] == ["leaky.py"]
    assert "with open(p) as f:" in (tmp_path / "leaky.py").read_text(encoding="utf-8")
    assert (tmp_path / "broken.py").read_text(encoding="utf-8").endswith("def (:\n")
    assert run.fixed_count == 1
    assert sorted({(f.path, f.code) for f in run.findings}) == [("broken.py", "MEM000"), ("unfixable.py", "MEM001")]


def test_diff_mode_writes_nothing(tmp_path: Path) -> None:
    sources = _setup(tmp_path)
    run = fix_files(sources, _findings(sources), _checker, write=False)
    assert (tmp_path / "leaky.py").read_text(encoding="utf-8") == LEAKY
    assert run.diff().startswith("--- a/leaky.py\n+++ b/leaky.py\n")


def test_a_file_that_cannot_be_written_is_reported_and_left(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = _setup(tmp_path)
    findings = _findings(sources)

    def refuse(source: str, destination: str) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    run = fix_files(sources, findings, _checker)
    assert run.errors == ["leaky.py: Permission denied"]
    assert (tmp_path / "leaky.py").read_text(encoding="utf-8") == LEAKY
    assert any(f.path == "leaky.py" for f in run.findings)

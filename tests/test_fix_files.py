"""Fixing files on disk: atomic writes that keep mode bits, encoding, BOM and line endings."""

from __future__ import annotations

import codecs
import os
import stat
from pathlib import Path
from typing import List

import pytest

import memlint
from memlint.diagnostics import Finding
from memlint.fixes.files import fix_file

LEAKY = "def load(p):\n    f = open(p)\n    data = f.read()\n    f.close()\n    return data\n"
FIXED = "def load(p):\n    with open(p) as f:\n        data = f.read()\n    return data\n"


def _check(text: str) -> List[Finding]:
    return memlint.check_source(text, "module.py")


def test_fix_writes_the_fixed_text_and_keeps_mode_bits(tmp_path: Path) -> None:
    target = tmp_path / "module.py"
    target.write_text(LEAKY, encoding="utf-8")
    os.chmod(target, 0o640)
    result = fix_file(str(target), "module.py", _check)
    assert result is not None and result.changed
    assert target.read_text(encoding="utf-8") == FIXED
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["module.py"], "a temporary file was left behind"


def test_without_write_nothing_changes_on_disk_and_the_diff_shows_it(tmp_path: Path) -> None:
    target = tmp_path / "module.py"
    target.write_text(LEAKY, encoding="utf-8")
    result = fix_file(str(target), "pkg/module.py", _check, write=False)
    assert result is not None and result.changed
    assert target.read_text(encoding="utf-8") == LEAKY
    diff = result.diff()
    assert diff.startswith("--- a/pkg/module.py\n+++ b/pkg/module.py\n@@ ")
    assert "-    f = open(p)\n" in diff and "+    with open(p) as f:\n" in diff


def test_encoding_cookie_bom_and_crlf_are_kept(tmp_path: Path) -> None:
    latin = tmp_path / "latin.py"
    latin.write_bytes(("# -*- coding: latin-1 -*-\n" + LEAKY.replace("data = f.read()", "data = f.read() + 'é'")).encode("latin-1"))
    fix_file(str(latin), "latin.py", _check)
    assert "é" in latin.read_bytes().decode("latin-1") and b"with open(p) as f:" in latin.read_bytes()

    bom = tmp_path / "bom.py"
    bom.write_bytes(codecs.BOM_UTF8 + LEAKY.replace("\n", "\r\n").encode("utf-8"))
    fix_file(str(bom), "bom.py", _check)
    assert bom.read_bytes() == codecs.BOM_UTF8 + FIXED.replace("\n", "\r\n").encode("utf-8")


def test_file_with_syntax_error_is_left_untouched(tmp_path: Path) -> None:
    target = tmp_path / "broken.py"
    source = LEAKY + "def broken(:\n"
    target.write_text(source, encoding="utf-8")
    before = target.stat().st_mtime_ns
    result = fix_file(str(target), "broken.py", _check)
    assert result is not None and not result.changed
    assert target.read_text(encoding="utf-8") == source and target.stat().st_mtime_ns == before


def test_undecodable_file_is_left_untouched(tmp_path: Path) -> None:
    target = tmp_path / "bad.py"
    target.write_bytes(b"x = '\xff\xfe'\n")
    assert fix_file(str(target), "bad.py", _check) is None
    assert target.read_bytes() == b"x = '\xff\xfe'\n"


def test_failed_rename_keeps_the_original_and_leaves_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "module.py"
    target.write_text(LEAKY, encoding="utf-8")

    def refuse(source: str, destination: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError):
        fix_file(str(target), "module.py", _check)
    assert target.read_text(encoding="utf-8") == LEAKY
    assert [p.name for p in tmp_path.iterdir()] == ["module.py"]


def test_fix_on_a_symlink_writes_through_to_its_target(tmp_path: Path) -> None:
    target = tmp_path / "real.py"
    target.write_text(LEAKY, encoding="utf-8")
    link = tmp_path / "link.py"
    link.symlink_to(target)
    result = fix_file(str(link), "link.py", _check)
    assert result is not None and result.changed
    assert link.is_symlink(), "the link was replaced by a regular file"
    assert target.read_text(encoding="utf-8") == FIXED


def test_findings_of_the_checked_text_spare_the_first_check(tmp_path: Path) -> None:
    target = tmp_path / "module.py"
    target.write_text(LEAKY, encoding="utf-8")
    texts: List[str] = []

    def counting(text: str) -> List[Finding]:
        texts.append(text)
        return _check(text)

    result = fix_file(str(target), "module.py", counting, checked=(LEAKY, _check(LEAKY)))
    assert result is not None and result.outcome.text == FIXED
    assert texts == [FIXED], "the text the run had already checked was checked again"
    # A text that changed since it was checked is checked afresh.
    target.write_text(LEAKY, encoding="utf-8")
    texts.clear()
    fix_file(str(target), "module.py", counting, checked=(LEAKY + "\n", _check(LEAKY)))
    assert texts == [LEAKY, FIXED]

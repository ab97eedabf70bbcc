"""The library API behind the command line: ``check_source`` and ``check_paths``."""

from __future__ import annotations

import sys

import pytest

import memlint
from memlint.config import Config, ConfigError
from memlint.diagnostics import Finding

from conftest import write_tree

BROKEN = "def f(:\n    pass\n"
PY = "%d.%d" % sys.version_info[:2]


def test_check_source_reports_with_the_given_path(capsys):
    findings = memlint.check_source(BROKEN, path="pkg/mod.py")
    assert findings == [Finding("pkg/mod.py", 1, 7, 1, 7, "MEM000", f"SyntaxError: invalid syntax (parsed as Python {PY})")]
    assert memlint.check_source("x = 1\n") == []
    assert capsys.readouterr() == ("", "")


def test_check_source_accepts_bytes_with_a_cookie():
    source = "# -*- coding: latin-1 -*-\ns = 'café'\nx = 1  # noqa: MEM000\n".encode("latin-1")
    findings = memlint.check_source(source, config={"extend-select": ["MEM100"]})
    assert [(f.line, f.code) for f in findings] == [(3, "MEM100")]


def test_check_source_config_forms():
    source = "x = 1  # noqa: MEM000\n"
    assert memlint.check_source(source) == []
    assert [f.code for f in memlint.check_source(source, config=Config(extend_select=("MEM100",)))] == ["MEM100"]
    assert [f.code for f in memlint.check_source(source, config={"select": ["ALL"]})] == ["MEM100"]
    with pytest.raises(ConfigError, match="unknown key 'selekt'"):
        memlint.check_source(source, config={"selekt": []})
    with pytest.raises(ConfigError, match="unknown rule code or prefix 'MEM8'"):
        memlint.check_source(source, config={"select": ["MEM8"]})
    with pytest.raises(TypeError, match="config must be"):
        memlint.check_source(source, config=["MEM100"])  # type: ignore[arg-type]


def test_check_source_suppressions_apply():
    config = {"extend-select": ["MEM100"]}
    assert [f.line for f in memlint.check_source("x = 1  # noqa: MEM000\n", config=config)] == [1]
    assert memlint.check_source("# memlint: noqa: MEM100\nx = 1  # noqa: MEM000\n", config=config) == []


def test_check_paths_uses_nearest_config_and_never_prints(tmp_path, monkeypatch, capsys):
    write_tree(tmp_path, {
        "a/memlint.toml": "extend-select = ['MEM100']\n",
        "a/x.py": "x = 1  # noqa: MEM000\n",
        "b/y.py": "y = 1  # noqa: MEM000\n",
        "b/z.py": BROKEN,
    })
    monkeypatch.chdir(tmp_path)
    findings = memlint.check_paths(["b", tmp_path / "a"])
    assert [(f.path.replace("\\", "/"), f.code) for f in findings] == [("a/x.py", "MEM100"), ("b/z.py", "MEM000")]
    # An explicit config applies to every file instead.
    assert [f.code for f in memlint.check_paths(["b"], config={"extend-select": ["MEM100"]})] == ["MEM100", "MEM000"]
    assert capsys.readouterr() == ("", "")


def test_check_paths_missing_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="path not found: nothing-here"):
        memlint.check_paths(["nothing-here"])

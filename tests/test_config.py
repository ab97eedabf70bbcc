"""Config files: discovery, strict validation, rule selection layers, per-file-ignores, leaks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from memlint.config import (
    Config,
    ConfigError,
    ConfigResolver,
    Overrides,
    PathPattern,
    config_from_mapping,
    find_config_file,
    load_config_file,
    load_leaks_table,
    resolve,
    resolve_codes,
)
from memlint.specs import parse_spec

from conftest import write_tree


def fake_spec(code: str, default: bool = True):
    text = (
        f"---\ncode: {code}\nname: rule-{code.lower()}\nsummary: s.\ndefault: {'on' if default else 'off'}\n"
        f"fixable: never\n---\n# {code}: rule-{code.lower()}\n\n"
        + "".join(f"## {title}\n\ntext\n\n" for title in
                  ("What it does", "Why is this bad?", "Example", "Use instead", "Fix safety", "References"))
    )
    return parse_spec(text, f"{code}.md")


SPECS = {spec.code: spec for spec in (
    fake_spec("MEM000"), fake_spec("MEM001"), fake_spec("MEM003"), fake_spec("MEM004"),
    fake_spec("MEM041", default=False), fake_spec("MEM100", default=False), fake_spec("MEM900"),
)}


def codes(*layers):
    return sorted(resolve_codes([(s, e, i, "test") for s, e, i in layers], SPECS))


# --------------------------------------------------------------------------- selection


def test_defaults_are_the_specs_default_on_codes():
    assert codes() == ["MEM000", "MEM001", "MEM003", "MEM004", "MEM900"]


def test_select_replaces_and_parse_and_internal_errors_stay():
    assert codes((["MEM003"], [], [])) == ["MEM000", "MEM003", "MEM900"]
    assert codes(([], [], [])) == ["MEM000", "MEM900"]


def test_all_and_prefixes():
    assert codes((["ALL"], [], [])) == sorted(SPECS)
    assert codes((["MEM0"], [], [])) == ["MEM000", "MEM001", "MEM003", "MEM004", "MEM041", "MEM900"]
    assert codes((None, ["MEM1"], [])) == ["MEM000", "MEM001", "MEM003", "MEM004", "MEM100", "MEM900"]


def test_more_specific_selector_wins_and_ignore_wins_ties():
    # ruff's rule: --select MEM001 --ignore MEM keeps MEM001.
    assert codes((["MEM001"], [], ["MEM"])) == ["MEM000", "MEM001", "MEM900"]
    assert codes((["MEM"], [], ["MEM00"])) == ["MEM000", "MEM041", "MEM100", "MEM900"]
    assert codes((["MEM001"], [], ["MEM001"])) == ["MEM000", "MEM900"]


def test_command_line_layer_builds_on_config_layer():
    config_layer = (None, ["MEM041"], ["MEM004"])
    assert codes(config_layer, (None, [], ["MEM003"])) == ["MEM000", "MEM001", "MEM041", "MEM900"]
    # A select on the command line starts afresh, dropping the config's extend-select.
    assert codes(config_layer, (["MEM003"], [], [])) == ["MEM000", "MEM003", "MEM900"]


def test_unknown_selector_names_where_it_came_from():
    with pytest.raises(ConfigError, match=r"^pyproject.toml: unknown rule code or prefix 'MEM2'"):
        resolve_codes([(["MEM2"], [], [], "pyproject.toml")], SPECS)
    with pytest.raises(ConfigError, match=r"did you mean 'MEM001'\?"):
        resolve_codes([(None, [], ["MEM0011"], "x")], SPECS)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "table, message",
    [
        ({"selct": ["MEM001"]}, r"unknown key 'selct' in \[tool.memlint\] \(did you mean 'select'\?\)"),
        ({"select": "MEM001"}, r"select must be a list of strings, got a string"),
        ({"ignore": [1]}, r"ignore must be a list of strings, got a list"),
        ({"select": ["mem_001"]}, r"select: 'MEM_001' is not a rule code or prefix"),
        ({"output-format": "xml"}, r"output-format must be one of full, concise, json, sarif, github, got 'xml'"),
        ({"per-file-ignores": ["x"]}, r"per-file-ignores must be a table of glob = \[codes\], got a list"),
        ({"per-file-ignores": {"t/*": "MEM001"}}, r"per-file-ignores.'t/\*' must be a list of strings"),
        ({"resources": {"my lib.connect": "close"}}, r"resources key 'my lib.connect' is not a dotted name"),
        ({"resources": {"mylib.connect": 3}}, r"resources.'mylib.connect' must be a method name"),
        ({"leaks": {"enabeld": True}}, r"unknown key 'enabeld' in leaks \(did you mean 'enabled'\?\)"),
        ({"leaks": {"enabled": "yes"}}, r"leaks.enabled must be true or false, got 'yes'"),
        ({"leaks": {"mode": "loud"}}, r"leaks.mode must be \"fail\" or \"warn\", got 'loud'"),
        ({"leaks": {"scope": "session"}}, r"leaks.scope must be \"test\" or \"call\""),
        ({"leaks": {"allow": "x"}}, r"leaks.allow must be a list of strings"),
        ({"leaks": {"grace-period": -1}}, r"leaks.grace-period must be a number of seconds >= 0, got -1"),
        ({"leaks": {"grace-period": True}}, r"leaks.grace-period must be a number of seconds >= 0, got True"),
    ],
)
def test_invalid_tables_name_key_and_file(table, message):
    with pytest.raises(ConfigError, match=r"^/p/pyproject.toml: .*" + message):
        config_from_mapping(table, source="/p/pyproject.toml")


def test_valid_table_round_trips():
    config = config_from_mapping(
        {
            "select": ["MEM0"],
            "extend-select": ["MEM100"],
            "ignore": ["MEM004"],
            "exclude": ["gen"],
            "extend-exclude": ["vendor/"],
            "per-file-ignores": {"tests/*": ["MEM001"]},
            "output-format": "concise",
            "resources": {"mylib.connect": "close", "pool.acquire": "release"},
            "leaks": {"enabled": True, "mode": "warn", "scope": "call", "allow": ["thread:x"], "grace-period": 0.5},
        },
        source="memlint.toml",
        root="/r",
    )
    assert config.select == ("MEM0",)
    assert config.extend_select == ("MEM100",)
    assert config.ignore == ("MEM004",)
    assert config.exclude == ("gen",)
    assert config.extend_exclude == ("vendor/",)
    assert config.per_file_ignores == (("tests/*", ("MEM001",)),)
    assert config.output_format == "concise"
    assert dict(config.resources) == {"mylib.connect": "close", "pool.acquire": "release"}
    assert config.leaks["grace-period"] == 0.5
    assert config.root == "/r"


def test_invalid_toml_names_the_file(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.memlint\nselect = 1\n")
    with pytest.raises(ConfigError, match=r"^invalid TOML in " + str(path).replace("\\", "\\\\")):
        load_config_file(path)


def test_tool_memlint_must_be_a_table(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool]\nmemlint = 3\n")
    with pytest.raises(ConfigError, match=r"\[tool.memlint\] must be a table"):
        load_config_file(path)


# --------------------------------------------------------------------------- finding files


def test_nearest_config_wins_and_pyproject_without_table_is_skipped(tmp_path):
    write_tree(tmp_path, {
        "pyproject.toml": "[tool.memlint]\nselect = ['MEM001']\n",
        "a/pyproject.toml": "[project]\nname = 'x'\n",
        "a/b/memlint.toml": "select = ['MEM003']\n",
        "a/b/pyproject.toml": "[tool.memlint]\nselect = ['MEM004']\n",
        "a/b/c/x.py": "",
    })
    assert find_config_file(tmp_path / "a") == (tmp_path / "pyproject.toml").resolve()
    # memlint.toml beats pyproject.toml in the same folder.
    assert find_config_file(tmp_path / "a" / "b" / "c") == (tmp_path / "a" / "b" / "memlint.toml").resolve()
    assert load_config_file(tmp_path / "a" / "b" / "memlint.toml").select == ("MEM003",)


def test_resolver_uses_each_files_nearest_config(tmp_path, monkeypatch):
    write_tree(tmp_path, {
        "pyproject.toml": "[tool.memlint]\nextend-select = ['MEM100']\n",
        "sub/memlint.toml": "ignore = ['MEM100']\n",
    })
    monkeypatch.chdir(tmp_path)
    resolver = ConfigResolver()
    assert "MEM100" in resolver.for_directory(str(tmp_path)).enabled
    assert "MEM100" not in resolver.for_directory(str(tmp_path / "sub")).enabled
    # Command-line overrides apply on top of every file's config.
    resolver = ConfigResolver(Overrides(extend_select=("MEM100",)))
    assert "MEM100" in resolver.for_directory(str(tmp_path / "sub")).enabled
    assert "MEM100" not in ConfigResolver(isolated=True).for_directory(str(tmp_path)).enabled


def test_load_leaks_table(tmp_path):
    write_tree(tmp_path, {
        "pyproject.toml": "[tool.memlint.leaks]\nenabled = true\nmode = 'warn'\ngrace-period = 2\nallow = ['a']\n",
        "pkg/tests/x.py": "",
        "other/memlint.toml": "[leaks]\nscope = 'call'\n",
        "bad/memlint.toml": "[leaks]\nmode = 'explode'\n",
    })
    assert load_leaks_table(tmp_path / "pkg" / "tests") == {
        "enabled": True, "mode": "warn", "grace-period": 2, "allow": ["a"],
    }
    assert load_leaks_table(str(tmp_path / "other")) == {"scope": "call"}
    with pytest.raises(ConfigError, match=r"leaks.mode"):
        load_leaks_table(tmp_path / "bad")


def test_load_leaks_table_without_config(tmp_path):
    # tmp_path has no config; neither has any folder above it on a test machine (checked).
    if find_config_file(tmp_path) is not None:
        pytest.skip(f"a config file above {tmp_path} would be found: {find_config_file(tmp_path)}")
    assert load_leaks_table(tmp_path) == {}


# --------------------------------------------------------------------------- patterns


@pytest.mark.parametrize(
    "glob, path, ancestors, expected",
    [
        ("build", "/r/build", False, True),
        ("build", "/r/pkg/build", False, True),
        ("build", "/r/build/x.py", False, False),
        ("build", "/r/build/x.py", True, True),
        ("*.egg-info", "/r/x.egg-info", False, True),
        ("gen/*.py", "/r/gen/a.py", False, True),
        ("gen/*.py", "/r/pkg/gen/a.py", False, False),
        ("/gen", "/r/gen", False, True),
        ("./gen/", "/r/gen/a.py", True, True),
        ("tests/", "/r/tests/unit/a.py", True, True),
        ("build", "/elsewhere/build/x.py", True, False),
        ("x.py", "/elsewhere/build/x.py", True, True),
    ],
)
def test_path_patterns(glob, path, ancestors, expected):
    assert PathPattern(glob, "/r").matches(path, ancestors) is expected


def test_per_file_ignores_and_excludes_resolve(tmp_path):
    config = config_from_mapping(
        {"per-file-ignores": {"tests/*": ["MEM0"], "__init__.py": ["MEM100"]}, "extend-exclude": ["gen"]},
        source="cfg", root=str(tmp_path),
    )
    settings = resolve(config, Overrides(extend_select=("MEM100",)), cwd=str(tmp_path))
    test_file = str(tmp_path / "tests" / "test_x.py")
    assert "MEM100" in settings.codes_for(test_file)
    # MEM000 is never ignored: a file that does not parse is always reported.
    assert "MEM000" in settings.codes_for(test_file)
    assert "MEM100" not in settings.codes_for(str(tmp_path / "pkg" / "__init__.py"))
    assert settings.is_excluded(str(tmp_path / "gen"))
    assert settings.is_excluded(str(tmp_path / "build"))
    # exclude replaces the defaults.
    replaced = resolve(Config(exclude=("only",), root=str(tmp_path)), cwd=str(tmp_path))
    assert not replaced.is_excluded(str(tmp_path / "build"))
    assert replaced.is_excluded(str(tmp_path / "only"))


def test_unknown_code_in_per_file_ignores_names_the_file(tmp_path):
    config = config_from_mapping({"per-file-ignores": {"x": ["MEM7"]}}, source="/p/memlint.toml")
    with pytest.raises(ConfigError, match=r"^/p/memlint.toml: per-file-ignores: unknown rule code or prefix 'MEM7'"):
        resolve(config, cwd=str(tmp_path))


def test_config_files_in_the_repository_are_valid():
    root = Path(__file__).resolve().parent.parent
    config = load_config_file(root / "pyproject.toml")
    resolve(config, cwd=str(root))
    assert os.path.samefile(config.root, root)

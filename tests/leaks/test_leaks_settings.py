"""Settings resolution, the TOML table readers, allow patterns and the idle recorder."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any, Dict, Tuple

import pytest

from memlint._leaks import settings
from memlint._leaks.model import AllowList, Leak, Site, format_leaks
from memlint._leaks.settings import LeakSettings, SettingsError, resolve


def _no_table() -> Tuple[Dict[str, Any], str]:
    raise AssertionError("the TOML table should not have been read")


def _table(**values: Any) -> Any:
    return lambda: (dict(values), "test")


def test_off_without_any_setting() -> None:
    assert resolve({}, {}, _table()) == LeakSettings(enabled=False, table_reader="test")


def test_explicit_off_never_reads_the_table() -> None:
    assert resolve({"enabled": False}, {"enabled": True}, _no_table).enabled is False


def test_layers_command_line_then_ini_then_table() -> None:
    result = resolve(
        {"enabled": True, "mode": None, "scope": "call"},
        {"mode": "warn", "allow": ["thread:*"]},
        _table(mode="fail", scope="test", **{"grace-period": 2}),
    )
    assert (result.enabled, result.mode, result.scope, result.allow, result.grace_period) == (
        True, "warn", "call", ("thread:*",), 2.0,
    )


def test_table_alone_can_enable() -> None:
    assert resolve({}, {}, _table(enabled=True)).enabled is True
    assert resolve({}, {"enabled": False}, _table(enabled=True)).enabled is False


def test_report_file_implies_enabled() -> None:
    result = resolve({"report": "leaks.json"}, {}, _table())
    assert result.enabled and result.report == "leaks.json"


@pytest.mark.parametrize(
    ("cli", "table", "message"),
    [
        ({"enabled": True, "mode": "loud"}, {}, "mode must be 'fail' or 'warn'"),
        ({"enabled": True, "scope": "module"}, {}, "scope must be 'test' or 'call'"),
        ({"enabled": True}, {"allow": "thread:*"}, "allow must be a list"),
        ({"enabled": True}, {"grace-period": -1}, "grace-period must be a number of seconds >= 0"),
        ({}, {"enabled": "yes"}, "enabled must be true or false"),
        ({}, {"grace_period": 1}, "unknown key 'grace_period'"),
    ],
)
def test_invalid_values(cli: Dict[str, Any], table: Dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        resolve(cli, {}, lambda: (table, "test"))


# --------------------------------------------------------------------------- TOML files


@pytest.fixture
def without_project_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import memlint.config`` fail, as before that module existed."""
    monkeypatch.setitem(sys.modules, "memlint.config", None)  # type: ignore[arg-type]


def test_builtin_reader_pyproject(tmp_path: Path, without_project_reader: None) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.memlint.leaks]\nenabled = true\nallow = ["fd:*.log"]\n', encoding="utf-8"
    )
    (tmp_path / "sub").mkdir()
    assert settings.load_leaks_table(str(tmp_path / "sub")) == (
        {"enabled": True, "allow": ["fd:*.log"]}, "built-in reader",
    )


def test_builtin_reader_memlint_toml_wins_and_stops_the_search(tmp_path: Path, without_project_reader: None) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.memlint.leaks]\nenabled = true\n", encoding="utf-8")
    (tmp_path / "inner").mkdir()
    (tmp_path / "inner" / "memlint.toml").write_text('[leaks]\nmode = "warn"\n', encoding="utf-8")
    assert settings.load_leaks_table(str(tmp_path / "inner")) == ({"mode": "warn"}, "built-in reader")


def test_pyproject_without_memlint_is_skipped(tmp_path: Path, without_project_reader: None) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.memlint.leaks]\nenabled = true\n", encoding="utf-8")
    (tmp_path / "inner").mkdir()
    (tmp_path / "inner" / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    assert settings.load_leaks_table(str(tmp_path / "inner"))[0] == {"enabled": True}


def test_config_without_leaks_is_not_parsed_further(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(start_dir: str) -> Dict[str, Any]:
        raise AssertionError("memlint.config should not be consulted")

    monkeypatch.setitem(sys.modules, "memlint.config", types.SimpleNamespace(load_leaks_table=explode, ConfigError=ValueError))
    (tmp_path / "memlint.toml").write_text('select = ["MEM001"]\n', encoding="utf-8")
    assert settings.load_leaks_table(str(tmp_path)) == ({}, "")


def test_project_reader_is_preferred(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []

    def project_reader(start_dir: str) -> Dict[str, Any]:
        seen.append(start_dir)
        return {"mode": "warn"}

    monkeypatch.setitem(
        sys.modules, "memlint.config", types.SimpleNamespace(load_leaks_table=project_reader, ConfigError=ValueError)
    )
    (tmp_path / "memlint.toml").write_text("[leaks]\nenabled = true\n", encoding="utf-8")
    assert settings.load_leaks_table(str(tmp_path)) == ({"mode": "warn"}, "memlint.config")
    assert seen == [str(tmp_path)]


def test_project_reader_errors_become_settings_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class ConfigError(ValueError):
        pass

    def project_reader(start_dir: str) -> Dict[str, Any]:
        raise ConfigError("memlint.toml: leaks.mode must be \"fail\" or \"warn\"")

    monkeypatch.setitem(
        sys.modules, "memlint.config", types.SimpleNamespace(load_leaks_table=project_reader, ConfigError=ConfigError)
    )
    (tmp_path / "memlint.toml").write_text('[leaks]\nmode = "x"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match="leaks.mode"):
        settings.load_leaks_table(str(tmp_path))


def test_invalid_toml_names_the_file(tmp_path: Path, without_project_reader: None) -> None:
    (tmp_path / "memlint.toml").write_text("[leaks\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="invalid TOML in .*memlint.toml"):
        settings.load_leaks_table(str(tmp_path))


# --------------------------------------------------------------------------- allow patterns


def test_allow_patterns_match_names_by_kind() -> None:
    allow = AllowList(["thread:pool-*", "*.log", "socket:127.0.0.1:*"])
    assert allow.allows(Leak("thread", "pool-1"))
    assert not allow.allows(Leak("process", "pool-1"))
    assert allow.allows(Leak("fd", "/var/app.log"))
    assert allow.allows(Leak("socket", "127.0.0.1:8080 (AF_INET, SOCK_STREAM)"))
    assert not allow.allows(Leak("socket", "10.0.0.1:8080"))


def test_unknown_prefix_is_part_of_the_glob() -> None:
    # "C:" is no kind, so the whole pattern is matched against the name.
    assert AllowList(["C:*"]).allows(Leak("fd", "C:/temp/x"))


def test_format_leaks_lists_each_resource() -> None:
    leaks = [
        Leak("fd", "/tmp/a", "fd 7", Site("/nowhere/src/a.py", 12, "f")),
        Leak("thread", "worker", "daemon"),
    ]
    assert format_leaks(leaks, "the block").splitlines() == [
        "the block leaked 2 resources:",
        "  - fd /tmp/a (fd 7), created at /nowhere/src/a.py:12",
        "  - thread worker (daemon), creation site unknown",
    ]


# --------------------------------------------------------------------------- the recorder when idle


@pytest.mark.memlint_leaks(enabled=False)  # with the plugin on, the recorder is not idle
def test_idle_recorder_records_nothing(tmp_path: Path) -> None:
    from memlint._leaks import sites

    sites.install()
    sites.install()  # idempotent: still one hook
    before = dict(sites._by_path)
    with open(tmp_path / "x", "w", encoding="utf-8") as handle:
        handle.write("x")
    assert sites._by_path == before == {}

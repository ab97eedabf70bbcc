"""Leak-check settings for the pytest plugin: command line, then ini, then TOML, then defaults.

This module is imported on every pytest run of a project that has memlint installed, so
it stays light: the TOML table is only parsed when the nearest config file mentions
``leaks`` at all, and ``memlint.config`` (which pulls in the analyzer's modules) is only
imported then.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

MODES = ("fail", "warn")
SCOPES = ("test", "call")
TABLE_KEYS = ("enabled", "mode", "scope", "allow", "grace-period")
DEFAULT_GRACE_PERIOD = 0.5


class SettingsError(ValueError):
    """An invalid leak-check setting; the message names the setting and where it came from."""


@dataclass(frozen=True)
class LeakSettings:
    """The resolved settings of one pytest run."""

    enabled: bool = False
    mode: str = "fail"
    scope: str = "test"
    allow: Tuple[str, ...] = ()
    grace_period: float = DEFAULT_GRACE_PERIOD
    report: Optional[str] = None
    # Where the table came from: "memlint.config", "built-in reader" or "" (not read).
    table_reader: str = ""


def resolve(
    cli: Mapping[str, Any],
    ini: Mapping[str, Any],
    load_table: Callable[[], Tuple[Dict[str, Any], str]],
) -> LeakSettings:
    """Combine the layers; ``None`` in ``cli``/``ini`` means 'not given there'.

    ``load_table`` is called only when the TOML table can still change the outcome.
    """
    explicit = _first(cli.get("enabled"), ini.get("enabled"))
    report = cli.get("report")
    if explicit is False:
        return LeakSettings(enabled=False)
    table: Dict[str, Any] = {}
    reader = ""
    needs_table = explicit is None or any(
        cli.get(key) is None and ini.get(key) is None for key in ("mode", "scope", "allow", "grace-period")
    )
    if needs_table:
        table, reader = load_table()
        _check_table(table, "[tool.memlint.leaks]")
    enabled = _first(explicit, True if report else None, table.get("enabled"), False)
    if not enabled:
        return LeakSettings(enabled=False, table_reader=reader)

    def pick(key: str, default: Any) -> Any:
        return _first(cli.get(key), ini.get(key), table.get(key), default)

    mode = pick("mode", "fail")
    if mode not in MODES:
        raise SettingsError(f"memlint leak mode must be 'fail' or 'warn', got {mode!r}")
    scope = pick("scope", "test")
    if scope not in SCOPES:
        raise SettingsError(f"memlint leak scope must be 'test' or 'call', got {scope!r}")
    allow = pick("allow", ())
    if isinstance(allow, str) or not all(isinstance(item, str) and item for item in allow):
        raise SettingsError(f"memlint leak allow must be a list of non-empty strings, got {allow!r}")
    grace = parse_grace_period(pick("grace-period", DEFAULT_GRACE_PERIOD), "grace-period")
    return LeakSettings(True, mode, scope, tuple(allow), grace, report, reader)


def parse_grace_period(value: Any, where: str) -> float:
    """A number of seconds >= 0, from a number or a numeric string."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise SettingsError(f"memlint {where} must be a number of seconds, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise SettingsError(f"memlint {where} must be a number of seconds >= 0, got {value!r}")
    return float(value)


def _first(*values: Any) -> Any:
    for value in values:
        if value is not None:
            return value
    return None


def _check_table(table: Mapping[str, Any], where: str) -> None:
    for key, value in table.items():
        if key not in TABLE_KEYS:
            raise SettingsError(f"{where}: unknown key {key!r} (expected one of {', '.join(TABLE_KEYS)})")
        if key == "enabled" and not isinstance(value, bool):
            raise SettingsError(f"{where}: enabled must be true or false, got {value!r}")


# --------------------------------------------------------------------------- the TOML table


def load_leaks_table(start_dir: str) -> Tuple[Dict[str, Any], str]:
    """The ``leaks`` table of the config nearest to ``start_dir`` and which reader read it.

    Prefers ``memlint.config.load_leaks_table`` (the project's own config reader); if that
    cannot be imported, reads the same files the same way with tomllib/tomli.
    """
    found = _nearest_config(start_dir)
    if found is None:
        return {}, ""
    path, data = found
    if b"leaks" not in data:
        return {}, ""
    try:
        from memlint.config import ConfigError
        from memlint.config import load_leaks_table as project_reader
    except ImportError:
        return _read_table(path, data), "built-in reader"
    try:
        return dict(project_reader(start_dir)), "memlint.config"
    except ConfigError as error:
        raise SettingsError(str(error)) from error


def _nearest_config(start_dir: str) -> Optional[Tuple[str, bytes]]:
    """Like memlint.config: the nearest memlint.toml, or pyproject.toml naming memlint."""
    directory = os.path.abspath(start_dir)
    while True:
        for name in ("memlint.toml", "pyproject.toml"):
            candidate = os.path.join(directory, name)
            try:
                with open(candidate, "rb") as handle:
                    data = handle.read()
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                continue
            except OSError as error:
                raise SettingsError(f"cannot read {candidate}: {error}") from error
            if name == "memlint.toml" or b"memlint" in data:
                if name == "memlint.toml" or "memlint" in _parse(candidate, data).get("tool", {}):
                    return candidate, data
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _parse(path: str, data: bytes) -> Dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python < 3.11 only
        import tomli as tomllib
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SettingsError(f"invalid TOML in {path}: {error}") from error


def _read_table(path: str, data: bytes) -> Dict[str, Any]:
    document = _parse(path, data)
    if os.path.basename(path) == "pyproject.toml":
        document = document.get("tool", {}).get("memlint", {})
        where = f"{path}: [tool.memlint.leaks]"
    else:
        where = f"{path}: [leaks]"
    if not isinstance(document, dict):
        raise SettingsError(f"{path}: the memlint configuration must be a table")
    table = document.get("leaks", {})
    if not isinstance(table, dict):
        raise SettingsError(f"{where} must be a table")
    _check_table(table, where)
    return dict(table)

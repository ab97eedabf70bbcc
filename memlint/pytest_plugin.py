"""memlint's pytest plugin: fail tests that leave resources behind.

Installed through the ``pytest11`` entry point, so it loads in every pytest run of any
project that has memlint installed. It is therefore off by default and costs nothing when
off: this module imports only the standard library at import time, and registers its
per-test hooks (``memlint._leaks.plugin.LeakPlugin``) only when leak checks are enabled by

- ``--memlint-leaks`` (``--no-memlint-leaks`` overrides everything else), or
- the ini option ``memlint_leaks = true``, or
- ``enabled = true`` in ``[tool.memlint.leaks]`` (pyproject.toml) or ``[leaks]`` (memlint.toml).

Per test, ``@pytest.mark.memlint_leaks(enabled=False)`` switches the check off and
``@pytest.mark.memlint_leaks(allow=[...])`` accepts matching leaks.
"""

from __future__ import annotations

from typing import Any, Dict

import pytest

MARKER_HELP = (
    "memlint_leaks(enabled=True, allow=[...], grace_period=None): per-test leak-check "
    "settings; enabled=False skips the check, allow lists glob patterns of leaks to accept"
)


class LeakWarning(UserWarning):
    """Issued for a leaking test when leak checks run in ``warn`` mode."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("memlint", "memlint leak checks")
    group.addoption(
        "--memlint-leaks", action="store_const", const=True, default=None, dest="memlint_leaks",
        help="check every test for leaked fds, sockets, threads, processes, temp files and ResourceWarnings.",
    )
    group.addoption(
        "--no-memlint-leaks", action="store_const", const=False, dest="memlint_leaks",
        help="switch memlint leak checks off, whatever the configuration says.",
    )
    group.addoption(
        "--memlint-leaks-mode", choices=("fail", "warn"), default=None, dest="memlint_leaks_mode",
        help="fail (default) or only warn when a test leaks.",
    )
    group.addoption(
        "--memlint-leaks-scope", choices=("test", "call"), default=None, dest="memlint_leaks_scope",
        help="check from before setup to after teardown (test, default) or around the test call only.",
    )
    group.addoption(
        "--memlint-leaks-report", metavar="FILE", default=None, dest="memlint_leaks_report",
        help="write the leak findings as JSON to FILE (implies --memlint-leaks).",
    )
    parser.addini("memlint_leaks", "enable memlint leak checks", type="bool", default=None)
    parser.addini("memlint_leaks_mode", "memlint leak checks: fail or warn", default=None)
    parser.addini("memlint_leaks_scope", "memlint leak checks: test or call", default=None)
    parser.addini("memlint_leaks_allow", "memlint leak checks: patterns of leaks to accept", type="linelist", default=None)
    parser.addini("memlint_leaks_grace_period", "memlint leak checks: seconds to wait for threads/children", default=None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    from memlint._leaks import settings as leak_settings

    cli: Dict[str, Any] = {
        "enabled": config.getoption("memlint_leaks"),
        "mode": config.getoption("memlint_leaks_mode"),
        "scope": config.getoption("memlint_leaks_scope"),
        "report": config.getoption("memlint_leaks_report"),
    }
    ini: Dict[str, Any] = {
        "enabled": _ini(config, "memlint_leaks", bool),
        "mode": _ini(config, "memlint_leaks_mode", str),
        "scope": _ini(config, "memlint_leaks_scope", str),
        "allow": _ini(config, "memlint_leaks_allow", list),
        "grace-period": _ini(config, "memlint_leaks_grace_period", str),
    }
    try:
        settings = leak_settings.resolve(
            cli, ini, lambda: leak_settings.load_leaks_table(str(config.rootpath))
        )
    except leak_settings.SettingsError as error:
        raise pytest.UsageError(str(error)) from error
    if settings.enabled:
        from memlint._leaks.plugin import LeakPlugin

        config.pluginmanager.register(LeakPlugin(config, settings), "memlint-leaks")


def _ini(config: pytest.Config, name: str, kind: type) -> Any:
    """An ini value, or ``None`` when it is not set (older pytest returns '' or [] then)."""
    value = config.getini(name)
    if isinstance(value, kind) and value not in ("", []):
        return value
    return None

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

The memory-growth check (``memlint._leaks.memory_plugin``) is separate and also off by
default: ``--memlint-memory`` (or ``memlint_memory = true``) measures every test, and a
``@pytest.mark.memlint_memory(...)`` marker measures that test in any run.
"""

from __future__ import annotations

from typing import Any, Dict, List

import pytest

# Defined beside the leak model so that the per-test half (memlint._leaks.plugin) need not
# import this module back; re-exported here, where users look for it.
from memlint._leaks.model import LeakWarning

__all__ = ["LeakWarning"]

MARKER_HELP = (
    "memlint_leaks(enabled=True, allow=[...], grace_period=None): per-test leak-check "
    "settings; enabled=False skips the check, allow lists glob patterns of leaks to accept"
)
MEMORY_MARKER = "memlint_memory"
MEMORY_MARKER_HELP = (
    "memlint_memory(leak_kb=100, limit_mb=None, repeats=3, enabled=True): fail the test when "
    "repeated calls grow memory by more than leak_kb KiB per call, or its peak exceeds limit_mb MiB"
)
DEFAULT_MEMORY_LEAK_KB = 100.0


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
    group.addoption(
        "--memlint-memory", action="store_const", const=True, default=None, dest="memlint_memory",
        help="fail tests whose repeated calls keep growing memory (tracemalloc; see --memlint-memory-leak-kb).",
    )
    group.addoption(
        "--memlint-memory-leak-kb", type=float, default=None, dest="memlint_memory_leak_kb", metavar="KIB",
        help=f"memory growth per call, in KiB, that fails a test (default {DEFAULT_MEMORY_LEAK_KB:g}).",
    )
    parser.addini("memlint_memory", "memlint: measure every test's memory growth", type="bool", default=None)
    parser.addini("memlint_memory_leak_kb", "memlint: memory growth per call (KiB) that fails a test", default=None)
    parser.addini("memlint_leaks", "enable memlint leak checks", type="bool", default=None)
    parser.addini("memlint_leaks_mode", "memlint leak checks: fail or warn", default=None)
    parser.addini("memlint_leaks_scope", "memlint leak checks: test or call", default=None)
    parser.addini("memlint_leaks_allow", "memlint leak checks: patterns of leaks to accept", type="linelist", default=None)
    parser.addini("memlint_leaks_grace_period", "memlint leak checks: seconds to wait for threads/children", default=None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    config.addinivalue_line("markers", MEMORY_MARKER_HELP)
    _configure_memory(config)
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


def _configure_memory(config: pytest.Config, marked_only: bool = False) -> None:
    every_test = config.getoption("memlint_memory")
    if every_test is None:
        every_test = _ini(config, "memlint_memory", bool)
    if not every_test and not marked_only:
        return
    leak_kb = config.getoption("memlint_memory_leak_kb")
    if leak_kb is None:
        leak_kb = _ini(config, "memlint_memory_leak_kb", str)
    try:
        leak_kb = DEFAULT_MEMORY_LEAK_KB if leak_kb is None else float(leak_kb)
    except ValueError:
        raise pytest.UsageError(f"memlint_memory_leak_kb must be a number of KiB, got {leak_kb!r}") from None
    if not leak_kb > 0:
        raise pytest.UsageError(f"memlint memory leak-kb must be > 0, got {leak_kb:g}")
    from memlint._leaks.memory_plugin import MemoryPlugin

    plugin = MemoryPlugin(config, bool(every_test), leak_kb)
    config.pluginmanager.register(plugin, "memlint-memory")
    return None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    """A ``memlint_memory`` marker opts its test in even when the check is off for the run;
    without one, this loop over the collected items is all the check costs."""
    if config.pluginmanager.get_plugin("memlint-memory") is not None:
        return
    if any(item.get_closest_marker(MEMORY_MARKER) is not None for item in items):
        _configure_memory(config, marked_only=True)
        plugin = config.pluginmanager.get_plugin("memlint-memory")
        plugin.pytest_collection_modifyitems(items)


def _ini(config: pytest.Config, name: str, kind: type) -> Any:
    """An ini value, or ``None`` when it is not set (older pytest returns '' or [] then)."""
    value = config.getini(name)
    if isinstance(value, kind) and value not in ("", []):
        return value
    return None

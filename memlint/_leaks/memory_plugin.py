"""The pytest half of the memory-growth check (``--memlint-memory``, ``memlint_memory`` marker).

The test function is measured, not its fixtures: ``pytest_pyfunc_call`` swaps the item's
function for one that runs it under ``memory.measure`` (repeating it only when its first
call grew memory), so pytest's own call, and any plugin that wraps it, stays in place.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Dict, Generator, List, Optional, Tuple

import pytest

from memlint._leaks import memory
from memlint._leaks.markers import check_marker_keywords

MARKER = "memlint_memory"
_MARKER_KEYS = ("enabled", "leak_kb", "limit_mb", "repeats")
_STASH_KEY = pytest.StashKey[Dict[str, Any]]()

Options = Tuple[Optional[float], Optional[float], int]  # leak_kb, limit_mb, repeats


class MemoryPlugin:
    """Measures every test (``every_test``) or only the tests marked ``memlint_memory``."""

    def __init__(self, config: pytest.Config, every_test: bool, leak_kb: float) -> None:
        self.config = config
        self.every_test = every_test
        self.leak_kb = leak_kb
        self.is_worker = hasattr(config, "workerinput")
        self.measured = 0
        self.results: List[Dict[str, Any]] = []

    def options(self, item: pytest.Item) -> Optional[Options]:
        """The item's limits, or ``None`` when it is not measured; bad markers: UsageError."""
        marker = item.get_closest_marker(MARKER)
        if marker is None:
            return (self.leak_kb, None, memory.DEFAULT_REPEATS) if self.every_test else None
        where = f"{item.nodeid}: @pytest.mark.{MARKER}"
        check_marker_keywords(marker, where, _MARKER_KEYS)
        for key, value in marker.kwargs.items():
            if key == "enabled" and not isinstance(value, bool):
                raise pytest.UsageError(f"{where}: enabled must be True or False")
            if key in ("leak_kb", "limit_mb") and not _is_size(value):
                raise pytest.UsageError(f"{where}: {key} must be a number > 0")
            if key == "repeats" and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise pytest.UsageError(f"{where}: repeats must be a whole number >= 1")
        if not marker.kwargs.get("enabled", True):
            return None
        limit_mb = marker.kwargs.get("limit_mb")
        default_leak = None if limit_mb is not None else self.leak_kb  # limit_mb alone: the peak only
        return marker.kwargs.get("leak_kb", default_leak), limit_mb, marker.kwargs.get("repeats", memory.DEFAULT_REPEATS)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: List[pytest.Item]) -> None:
        for item in items:
            self.options(item)  # a malformed marker stops the run before any test

    @pytest.hookimpl(hookwrapper=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> Generator[None, Any, None]:
        options = self.options(pyfuncitem)
        original = pyfuncitem.obj
        if options is None or inspect.iscoroutinefunction(original) or inspect.isgeneratorfunction(original):
            yield
            return
        leak_kb, limit_mb, repeats = options
        stash = pyfuncitem.stash

        @functools.wraps(original)
        def measured(*args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            result, verdict = memory.measure(lambda: original(*args, **kwargs), leak_kb, limit_mb, repeats)
            stash[_STASH_KEY] = verdict.to_dict()
            if verdict.problems:
                raise memory.MemoryGrowthError(verdict.message(f"memlint: {pyfuncitem.nodeid}"))
            return result

        pyfuncitem.obj = measured
        try:
            yield
        finally:
            pyfuncitem.obj = original

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: Any) -> Generator[None, Any, None]:
        outcome = yield
        if call.when == "call":
            found = item.stash.get(_STASH_KEY, None)
            if found is not None:
                outcome.get_result().memlint_memory = found  # plain data: crosses xdist

    def pytest_runtest_logreport(self, report: Any) -> None:
        found = getattr(report, "memlint_memory", None)
        if found is None or report.when != "call":
            return
        self.measured += 1
        if found["problems"] or found["note"]:
            self.results.append({"nodeid": report.nodeid, **found})

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker:
            return
        grew = [result for result in self.results if result["problems"]]
        terminalreporter.write_sep("-", "memlint memory check")
        terminalreporter.write_line(
            f"{self.measured} test{'s' if self.measured != 1 else ''} measured, {len(grew)} over their limits"
        )
        for result in grew:
            terminalreporter.write_line(f"{result['nodeid']}: {'; '.join(result['problems'])}")
            for site in result["top"]:
                terminalreporter.write_line(f"    {site['file']}:{site['line']}: {site['size_kb']:+.1f} KiB")
        for result in self.results:
            if result["note"]:
                terminalreporter.write_line(f"note: {result['nodeid']}: {result['note']}")


def _is_size(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and value > 0


def has_marked_items(items: List[pytest.Item]) -> bool:
    """Whether any collected test asks for the memory check by marker."""
    return any(item.get_closest_marker(MARKER) is not None for item in items)

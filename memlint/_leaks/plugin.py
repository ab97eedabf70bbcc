"""The per-test half of the pytest plugin, registered only when leak checks are on.

A test is watched from before its setup to after its teardown (scope ``test``) or around
its call only (scope ``call``). The verdict is attached to the report of the phase that
ends the window: with scope ``test`` that is the teardown report, so a leak shows as an
error at teardown (as a failing fixture finalizer would), with scope ``call`` the test
itself fails. Leak details travel on the report as plain data, which is how they reach
the controller under pytest-xdist; the summary and the JSON file are written there.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from typing import Any, Dict, Generator, List, Optional, Tuple

import pytest

from memlint._leaks import processes
from memlint._leaks.checker import LeakChecker
from memlint._leaks.markers import check_marker_keywords
from memlint._leaks.model import AllowList, Leak, LeakWarning, format_leaks
from memlint._leaks.settings import LeakSettings, SettingsError, parse_grace_period

MARKER = "memlint_leaks"
_MARKER_KEYS = ("enabled", "allow", "grace_period")
# pytest's own base temp folder is made lazily by the first test that asks for tmp_path.
_IGNORED_TEMP_NAMES = ("pytest-of-",)


class LeakPlugin:
    """Starts a ``LeakChecker`` per test and turns its findings into report outcomes."""

    def __init__(self, config: pytest.Config, settings: LeakSettings) -> None:
        self.config = config
        self.settings = settings
        self.is_worker = hasattr(config, "workerinput")
        if settings.report and not self.is_worker:
            check_report_path(settings.report, str(config.invocation_params.dir))
        self._checker: Optional[LeakChecker] = None
        self._spoiled: Dict[str, str] = {}
        self.checked = 0
        self.results: List[Dict[str, Any]] = []
        self.memory_results: List[Dict[str, Any]] = []
        self.notes: List[str] = []
        # Under xdist, per worker: how many leaking tests it reported and we received.
        self._received: Dict[str, int] = {}
        self.lost: List[str] = []
        # Orphans of the tests' shell commands (``sleep 30 &``) are reparented to this
        # process, where the child-process scan sees them.
        processes.become_subreaper()

    def pytest_report_header(self) -> str:
        settings = self.settings
        source = f"; [leaks] table read by {settings.table_reader}" if settings.table_reader else ""
        return (
            f"memlint leak checks: mode={settings.mode}, scope={settings.scope}, "
            f"grace-period={settings.grace_period:g}s, {len(settings.allow)} allow pattern(s){source}"
        )

    # ------------------------------------------------------------------ markers

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: List[pytest.Item]) -> None:
        for item in items:
            self._item_options(item)  # a malformed marker stops the run before any test

    def _item_options(self, item: pytest.Item) -> Tuple[bool, Tuple[str, ...], float]:
        enabled: Optional[bool] = None
        grace: Optional[float] = None
        allow: List[str] = list(self.settings.allow)
        for marker in item.iter_markers(MARKER):  # closest first
            where = f"{item.nodeid}: @pytest.mark.{MARKER}"
            check_marker_keywords(marker, where, _MARKER_KEYS)
            if "enabled" in marker.kwargs and enabled is None:
                if not isinstance(marker.kwargs["enabled"], bool):
                    raise pytest.UsageError(f"{where}: enabled must be True or False")
                enabled = marker.kwargs["enabled"]
            if "allow" in marker.kwargs:
                patterns = marker.kwargs["allow"]
                try:
                    if isinstance(patterns, str):
                        raise ValueError("allow must be a list of patterns, not a single string")
                    AllowList(patterns)
                except (TypeError, ValueError) as error:
                    raise pytest.UsageError(f"{where}: {error}") from error
                allow.extend(patterns)
            if "grace_period" in marker.kwargs and grace is None:
                try:
                    grace = parse_grace_period(marker.kwargs["grace_period"], "grace_period")
                except SettingsError as error:
                    raise pytest.UsageError(f"{where}: {error}") from error
        return (
            True if enabled is None else enabled,
            tuple(allow),
            self.settings.grace_period if grace is None else grace,
        )

    # ------------------------------------------------------------------ the window

    def _start(self, item: pytest.Item) -> None:
        enabled, allow, grace = self._item_options(item)
        if not enabled:
            return
        checker = LeakChecker(allow=allow, grace_period=grace, ignored_temp_names=_IGNORED_TEMP_NAMES)
        try:
            checker.start()
        except Exception as error:  # noqa: BLE001 - a broken check must not end the run
            self._note(f"the leak check could not start for {item.nodeid}: {type(error).__name__}: {error}")
            return
        self._checker = checker

    def _note(self, note: str) -> None:
        if note not in self.notes:
            self.notes.append(note)

    def _abandon(self) -> None:
        checker, self._checker = self._checker, None
        if checker is not None:
            checker.close()

    def close(self) -> None:
        """Stop a check left running (an interrupted run); safe to call more than once."""
        self._abandon()

    def __enter__(self) -> "LeakPlugin":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def pytest_unconfigure(self) -> None:
        self.close()

    # Old-style hook wrappers (``hookwrapper=True``) work with every pytest >= 7.

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: Optional[pytest.Item]) -> Generator[None, Any, None]:
        self._spoiled.pop(item.nodeid, None)
        if self.settings.scope == "test":
            self._start(item)
        try:
            yield
        finally:
            self._abandon()
            self._spoiled.pop(item.nodeid, None)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, Any, None]:
        if self.settings.scope == "call" and self._checker is None:
            self._start(item)
        yield

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef: Any, request: Any) -> Generator[None, Any, None]:
        # A module- or session-scoped fixture outlives the test that first needs it, so
        # what it creates is moved into the baseline instead of being blamed on that test.
        checker = self._checker
        if checker is None or fixturedef.scope == "function":
            yield
            return
        with checker.excluded():
            yield

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: Any) -> Generator[None, Any, None]:
        last_phase = "teardown" if self.settings.scope == "test" else "call"
        checker = self._checker
        leaks: Optional[List[Leak]] = None
        failure: Optional[str] = None
        if checker is not None and call.when == last_phase:
            self._checker = None
            try:
                leaks = checker.stop(owners=_wider_fixture_values(item))
            except Exception as error:  # noqa: BLE001 - shown on the test, never an INTERNALERROR
                failure = f"memlint: the leak check itself failed: {type(error).__name__}: {error}"
                leaks = []
            for note in checker.notes:
                self._note(note)
        outcome = yield
        if leaks is not None:
            self._judge(item, outcome.get_result(), leaks, failure)

    def _judge(self, item: pytest.Item, report: Any, leaks: List[Leak], failure: Optional[str]) -> None:
        spoiled = self._spoiled.get(item.nodeid)
        if spoiled is None and (report.failed or report.skipped or hasattr(report, "wasxfail")):
            spoiled = "xfail" if hasattr(report, "wasxfail") else report.outcome
        # Plain data only: it must survive pytest-xdist's report serialisation.
        report.memlint_leaks = [leak.to_dict() for leak in leaks]
        report.memlint_counted = spoiled is None
        report.memlint_notes = list(self.notes)
        if failure is not None:
            report.outcome = "failed"
            report.longrepr = failure
            return
        if not leaks or spoiled is not None:
            return
        message = format_leaks(leaks, f"memlint: {item.nodeid}")
        if self.settings.mode == "fail":
            report.outcome = "failed"
            report.longrepr = message
        else:
            # Warn mode promises not to fail: a ``filterwarnings = error`` (or ``-W error``)
            # meant for the project's own warnings must not turn this one into an error.
            with warnings.catch_warnings():
                warnings.simplefilter("always", LeakWarning)
                item.warn(LeakWarning(message))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.when != "teardown" and (report.failed or report.skipped or hasattr(report, "wasxfail")):
            self._spoiled.setdefault(report.nodeid, report.outcome)
        measured = getattr(report, "memlint_memory", None)  # from the memory check, if on
        if measured and (measured.get("problems") or measured.get("note")):
            self.memory_results.append({"nodeid": report.nodeid, **measured})
        leaks = getattr(report, "memlint_leaks", None)
        if leaks is None:
            return
        for note in getattr(report, "memlint_notes", ()):
            self._note(note)
        self.checked += 1
        if leaks:
            worker = _worker_id(report)
            if worker is not None:
                self._received[worker] = self._received.get(worker, 0) + 1
            self.results.append({
                "nodeid": report.nodeid,
                "phase": report.when,
                "counted": bool(getattr(report, "memlint_counted", True)),
                "leaks": leaks,
            })

    # ------------------------------------------------------------------ the end of the run

    # ------------------------------------------------------------------ xdist accounting

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.is_worker:
            # Sent to the controller with the worker's last message, after every report.
            self.config.workeroutput["memlint_leaking_reports"] = len(self.results)  # type: ignore[attr-defined]
            return
        if self.lost:
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
        self._write_report()

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """Controller side: check that every leak report a worker made has arrived."""
        output = getattr(node, "workeroutput", None) or {}
        worker = _node_id(node)
        sent = output.get("memlint_leaking_reports")
        received = self._received.get(worker, 0)
        if sent is None and error is None:
            return  # a worker without the plugin (it cannot happen with the same options)
        if sent is None:
            self.lost.append(f"worker {worker} went down before it could say how many tests leaked")
        elif sent != received:
            self.lost.append(f"worker {worker}: {sent - received} of {sent} leak report(s) did not arrive")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker:
            return
        counted = [result for result in self.results if result["counted"]]
        total = sum(len(result["leaks"]) for result in counted)
        verb = "failed" if self.settings.mode == "fail" else "warned"
        terminalreporter.write_sep("-", "memlint leak check")
        terminalreporter.write_line(
            f"{self.checked} test{'s' if self.checked != 1 else ''} checked, "
            f"{len(counted)} leaked ({total} resource{'s' if total != 1 else ''}; {verb})"
        )
        for result in counted:
            terminalreporter.write_line(f"{result['nodeid']}:")
            for leak in result["leaks"]:
                terminalreporter.write_line(f"    {_describe(leak)}")
        ignored = [result for result in self.results if not result["counted"]]
        if ignored:
            terminalreporter.write_line(
                f"{len(ignored)} failed, skipped or xfail test(s) also left resources behind (not counted)"
            )
        for note in self.notes:
            terminalreporter.write_line(f"note: {note}")
        for lost in self.lost:
            terminalreporter.write_line(f"memlint: LEAK REPORTS LOST: {lost}; the run cannot pass", red=True)

    def _write_report(self) -> None:
        if not self.settings.report:
            return
        path = os.path.join(str(self.config.invocation_params.dir), self.settings.report)
        counted = [result for result in self.results if result["counted"]]
        document = {
            "version": 1,
            "settings": {
                "mode": self.settings.mode,
                "scope": self.settings.scope,
                "allow": list(self.settings.allow),
                "grace_period": self.settings.grace_period,
            },
            "tests_checked": self.checked,
            "tests_leaking": len(counted),
            "leaks": sum(len(result["leaks"]) for result in counted),
            "results": self.results,
            "notes": self.notes,
            "lost": self.lost,
            "memory": self.memory_results,
        }
        _write_json_atomically(path, document)


def _wider_fixture_values(item: pytest.Item) -> List[Any]:
    """The values of the item's module-, class-, package- and session-scoped fixtures."""
    values = []
    info = getattr(item, "_fixtureinfo", None)
    for fixturedefs in getattr(info, "name2fixturedefs", {}).values():
        for fixturedef in fixturedefs:
            cached = getattr(fixturedef, "cached_result", None)
            if fixturedef.scope != "function" and cached is not None and cached[0] is not None:
                values.append(cached[0])
    return values


def _worker_id(report: Any) -> Optional[str]:
    node = getattr(report, "node", None)  # set by xdist on the controller
    return None if node is None else _node_id(node)


def _node_id(node: Any) -> str:
    workerinput = getattr(node, "workerinput", None) or {}
    return str(workerinput.get("workerid") or getattr(getattr(node, "gateway", None), "id", "?"))


def check_report_path(path: str, base: str) -> None:
    """Fail at the start of the run, not after it, when the JSON report cannot be written."""
    folder = os.path.dirname(os.path.abspath(os.path.join(base, path)))
    if not os.path.isdir(folder):
        raise pytest.UsageError(f"--memlint-leaks-report {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise pytest.UsageError(f"--memlint-leaks-report {path}: the folder {folder} is not writable")


def _describe(data: Dict[str, Any]) -> str:
    site = data.get("site")
    where = f"{_relative(site['file'])}:{site['line']}" if site else None
    if site and site.get("test"):
        where += f", called from {_relative(site['test']['file'])}:{site['test']['line']}"
    text = f"{data['kind']} {data['name']}"
    if data.get("detail"):
        text += f" ({data['detail']})"
    return text + (f", created at {where}" if where else ", creation site unknown")


def _relative(path: str) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith(os.pardir) else relative


def _write_json_atomically(path: str, document: Dict[str, Any]) -> None:
    """Write to a temporary file beside ``path`` and rename it over, so CI never reads half."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=".memlint-leaks-", suffix=".json", dir=directory)
    try:
        try:
            stream = os.fdopen(fd, "w", encoding="utf-8")
        except BaseException:
            os.close(fd)
            raise
        with stream:
            json.dump(document, stream, indent=2, sort_keys=True)
            stream.write("\n")
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise

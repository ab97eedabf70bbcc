"""Leak reports that must not get lost: under xdist with undecodable names, into a missing
folder, in warn mode under ``filterwarnings = error``."""

from __future__ import annotations

import json

import pytest

pytest_plugins = ["pytester"]

FAST = "[pytest]\nmemlint_leaks_grace_period = 0.1\n"

# The leaked file's name is not valid UTF-8.
UNDECODABLE = '''
import os

KEEP = []


def test_leaks_undecodable_name():
    KEEP.append(open(os.path.join(os.fsencode(os.getcwd()), b"caf\\xe9.txt"), "wb"))


def test_clean():
    pass
'''


@pytest.mark.slow
def test_xdist_reports_a_leak_with_an_undecodable_name(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist", reason="pytest-xdist (from the test extra) is not installed")
    pytester.makeini(FAST)
    pytester.makepyfile(test_undecodable=UNDECODABLE)
    result = pytester.runpytest_subprocess(
        "-p", "xdist", "-n", "2", "--memlint-leaks", "--memlint-leaks-report", "leaks.json"
    )
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*2 tests checked, 1 leaked*", "*caf\\xe9.txt*"])
    document = json.loads(pytester.path.joinpath("leaks.json").read_text(encoding="utf-8"))
    [entry] = document["results"]
    [leak] = entry["leaks"]
    assert leak["name"].endswith("caf\\xe9.txt")


@pytest.mark.slow
def test_xdist_run_fails_when_a_worker_report_is_lost(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist", reason="pytest-xdist (from the test extra) is not installed")
    pytester.makeini(FAST)
    pytester.makepyfile(test_undecodable=UNDECODABLE)
    # Simulates a report lost on the way: the controller drops the leak data of one report.
    pytester.makeconftest(
        '''
        import pytest

        @pytest.hookimpl(wrapper=True)
        def pytest_runtest_logreport(report):
            if hasattr(report, "node") and getattr(report, "memlint_leaks", None):
                del report.memlint_leaks
            return (yield)
        '''
    )
    result = pytester.runpytest_subprocess("-p", "xdist", "-n", "2", "--memlint-leaks", "--memlint-leaks-mode=warn")
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR, result.stdout.str()
    result.stdout.fnmatch_lines(["*LEAK REPORTS LOST: worker gw*: 1 of 1 leak report(s) did not arrive*"])


def test_report_into_a_missing_folder_is_a_usage_error_before_any_test(pytester: pytest.Pytester) -> None:
    pytester.makeini(FAST)
    pytester.makepyfile(test_one="def test_one():\n    raise SystemExit('the suite ran')\n")
    result = pytester.runpytest("--memlint-leaks-report", "missing/leaks.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--memlint-leaks-report missing/leaks.json: the folder * does not exist*"])
    assert "the suite ran" not in result.stdout.str()


@pytest.mark.parametrize("how", ["ini", "command line"])
def test_warn_mode_does_not_fail_under_an_error_filter(pytester: pytest.Pytester, how: str) -> None:
    pytester.makeini(FAST + ("filterwarnings = error\n" if how == "ini" else ""))
    pytester.makepyfile(test_leaky="KEEP = []\n\ndef test_leaks():\n    KEEP.append(open(__file__))\n")
    extra = ["-W", "error"] if how == "command line" else []
    # In a child process: run in-process, files that earlier pytester sessions left to the
    # garbage collector could be collected during this one and be counted as its leaks.
    result = pytester.runpytest_subprocess("--memlint-leaks", "--memlint-leaks-mode=warn", *extra)
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*LeakWarning*test_leaks leaked 1 resource*", "*1 leaked (1 resource; warned)*"])

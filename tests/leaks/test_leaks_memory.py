"""The memory-growth check: planted per-call growth is found with its allocation site, a
cache filled once is not growth, a peak over the limit fails, and it is opt-in."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SUITE = '''
import pytest

KEPT = []
CACHE = {}


def grow():
    KEPT.append(bytearray(200 * 1024))  # GROWTH-SITE


def fill_cache_once():
    if not CACHE:
        CACHE["table"] = [bytearray(1024) for _ in range(1000)]


@pytest.mark.memlint_memory(leak_kb=50)
def test_grows_every_call():
    grow()


@pytest.mark.memlint_memory(leak_kb=50)
def test_warms_a_cache():
    fill_cache_once()


@pytest.mark.memlint_memory(limit_mb=5)
def test_peak_over_the_limit():
    assert len(bytearray(20 * 1024 * 1024)) > 0


def test_not_marked_grows():
    grow()
'''


def _line(marker: str) -> int:
    return next(number for number, line in enumerate(SUITE.splitlines(), 1) if marker in line)


def test_marked_tests_are_measured_in_any_run(pytester: pytest.Pytester) -> None:
    (pytester.path / "test_memory.py").write_text(SUITE, encoding="utf-8")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=2)
    output = result.stdout.str()
    assert "FAILED test_memory.py::test_grows_every_call" in output
    assert "FAILED test_memory.py::test_peak_over_the_limit" in output
    result.stdout.fnmatch_lines([
        "*memory grew by 200.* KiB per call over 3 repeated calls (limit 50 KiB per call)*",
        f"*test_memory.py:{_line('GROWTH-SITE')}: +600.* KiB*",
        "*used 20.0 MiB at its peak, more than the limit of 5 MiB*",
        "*3 tests measured, 2 over their limits*",
    ])
    assert "RSS over the same calls" in output


def test_flag_measures_every_test(pytester: pytest.Pytester) -> None:
    (pytester.path / "test_memory.py").write_text(SUITE, encoding="utf-8")
    result = pytester.runpytest("-p", "no:cacheprovider", "--memlint-memory", "-k", "not_marked or cache")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*2 tests measured, 1 over their limits*", "FAILED test_memory.py::test_not_marked_grows*"])


def test_threshold_option(pytester: pytest.Pytester) -> None:
    (pytester.path / "test_memory.py").write_text(SUITE, encoding="utf-8")
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--memlint-memory", "--memlint-memory-leak-kb", "1000", "-k", "not_marked"
    )
    result.assert_outcomes(passed=1)


def test_malformed_memory_marker_stops_the_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_bad='''
        import pytest

        @pytest.mark.memlint_memory(leak_kb="lots")
        def test_it():
            pass
        '''
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*memlint_memory: leak_kb must be a number > 0*"])


def test_off_without_flag_or_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plain='''
        import sys

        def test_it(request):
            assert request.config.pluginmanager.get_plugin("memlint-memory") is None
            assert "memlint._leaks.memory" not in sys.modules
        '''
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)

"""The leak-check plugin's switches, scopes, fixtures, outcomes, report file and xdist."""

from __future__ import annotations

import json
import os
import textwrap

import pytest

pytest_plugins = ["pytester"]

# A module-level list keeps the leaked objects alive until the inner session ends.
LEAKY = '''\
import threading
import pytest

KEEP = []


def test_leaks():
    KEEP.append(open(__file__))


def test_clean():
    with open(__file__) as handle:
        handle.read()
'''

FAST = "[pytest]\nmemlint_leaks_grace_period = 0.1\n"


def _leaky(pytester: pytest.Pytester, ini: str = FAST) -> None:
    pytester.makeini(ini)
    pytester.makepyfile(test_leaky=LEAKY)


# --------------------------------------------------------------------------- switching on/off


@pytest.mark.slow
def test_off_by_default_and_imports_nothing_heavy(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(
        test_leaky=LEAKY
        + textwrap.dedent(
            '''
            import sys

            def test_plugin_is_idle(request):
                assert request.config.pluginmanager.get_plugin("memlint-leaks") is None
                heavy = [
                    "memlint._leaks.plugin", "memlint._leaks.checker", "memlint._leaks.sites", "psutil",
                    "memlint._leaks.processes", "memlint._leaks.memory", "memlint._leaks.memory_plugin",
                ]
                assert [name for name in heavy if name in sys.modules] == []
            '''
        )
    )
    # A fresh interpreter, so that modules imported by other tests do not count.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    assert "memlint leak check" not in result.stdout.str()


def test_flag_turns_it_on(pytester: pytest.Pytester) -> None:
    _leaky(pytester)
    result = pytester.runpytest("--memlint-leaks")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_leaks*", "*2 tests checked, 1 leaked (1 resource; failed)*"])


def test_ini_option_turns_it_on(pytester: pytest.Pytester) -> None:
    _leaky(pytester, FAST + "memlint_leaks = true\n")
    pytester.runpytest().assert_outcomes(passed=2, errors=1)


@pytest.mark.slow
def test_no_flag_wins_over_the_ini_option(pytester: pytest.Pytester) -> None:
    _leaky(pytester, FAST + "memlint_leaks = true\n")
    result = pytester.runpytest("--no-memlint-leaks")
    result.assert_outcomes(passed=2)
    assert "memlint leak check" not in result.stdout.str()


@pytest.mark.slow
def test_pyproject_table_turns_it_on(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(
        '[tool.pytest.ini_options]\n\n[tool.memlint.leaks]\nenabled = true\ngrace-period = 0.1\nmode = "warn"\n'
    )
    pytester.makepyfile(test_leaky=LEAKY)
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines([
        "memlint leak checks: mode=warn, scope=test, grace-period=0.1s, 0 allow pattern(s); ?leaks? table read by *",
        "*LeakWarning: memlint: test_leaky.py::test_leaks leaked 1 resource*",
    ])


def test_memlint_toml_leaks_table_turns_it_on(pytester: pytest.Pytester) -> None:
    _leaky(pytester, "[pytest]\n")
    pytester.path.joinpath("memlint.toml").write_text("[leaks]\nenabled = true\ngrace-period = 0\n", encoding="utf-8")
    pytester.runpytest().assert_outcomes(passed=2, errors=1)


def test_invalid_settings_are_usage_errors(pytester: pytest.Pytester) -> None:
    _leaky(pytester, "[pytest]\nmemlint_leaks = true\nmemlint_leaks_grace_period = soon\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*grace-period must be a number of seconds, got 'soon'*"])


def test_invalid_table_is_a_usage_error(pytester: pytest.Pytester) -> None:
    _leaky(pytester, "[pytest]\n")
    pytester.path.joinpath("memlint.toml").write_text('[leaks]\nenabled = "yes"\n', encoding="utf-8")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*enabled must be true or false*"])


# --------------------------------------------------------------------------- markers and modes


def test_marker_switches_one_test_off(pytester: pytest.Pytester) -> None:
    _leaky(pytester)
    pytester.makepyfile(
        test_marked='''
        import pytest
        KEEP = []

        @pytest.mark.memlint_leaks(enabled=False)
        def test_leaks_on_purpose():
            KEEP.append(open(__file__))
        '''
    )
    result = pytester.runpytest("--memlint-leaks", "test_marked.py")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*0 tests checked, 0 leaked*"])


def test_marker_allow_accepts_matching_leaks_only(pytester: pytest.Pytester) -> None:
    pytester.makeini(FAST)
    pytester.makepyfile(
        test_marked='''
        import threading
        import pytest
        STOP = threading.Event()

        @pytest.mark.memlint_leaks(allow=["thread:accepted-*"])
        def test_allowed():
            threading.Thread(target=STOP.wait, name="accepted-1", daemon=True).start()

        @pytest.mark.memlint_leaks(allow=["thread:accepted-*"])
        def test_not_allowed():
            threading.Thread(target=STOP.wait, name="other-1", daemon=True).start()

        def test_release():
            STOP.set()
        '''
    )
    result = pytester.runpytest("--memlint-leaks", "-p", "no:randomly")
    result.assert_outcomes(passed=3, errors=1)
    output = result.stdout.str()
    assert "ERROR at teardown of test_not_allowed" in output
    assert "thread other-1 (daemon)" in output
    assert "accepted-1" not in output


def test_malformed_marker_stops_the_run(pytester: pytest.Pytester) -> None:
    pytester.makeini(FAST)
    pytester.makepyfile(
        test_marked='''
        import pytest

        @pytest.mark.memlint_leaks(allow="thread:*")
        def test_it():
            pass
        '''
    )
    result = pytester.runpytest("--memlint-leaks")
    assert result.ret != 0
    result.stdout.no_fnmatch_line("*1 passed*")
    assert "allow must be a list of patterns" in result.stdout.str() + result.stderr.str()


def test_marker_is_registered_for_strict_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_marked='''
        import pytest

        @pytest.mark.memlint_leaks(enabled=False)
        def test_it():
            pass
        '''
    )
    pytester.runpytest("--strict-markers").assert_outcomes(passed=1)


def test_warn_mode_passes_with_a_warning(pytester: pytest.Pytester) -> None:
    _leaky(pytester)
    result = pytester.runpytest("--memlint-leaks", "--memlint-leaks-mode", "warn")
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(["*LeakWarning*test_leaks leaked 1 resource*", "*1 leaked (1 resource; warned)*"])


# --------------------------------------------------------------------------- scope and fixtures


FIXTURE_LEAK = '''
import pytest
KEEP = []

@pytest.fixture
def leaky_fixture():
    KEEP.append(open(__file__))
    yield

def test_uses_fixture(leaky_fixture):
    pass

def test_leaks_in_call():
    KEEP.append(open(__file__))
'''


def test_scope_test_covers_fixtures_and_reports_at_teardown(pytester: pytest.Pytester) -> None:
    pytester.makeini(FAST)
    pytester.makepyfile(test_scope=FIXTURE_LEAK)
    result = pytester.runpytest("--memlint-leaks")
    result.assert_outcomes(passed=2, errors=2)


@pytest.mark.slow
def test_scope_call_covers_the_call_only_and_fails_the_test(pytester: pytest.Pytester) -> None:
    pytester.makeini(FAST)
    pytester.makepyfile(test_scope=FIXTURE_LEAK)
    result = pytester.runpytest("--memlint-leaks", "--memlint-leaks-scope", "call")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["FAILED test_scope.py::test_leaks_in_call*"])


def test_wider_scoped_fixtures_are_not_blamed_on_a_test(pytester: pytest.Pytester) -> None:
    pytester.makeini(FAST)
    pytester.makeconftest(
        '''
        import socket, subprocess, sys, tempfile, threading, shutil
        import pytest

        @pytest.fixture(scope="session")
        def session_server():
            server = socket.socket()
            server.bind(("127.0.0.1", 0))
            server.listen()
            stop = threading.Event()
            thread = threading.Thread(target=stop.wait, name="session-thread")
            thread.start()
            folder = tempfile.mkdtemp(prefix="memlint-session-")
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
            yield server
            child.kill()
            child.wait()
            shutil.rmtree(folder)
            stop.set()
            thread.join()
            server.close()
        '''
    )
    pytester.makepyfile(
        test_wide_scopes='''
        import pytest

        @pytest.fixture(scope="module")
        def module_file():
            with open(__file__) as handle:
                yield handle

        @pytest.fixture(scope="class")
        def class_file():
            with open(__file__) as handle:
                yield handle

        def test_first(session_server, module_file):
            assert session_server.getsockname()[1] > 0

        def test_second(session_server, module_file):
            assert not module_file.closed

        class TestGroup:
            def test_in_class(self, class_file, session_server):
                assert not class_file.closed
        '''
    )
    result = pytester.runpytest("--memlint-leaks")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*3 tests checked, 0 leaked*"])


def test_skipped_and_xfail_tests_do_not_break(pytester: pytest.Pytester) -> None:
    pytester.makeini(FAST)
    pytester.makepyfile(
        test_outcomes='''
        import pytest
        KEEP = []

        def test_skipped_in_body():
            KEEP.append(open(__file__))
            pytest.skip("not today")

        @pytest.mark.skip(reason="never")
        def test_skipped_by_marker():
            pass

        @pytest.mark.xfail(reason="known bug")
        def test_xfail_leaks_and_fails():
            KEEP.append(open(__file__))
            assert False

        @pytest.mark.xfail(reason="known bug", strict=False)
        def test_xpass():
            pass

        def test_fails_and_leaks():
            KEEP.append(open(__file__))
            assert False
        '''
    )
    result = pytester.runpytest("--memlint-leaks")
    result.assert_outcomes(passed=0, skipped=2, xfailed=1, xpassed=1, failed=1, errors=0)
    result.stdout.fnmatch_lines(["*3 failed, skipped or xfail test(s) also left resources behind (not counted)*"])


def test_warning_for_an_object_from_an_earlier_test_is_a_note(pytester: pytest.Pytester) -> None:
    pytester.makeini(FAST)
    pytester.makepyfile(
        test_order='''
        import gc
        import pytest

        @pytest.mark.memlint_leaks(enabled=False)
        def test_a_leaves_garbage():
            gc.disable()  # so that only test_b collects it
            handle = open(__file__)
            handle.cycle = handle

        def test_b_collects_it():
            gc.enable()
            gc.collect()
        '''
    )
    result = pytester.runpytest("--memlint-leaks", "-p", "no:randomly")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([
        "*1 test checked, 0 leaked*",
        "note: a ResourceWarning was raised for an object made before the check began: unclosed file*",
    ])


# --------------------------------------------------------------------------- report file, xdist


@pytest.mark.slow
def test_json_report(pytester: pytest.Pytester) -> None:
    _leaky(pytester)
    pytester.mkdir("out")
    result = pytester.runpytest("--memlint-leaks-report", "out/leaks.json")
    result.assert_outcomes(passed=2, errors=1)
    document = json.loads(pytester.path.joinpath("out", "leaks.json").read_text(encoding="utf-8"))
    assert document["tests_checked"] == 2
    assert document["tests_leaking"] == 1
    [entry] = document["results"]
    assert entry["nodeid"] == "test_leaky.py::test_leaks"
    [leak] = entry["leaks"]
    assert leak["kind"] == "fd"
    assert leak["name"] == str(pytester.path / "test_leaky.py")
    assert leak["site"]["line"] == LEAKY.splitlines().index("    KEEP.append(open(__file__))") + 1
    assert [p.name for p in pytester.path.joinpath("out").iterdir()] == ["leaks.json"]


@pytest.mark.slow
def test_xdist_workers(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist", reason="pytest-xdist (from the test extra) is not installed")
    _leaky(pytester)
    pytester.makepyfile(
        test_more='''
        import tempfile

        def test_leaks_temp():
            tempfile.mkstemp(prefix="memlint-xdist-")

        def test_fine():
            pass
        '''
    )
    result = pytester.runpytest_subprocess(
        "-p", "xdist", "-n", "2", "--memlint-leaks", "--memlint-leaks-report", "leaks.json"
    )
    result.assert_outcomes(passed=4, errors=2)
    result.stdout.fnmatch_lines(["*4 tests checked, 2 leaked*"])
    document = json.loads(pytester.path.joinpath("leaks.json").read_text(encoding="utf-8"))
    kinds = sorted(leak["kind"] for entry in document["results"] for leak in entry["leaks"])
    # mkstemp leaves both an open descriptor and a file in the temp directory.
    assert kinds == ["fd", "fd", "temp"]
    for entry in document["results"]:
        for leak in entry["leaks"]:
            if leak["kind"] == "temp":
                os.unlink(leak["name"])

"""One leaking test per resource kind, each with a clean twin, run by a real inner pytest."""

from __future__ import annotations

import textwrap
from typing import Dict, List, Tuple

import pytest

pytest_plugins = ["pytester"]

# The inner project: resources the leaking tests keep are released after the run, in
# ``pytest_sessionfinish``, so nothing outlives the inner session.
CONFTEST = '''
import threading

KEEP = []


def pytest_sessionfinish(session):
    import os, shutil, socket, subprocess
    for item in KEEP:
        if isinstance(item, subprocess.Popen):
            item.kill()
            item.wait()
        elif isinstance(item, threading.Event):
            item.set()
        elif isinstance(item, threading.Thread):
            item.join()
        elif isinstance(item, str):
            shutil.rmtree(item, ignore_errors=True)
        else:
            item.close()
    KEEP.clear()
'''

PREAMBLE = '''
import os, socket, subprocess, sys, tempfile, threading
from conftest import KEEP
'''

# kind -> (leaking body, clean body, texts the failure message must contain)
# ``# SITE`` marks the line the message must name as the creation site.
CASES: Dict[str, Tuple[str, str, List[str]]] = {
    "fd": (
        '''
        def test_it():
            KEEP.append(open(__file__))  # SITE
        ''',
        '''
        def test_it():
            with open(__file__) as handle:
                handle.read()
        ''',
        ["fd ", "test_it.py (fd "],
    ),
    "socket": (
        '''
        def test_it():
            server = socket.socket()  # SITE
            KEEP.append(server)
            server.bind(("127.0.0.1", 0))
            server.listen()
        ''',
        '''
        def test_it():
            with socket.socket() as server:
                server.bind(("127.0.0.1", 0))
                server.listen()
        ''',
        ["socket 127.0.0.1:", "AF_INET, SOCK_STREAM"],
    ),
    "thread": (
        '''
        def test_it():
            stop = threading.Event()
            KEEP.append(stop)
            threading.Thread(target=stop.wait, name="stuck-worker", daemon=True).start()  # SITE
        ''',
        '''
        def test_it():
            stop = threading.Event()
            worker = threading.Thread(target=stop.wait, name="stuck-worker", daemon=True)
            worker.start()
            stop.set()
            worker.join()
        ''',
        ["thread stuck-worker (daemon)"],
    ),
    "process": (
        '''
        def test_it():
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # SITE
            KEEP.append(child)
        ''',
        '''
        def test_it():
            with subprocess.Popen([sys.executable, "-c", "pass"]) as child:
                child.wait()
        ''',
        ["process ", "-c import time; time.sleep(60) (pid "],
    ),
    "temp": (
        '''
        def test_it():
            KEEP.append(tempfile.mkdtemp(prefix="memlint-leaky-"))  # SITE
        ''',
        '''
        def test_it():
            with tempfile.TemporaryDirectory(prefix="memlint-leaky-") as folder:
                with open(os.path.join(folder, "data"), "w") as handle:
                    handle.write("x")
        ''',
        ["temp ", "memlint-leaky-", "directory left in the temp directory"],
    ),
    "resource-warning": (
        '''
        def test_it():
            handle = open(__file__)  # SITE
            handle.read()
            del handle  # closed by the garbage collector, not by the code
        ''',
        '''
        def test_it():
            handle = open(__file__)
            try:
                handle.read()
            finally:
                handle.close()
        ''',
        ["resource-warning unclosed file", "test_it.py"],
    ),
    "resource-warning-cycle": (
        '''
        def test_it():
            handle = open(__file__)  # SITE
            handle.cycle = handle  # only a full collection frees it
        ''',
        '''
        def test_it():
            with open(__file__) as handle:
                handle.cycle = handle
            del handle.cycle
        ''',
        ["resource-warning unclosed file"],
    ),
    "unraisable": (
        '''
        class Finalised:
            def __del__(self):
                raise ValueError("cleanup failed")  # SITE


        def test_it():
            Finalised()
        ''',
        '''
        class Finalised:
            def __del__(self):
                pass


        def test_it():
            Finalised()
        ''',
        ["unraisable ValueError: cleanup failed"],
    ),
}


def _site_line(body: str) -> int:
    lines = (PREAMBLE + textwrap.dedent(body)).splitlines()
    return next(number for number, line in enumerate(lines, 1) if "# SITE" in line)


def _run(pytester: pytest.Pytester, body: str) -> pytest.RunResult:
    pytester.makeconftest(CONFTEST)
    # Written as is (makepyfile would reformat it), so line numbers match ``_site_line``.
    (pytester.path / "test_it.py").write_text(PREAMBLE + textwrap.dedent(body), encoding="utf-8")
    pytester.makeini("[pytest]\nmemlint_leaks_grace_period = 0.1\n")
    return pytester.runpytest("--memlint-leaks", "-p", "no:cacheprovider")


@pytest.mark.parametrize("kind", sorted(CASES))
def test_leak_fails_and_names_the_resource_and_site(pytester: pytest.Pytester, kind: str) -> None:
    leaking, _, expected = CASES[kind]
    result = _run(pytester, leaking)
    result.assert_outcomes(passed=1, errors=1)
    output = result.stdout.str()
    assert "ERROR at teardown of test_it" in output
    assert "memlint: test_it.py::test_it leaked 1 resource:" in output
    for text in expected:
        assert text in output, text
    assert f"created at test_it.py:{_site_line(leaking)}" in output
    assert "1 test checked, 1 leaked (1 resource; failed)" in output


@pytest.mark.parametrize("kind", sorted(CASES))
@pytest.mark.slow
def test_clean_twin_passes(pytester: pytest.Pytester, kind: str) -> None:
    _, clean, _ = CASES[kind]
    result = _run(pytester, clean)
    result.assert_outcomes(passed=1)
    output = result.stdout.str()
    assert "1 test checked, 0 leaked (0 resources; failed)" in output
    assert "leaked 1 resource" not in output

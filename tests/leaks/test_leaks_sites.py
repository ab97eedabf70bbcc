"""Creation sites that point at the test, resources without an audit event of their own,
and lazily started pools of wider-scoped fixtures, in one real inner pytest run."""

from __future__ import annotations

import json
from typing import Any, Dict, List

import pytest

pytest_plugins = ["pytester"]

HELPERS = '''\
def open_data(path):
    return open(path)  # HELPER-SITE
'''

TESTS = '''\
import concurrent.futures
import selectors
import sqlite3

import pytest

from helpers import open_data

KEEP = []


@pytest.fixture
def data_file():
    return open_data(__file__)  # FIXTURE-SITE


def test_through_a_helper():
    KEEP.append(open_data(__file__))  # TEST-SITE


def test_through_a_fixture(data_file):
    KEEP.append(data_file)


def test_sqlite(tmp_path):
    KEEP.append(sqlite3.connect(str(tmp_path / "data.sqlite")))  # SQLITE-SITE


def test_selector():
    KEEP.append(selectors.DefaultSelector())  # SELECTOR-SITE


@pytest.fixture(scope="module")
def pool():
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as executor:
        yield executor


@pytest.fixture(scope="module")
def service(pool):
    class Service:
        def __init__(self, executor):
            self.executor = executor
    return Service(pool)


def test_pool_starts_its_threads_on_first_use(pool):
    assert pool.submit(sum, [1, 2]).result() == 3


def test_pool_held_by_a_service(service):
    assert list(service.executor.map(abs, [-1, -2, -3])) == [1, 2, 3]
'''


def _line(text: str, marker: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if marker in line)


@pytest.fixture(scope="module")
def leaks(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, List[Dict[str, Any]]]:
    import os
    import subprocess
    import sys

    folder = tmp_path_factory.mktemp("sites")
    (folder / "helpers.py").write_text(HELPERS, encoding="utf-8")
    (folder / "test_sites.py").write_text(TESTS, encoding="utf-8")
    (folder / "pytest.ini").write_text("[pytest]\nmemlint_leaks_grace_period = 0.1\n", encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "--memlint-leaks",
         "--memlint-leaks-report", "leaks.json", "test_sites.py"],
        cwd=folder, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(folder), os.environ.get("PYTHONPATH", "")])), timeout=300,
    )
    document = json.loads((folder / "leaks.json").read_text(encoding="utf-8"))
    found = {entry["nodeid"].split("::")[-1]: entry["leaks"] for entry in document["results"]}
    found["<output>"] = [{"text": completed.stdout}]
    return found


def _only_site(leaks: Dict[str, List[Dict[str, Any]]], test: str) -> Dict[str, Any]:
    assert test in leaks, leaks["<output>"][0]["text"]
    [leak] = leaks[test]
    assert leak["site"] is not None, leak
    return leak["site"]


def test_site_in_a_helper_also_names_the_test(leaks: Dict[str, List[Dict[str, Any]]]) -> None:
    site = _only_site(leaks, "test_through_a_helper")
    assert (site["file"].endswith("helpers.py"), site["line"]) == (True, _line(HELPERS, "HELPER-SITE"))
    assert site["test"]["function"] == "test_through_a_helper"
    assert site["test"]["line"] == _line(TESTS, "TEST-SITE")
    assert f"helpers.py:{_line(HELPERS, 'HELPER-SITE')}, called from test_sites.py:{_line(TESTS, 'TEST-SITE')}" in (
        leaks["<output>"][0]["text"]
    )


def test_site_in_a_helper_names_the_fixture(leaks: Dict[str, List[Dict[str, Any]]]) -> None:
    site = _only_site(leaks, "test_through_a_fixture")
    assert site["test"]["function"] == "data_file"
    assert site["test"]["line"] == _line(TESTS, "FIXTURE-SITE")


@pytest.mark.parametrize("test, marker", [("test_sqlite", "SQLITE-SITE"), ("test_selector", "SELECTOR-SITE")])
def test_resources_without_an_open_event_get_a_site(leaks: Dict[str, Any], test: str, marker: str) -> None:
    site = _only_site(leaks, test)
    assert site["line"] == _line(TESTS, marker)
    assert "test" not in site  # the site is the test itself


def test_lazily_started_pool_threads_belong_to_the_fixture(leaks: Dict[str, Any]) -> None:
    blamed = [name for name in leaks if name.startswith("test_pool")]
    assert blamed == [], leaks["<output>"][0]["text"]


def test_site_in_the_test_itself_names_no_second_frame() -> None:
    from memlint import LeakError, leakcheck

    kept: List[Any] = []
    with pytest.raises(LeakError) as caught:
        with leakcheck():
            kept.append(open(__file__))  # PLAIN-SITE
    for handle in kept:
        handle.close()
    [leak] = caught.value.leaks
    source = open(__file__).read()
    assert leak.site is not None and leak.site.lineno == _line(source, "PLAIN-" + "SITE")
    assert leak.site.test is None

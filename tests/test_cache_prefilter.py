"""The file-level prefilter must never change a result: checked with it on and off."""

from __future__ import annotations

import pytest

from memlint.api import check_files
from memlint.config import ConfigResolver, Overrides
from memlint.discovery import discover
from memlint.prefilter import CONTEXT_MANAGER_NAMES, needs_analysis, trigger_names

from conftest import REPO_ROOT

ALL_RULES = Overrides(select=("ALL",))


def findings_with_and_without_prefilter(paths, monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    resolver = ConfigResolver(ALL_RULES, isolated=True)
    files = discover(paths, resolver)
    assert files, paths
    on = check_files(files, resolver, prefilter=True)
    off = check_files(files, resolver, prefilter=False)
    return files, on, off


def test_fixtures_give_the_same_findings_with_and_without_the_prefilter(monkeypatch):
    files, on, off = findings_with_and_without_prefilter(["fixtures"], monkeypatch)
    assert on.findings == off.findings
    assert {finding.code for finding in on.findings} >= {"MEM001", "MEM003", "MEM004"}


@pytest.mark.slow
def test_memlint_and_its_tests_give_the_same_findings_either_way(monkeypatch):
    files, on, off = findings_with_and_without_prefilter(["memlint", "tests", "benchmarks"], monkeypatch)
    assert on.findings == off.findings
    assert on.sources == off.sources


def test_the_prefilter_does_skip_files():
    needs = needs_analysis({})
    assert not needs(b"x = 1\nprint(x)\n")
    assert not needs(b"reopen = closed = 1\nopened()\n")  # whole words only
    assert needs(b"f = open('x')\n")
    assert needs(b"from gzip import open as gzopen\n")
    assert needs(b"class C:\n    def __exit__(self, *a):\n        return True\n")
    assert needs(b"@contextlib.asynccontextmanager\nasync def f():\n    yield\n")


def test_configured_resources_are_triggers():
    assert not needs_analysis({})(b"conn = mylib.dial()\n")
    assert needs_analysis({"mylib.dial": "hang_up"})(b"conn = mylib.dial()\n")
    assert "dial" in trigger_names({"mylib.dial": "hang_up"})
    assert CONTEXT_MANAGER_NAMES <= trigger_names({})


@pytest.mark.parametrize(
    "source",
    [
        "import gzip as g\nf = g.open('x')\n",
        "from tempfile import mkstemp as make\nfd, name = make()\n",
        "from contextlib import contextmanager as cm\n@cm\ndef f():\n    x = 1\n    yield x\n    print('done')\n",
    ],
)
def test_aliases_still_pass_the_filter(source):
    assert needs_analysis({})(source.encode())

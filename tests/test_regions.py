"""Parsing only the statements that can hold a finding (memlint.regions) must never
change a result: the fixtures give the same findings, positions and fixes either way."""

from __future__ import annotations

import ast
from pathlib import Path

from memlint.api import check_files
from memlint.config import ConfigResolver
from memlint.discovery import discover
from memlint.regions import region_source, split_lines

from conftest import REPO_ROOT, findings_with_regions_on_and_off, write_tree


def _findings(paths, regions, monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    resolver = ConfigResolver(isolated=True)
    files = discover(paths, resolver)
    assert files, paths
    return check_files(files, resolver, regions=regions)


def test_fixtures_give_the_same_findings_and_fixes_with_and_without_regions(monkeypatch):
    on = _findings(["fixtures"], True, monkeypatch)
    off = _findings(["fixtures"], False, monkeypatch)
    assert [f.fix for f in on.findings] == [f.fix for f in off.findings]
    assert on.findings == off.findings
    assert {finding.code for finding in on.findings} >= {"MEM001", "MEM003", "MEM004"}


SAMPLE = '''"""A module."""
import sqlite3 as db
from os import path

VERSION = 1


def unrelated(x):
    return [x * 2 for _ in range(3)]


def make_conn(name):
    return db.connect(name)


def uses_factory():
    conn = make_conn("a")
    conn.execute("select 1")


def helper(value):
    return value + 1


def leaks():
    conn = db.connect(helper(1))
    conn.execute("x")


class Plain:
    def method(self):
        return 1


class Owner:
    """Keeps a socket."""

    def __init__(self):
        self.sock = db.connect("x")

    def use(self):
        return self.sock.execute("y")

    def other(self):
        return 2
'''


def _kept_names(source):
    selected = region_source(source, ast.parse(source), {})
    assert selected is not None
    assert len(split_lines(selected.text)) == len(split_lines(source))
    kept = set()
    for node in ast.walk(ast.parse(selected.text)):
        stub = isinstance(node, ast.FunctionDef) and [type(s) for s in node.body] == [ast.Pass]
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            kept.add(node.name + (" (stub)" if stub else ""))
    return selected, kept


def test_only_the_statements_that_can_matter_are_parsed():
    selected, kept = _kept_names(SAMPLE)
    # seeds (a trigger named in code), users of a local factory, what a kept one reads,
    # and in a kept class the members using an attribute bound from a resource
    assert kept == {"make_conn", "uses_factory", "helper", "leaks", "Owner", "__init__", "use", "other (stub)"}
    # every kept line is the file's own line, at the same place (or a stub's pass)
    for kept_line, line in zip(split_lines(selected.text), split_lines(SAMPLE)):
        assert kept_line in (line, "\n", line[: len(line) - len(line.lstrip())] + "pass\n")


def test_a_class_kept_for_its_name_keeps_what_building_one_runs():
    # MEM003's raise model judges whether building the class can raise from its dunder
    # methods and class-level statements (it refuses a class whose dunder is a stub):
    # supervisor's options.py read differently with regions on and off without them.
    source = (
        "import socket\n\nclass Base:\n    kind = make_kind()\n\n    def __init__(self):\n        self.x = 1\n\n"
        "    def m(self):\n        return 1\n\ndef f():\n    s = socket.socket()\n    return Base()\n"
        + "\ndef g():\n    return 2\n" * 4
    )
    selected, kept = _kept_names(source)
    assert {"Base", "__init__", "m (stub)"} <= kept
    assert "    kind = make_kind()\n" in selected.text and "        self.x = 1\n" in selected.text


def test_a_getter_returning_the_attribute_it_bound_keeps_its_users():
    # praisonaiagents deep_research_agent.py: a property makes the client, another method
    # uses it by the property's name; without that method a MEM004 differed on and off.
    source = (
        "import socket\n\nclass Agent:\n    @property\n    def conn(self):\n"
        "        if self._conn is None:\n            self._conn = socket.socket()\n        return self._conn\n\n"
        "    def send(self, data):\n        self.conn.sendall(data)\n\n    def other(self):\n        return 1\n"
        + "\ndef g():\n    return 2\n" * 4
    )
    selected, kept = _kept_names(source)
    assert {"conn", "send", "other (stub)"} <= kept


def test_a_module_level_release_keeps_the_statements_using_that_name():
    # praisonaiagents tests/test_posthog_fixed.py: `telemetry.shutdown()` makes `telemetry` a
    # resource known by its release (analysis.inferred); the calls between were left out and
    # the MEM003 differed with regions on and off.
    source = (
        "import make\nimport socket\n\ndef first():\n    with socket.socket() as s:\n        s.send(b'x')\n\n"
        "print('start')\ntelemetry = make.Telemetry()\ntelemetry.track('a')\nprint('x')\n"
        "telemetry.shutdown()\n" + "".join(f"\ndef g{n}():\n    x = {n}\n    return x * 2\n" for n in range(8))
    )
    selected = region_source(source, ast.parse(source), {})
    assert selected is not None
    assert "telemetry.track('a')" in selected.text and "print('x')" not in selected.text


def test_where_a_class_holding_a_resource_is_built_is_kept():
    # praisonaiagents parallel_executor.py: a context-manager class whose method makes an
    # executor is itself a resource (analysis.local_resources); the class building one lost
    # its MEM042.
    source = (
        "from concurrent.futures import ThreadPoolExecutor\n\nclass Pool:\n    def get(self):\n"
        "        self._ex = ThreadPoolExecutor()\n        return self._ex\n\n    def close(self):\n        self._ex.shutdown()\n\n"
        "    def __enter__(self):\n        return self\n\n    def __exit__(self, *exc):\n        self.close()\n\n"
        "class User:\n    def __init__(self):\n        self.pool = Pool()\n\n    def stop(self):\n        return 1\n"
        + "\ndef g():\n    return 2\n" * 4
    )
    selected, kept = _kept_names(source)
    assert "__init__" in kept and "__init__ (stub)" not in kept


def test_a_star_import_from_a_trigger_module_parses_the_whole_file():
    source = "from sqlite3 import *\n\ndef f():\n    return 1\n\n" + "def g():\n    c = connect('x')\n" * 3
    assert region_source(source, ast.parse(source), {}) is None


def test_form_feeds_and_crlf_keep_the_lines_of_the_file():
    source = "import os\r\nX = 1\r\n\x0c\r\ndef f():\r\n    return 1\r\n\r\ndef g():\r\n    return open('x')\r\n" + "def h():\r\n    pass\r\n" * 4
    selected, kept = _kept_names(source)
    assert kept == {"g"}
    assert selected.text.count("\r\n") == source.count("\r\n")


def test_a_value_registered_on_self_keeps_the_helper_that_releases_it():
    # distutils/tests/support.py: mkdtemp() registers the path, tearDown() removes each one
    # (by a release function, which is no trigger): without tearDown, a false MEM004.
    source = (
        "import tempfile, shutil\nX = 1\n\nclass Manager:\n    def setUp(self):\n        self.dirs = []\n\n"
        "    def tearDown(self):\n        while self.dirs:\n            shutil.rmtree(self.dirs.pop())\n\n"
        "    def mkdtemp(self):\n        d = tempfile.mkdtemp()\n        self.dirs.append(d)\n        return d\n\n"
        "    def unrelated(self):\n        return 1\n" + "\n\ndef other():\n    return 2\n" * 4
    )
    selected, kept = _kept_names(source)
    assert {"tearDown", "mkdtemp", "setUp", "unrelated (stub)"} <= kept


def test_the_registering_verbs_are_those_of_the_analysis():
    from memlint.analysis.facts import MAY_REGISTER
    from memlint.regions import _REGISTERING

    for verb in _REGISTERING:
        assert MAY_REGISTER.search(f"self.items.{verb}(value)".encode())
    assert not MAY_REGISTER.search(b"self.items.remove(value)")


def test_a_class_with_no_method_kept_gets_a_pass():
    # The statement that ends the imports is kept for the fixer, without its members.
    source = "import socket\n\nclass Base:\n    a = 1\n    b = 2\n\ndef f():\n    s = socket.socket()\n    return s\n" + "\ndef g():\n    return 1\n" * 3
    selected, kept = _kept_names(source)
    assert "Base" in kept
    assert "class Base:\n    pass\n\n" in selected.text


def _parsed_text(reads_whole_module):
    from memlint.engine import check_text
    from memlint.options import RuleOptions
    from memlint.rules.base import Rule

    seen = []

    class Probe(Rule):
        code = "MEM999"
        starts_from_resources = True

        def check(self, ctx):
            seen.append(ctx.module.code)
            return []

    Probe.reads_whole_module = reads_whole_module
    check_text(SAMPLE, "sample.py", [Probe()], RuleOptions(), prefilter=True)
    return seen[0]


def test_a_rule_reading_the_whole_module_gets_the_whole_file():
    assert _parsed_text(True) == SAMPLE
    assert _parsed_text(False) != SAMPLE


def test_a_file_whose_first_indentation_would_change_is_parsed_whole():
    # libcst takes the default indentation from the first indented block; the fixer
    # writes with it. Left out, the next block (two spaces) would set it instead.
    source = "import os\nX = 1\n\ndef quiet():\n    return 1\n\ndef g():\n  return open('x')\n" + "\ndef h():\n    return 2\n" * 4
    assert region_source(source, ast.parse(source), {}) is None
    same = source.replace("\n  return open", "\n    return open")
    assert region_source(same, ast.parse(same), {}) is not None


def test_a_kept_text_without_an_indented_block_has_libcst_default_indentation():
    # Only module-level statements are kept: libcst then indents with four spaces, the
    # file's own indentation here, so the regions are used; with two spaces they are not.
    source = "import os\nf = open('x')\n" + "\ndef h():\n    return 2\n" * 6
    assert region_source(source, ast.parse(source), {}) is not None
    two = source.replace("\n    return 2", "\n  return 2")
    assert region_source(two, ast.parse(two), {}) is None


def test_the_selected_rules_own_triggers_choose_regions_too():
    # MEM061 starts from task-creating calls, which are no resource triggers.
    source = "import asyncio\nX = 1\n\nasync def spawn(coro):\n    asyncio.create_task(coro)\n" + "\ndef h():\n    return 2\n" * 6
    tree = ast.parse(source)
    with_tasks = region_source(source, tree, {}, ["MEM061"])
    assert with_tasks is not None and "create_task" in with_tasks.text
    without = region_source(source, tree, {}, ["MEM001"])
    assert without is None or "create_task" not in without.text


PROJECT = {
    "pkg/__init__.py": "",
    "pkg/maker.py": "import socket\n\n\ndef dial(address):\n    return socket.create_connection(address)\n",
    "pkg/user.py": "from pkg.maker import dial\n\n"
    + "".join(f"\ndef unrelated_{index}(x):\n    return x + {index}\n" for index in range(10))
    + "\ndef leaks(address):\n    conn = dial(address)\n    conn.sendall(b'x')\n",
}


def test_the_names_of_project_facts_are_triggers_too():
    user = PROJECT["pkg/user.py"]
    tree = ast.parse(user)
    alone = region_source(user, tree, {})  # nothing of the knowledge named: the leak is left out
    assert alone is not None and "conn = dial(address)" not in alone.text
    selected = region_source(user, tree, {}, (), ["pkg", "maker", "dial"])
    assert selected is not None
    assert "conn = dial(address)" in selected.text and "unrelated_3" not in selected.text


def test_with_project_facts_any_star_import_parses_the_whole_file():
    source = "from .helpers import *\n\ndef f():\n    return dial()\n" + "\ndef h():\n    return 2\n" * 6
    assert region_source(source, ast.parse(source), {}, (), ["dial"]) is None
    assert region_source(source, ast.parse(source), {}, (), []) is not None


def test_a_file_using_project_facts_is_parsed_in_part_with_the_same_findings(tmp_path, monkeypatch):
    write_tree(tmp_path, PROJECT)
    on, off, parts = findings_with_regions_on_and_off(tmp_path / "pkg", monkeypatch)
    assert on == off
    assert [(Path(f.path).name, f.line, f.code) for f in on if f.code.startswith("MEM0")] == [("user.py", 35, "MEM001")]
    assert len(parts) == 1 and "conn = dial(address)" in parts[0] and "unrelated_3" not in parts[0]

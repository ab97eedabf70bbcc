"""MEM003's raise model for constructors (issue 13 #1): a class of the project whose
``__init__`` only stores what it is given is no exception path, judged for classes of the
checked module (``analysis.quiet_classes``) and of other project modules through the
project index (``analysis.project_quiet``)."""

from __future__ import annotations

import ast
from pathlib import Path

from memlint.analysis.names import ImportTable
from memlint.analysis.project_index import ProjectIndex
from memlint.analysis.project_quiet import constructor_cannot_raise
from memlint.analysis.quiet_classes import _may_be_left_out
from memlint.analysis.resources import KNOWLEDGE
from memlint.regions import region_source
from test_project_index import assert_package_matches, expectations

PACKAGE = Path(__file__).resolve().parents[1] / "fixtures" / "projects" / "quiet_constructors"


def test_the_package_fixture_matches_itsexpectations():
    assert_package_matches(PACKAGE, 5)
    assert expectations(PACKAGE / "store" / "users.py") == [(31, "MEM003(low)")]


def test_the_index_marks_only_the_classes_that_cannot_raise():
    users = PACKAGE / "store" / "users.py"
    entries = dict(ProjectIndex().entries_for(str(users), users.read_text(encoding="utf-8")))
    assert entries.get(".parsing.ResponseParser#quiet") == "quiet"  # followed through the re-export
    assert entries.get(".parsing.TaggedFormatter#quiet") == "quiet"  # a logging.Formatter subclass
    assert ".parsing.LoadingParser#quiet" not in entries  # opens a file


def _judge(source: str, name: str) -> bool:
    classes = {node.name: node for node in ast.parse(source).body if isinstance(node, ast.ClassDef)}

    def qualify(node):
        return ast.unparse(node) if isinstance(node, (ast.Name, ast.Attribute)) else None

    def lookup(qualified):
        return (qualify, classes[qualified]) if qualified in classes else None

    return constructor_cannot_raise(lookup, qualify, classes[name])


def test_what_makes_a_constructor_quiet_or_not():
    source = (
        "class Plain:\n    pass\n"
        "class Stores:\n    def __init__(self, a, **kw):\n        kw['x'] = 1\n        self.a = a\n        self.p = Plain()\n"
        "class Derived(Stores):\n    def __init__(self):\n        super().__init__(1)\n        self.n = 0\n"
        "class Reads:\n    def __init__(self, p):\n        self.data = open(p).read()\n"
        "class Indexes:\n    def __init__(self, d):\n        self.v = d['k']\n"
        "class UnknownBase(somewhere.Base):\n    pass\n"
        "class Meta(metaclass=Registry):\n    pass\n"
        "class New:\n    def __new__(cls):\n        return object.__new__(cls)\n"
        "class Helper:\n    def __init__(self):\n        self.x = self._load()\n"
        "class FromConfig(configparser.RawConfigParser):\n    def __init__(self):\n        configparser.RawConfigParser.__init__(self)\n"
    )
    quiet = {name: _judge(source, name) for name in (
        "Plain", "Stores", "Derived", "Reads", "Indexes", "UnknownBase", "Meta", "New", "Helper", "FromConfig",
    )}
    assert quiet == {
        "Plain": True, "Stores": True, "Derived": True, "FromConfig": True,
        "Reads": False, "Indexes": False, "UnknownBase": False, "Meta": False, "New": False, "Helper": False,
    }


def test_a_class_called_by_a_kept_statement_keeps_its_constructor_in_the_regions():
    source = (
        "import socket\n\nclass Parser:\n    def __init__(self, path):\n        self.data = load(path)\n\n"
        "    def other(self):\n        return 1\n\n"
        "def f(path):\n    s = socket.socket()\n    p = Parser(path)\n    s.close()\n"
        + "\ndef g():\n    return 2\n" * 4
    )
    selected = region_source(source, ast.parse(source), {})
    assert selected is not None
    assert "self.data = load(path)" in selected.text  # the constructor is read by the raise model
    assert "return 1" not in selected.text  # building one does not run the other methods


def test_a_stub_left_by_the_regions_is_not_taken_for_an_empty_constructor():
    stub = ast.parse("class A(Base):\n    def __init__(self):\n        pass\n").body[0]
    real = ast.parse("class A(Base):\n    def __init__(self):\n        self.x = 1\n").body[0]
    assert _may_be_left_out(stub) and not _may_be_left_out(real)
    # a stubbed method that building an instance does not run leaves the verdict alone
    other = ast.parse("class A(Base):\n    def __init__(self):\n        self.x = 1\n\n    def m(self):\n        pass\n").body[0]
    assert not _may_be_left_out(other)


def test_a_python2_module_name_is_re_exported_only_from_another_module():
    table = ImportTable(KNOWLEDGE.reexported_modules)
    table.add_import_from(ast_free_import("from configparser import ConfigParser"))
    assert table.resolve("ConfigParser") == "configparser.ConfigParser"
    table.add_import_from(ast_free_import("from pkg.compat import ConfigParser"))
    assert table.resolve("ConfigParser.RawConfigParser") == "configparser.RawConfigParser"


def ast_free_import(line: str):
    import libcst as cst

    statement = cst.parse_statement(line)
    return statement.body[0]  # type: ignore[attr-defined]

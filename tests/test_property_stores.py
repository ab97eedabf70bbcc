"""A resource assigned through a property whose setter only stores it in one attribute is
stored there (realcode TUNING-NOTES section 60): the setter in another module of the project
(the index's ``Class#setters`` fact), in the module, or ``name = property(get, set)``."""

from __future__ import annotations

import ast
from pathlib import Path

import libcst as cst

from memlint.analysis.project_index import ProjectIndex
from memlint.analysis.project_owned import class_chain
from memlint.analysis.property_setters import plain_setters_ast, setter_entries
from memlint.analysis.property_stores import getter_properties, plain_setters_cst

from test_project_index import assert_package_matches, expectations

PACKAGE = Path(__file__).resolve().parents[1] / "fixtures" / "projects" / "property_setters"

SOURCE = '''
class C:
    @property
    def device(self):
        return self._device

    @device.setter
    def device(self, value):
        """Docstring."""
        self._device = value

    @property
    def busy(self):
        return self._busy

    @busy.setter
    def busy(self, value):
        self._busy = value
        self.count += 1

    def _get_file(self):
        if self._file is None:
            self._file = make()
        return self._file

    def _set_file(self, value):
        self._file = value

    def _get_other(self):
        if self._file is None:
            return None
        return self._file

    file = property(_get_file, _set_file)
    other = property(_get_other)
    copied = property(_get_file, fset=_copy)
'''


def test_property_setters_fixture_package_matches_its_expectations():
    assert_package_matches(PACKAGE, 3)
    assert len(expectations(PACKAGE / "printers" / "devices.py")) == 1


def test_only_plain_setters_are_read_both_ways():
    expected = {"device": "_device", "file": "_file"}
    assert plain_setters_ast(ast.parse(SOURCE).body[0]) == expected
    assert plain_setters_cst(cst.parse_module(SOURCE).body[0]) == expected


def test_a_property_call_gives_the_attribute_only_when_every_return_does():
    node = cst.parse_module(SOURCE).body[0]
    assert getter_properties(node, "_file") == {"file", "copied"}
    assert getter_properties(node, "_device") == set()


def test_the_index_passes_the_setters_of_the_chain_on():
    index = ProjectIndex()
    root = str(PACKAGE)
    module = index._load(root, "printers.base")
    chain = class_chain(lambda name: index._load(root, name), module, module.classes["Printer"])
    assert setter_entries("Printer", chain) == [("Printer#setters", "device:_device")]
    chain = class_chain(lambda name: index._load(root, name), module, module.classes["LoggingPrinter"])
    assert setter_entries("LoggingPrinter", chain) == []  # its own setter, not plain, hides the base's

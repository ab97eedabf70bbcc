"""Tests of the Python version decide branches (memlint/analysis/python_versions.py): the
knowledge file is checked, each spelling of a Python 2 / Python 3 test is read, and a test
that depends on the minor version, or a name bound twice, decides nothing."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

import memlint
from memlint.analysis.facts import ModuleContext, scan
from memlint.analysis.python_versions import version_truth
from memlint.knowledge.loader import KnowledgeError
from memlint.knowledge.versions import parse_versions, version_knowledge
from memlint.options import RuleOptions

_HEADER = """\
import sys
import six
from six import PY3
from future.utils import PY2 as FUTURE_PY2
PY2 = sys.version_info[0] == 2
IS_PY3 = not PY2
TWICE = sys.version_info < (3,)
TWICE = True
"""


def _truth(test: str):
    module = cst.parse_module(_HEADER + f"RESULT = {test}\n")
    context = ModuleContext(module, RuleOptions())
    scan(context)  # the imports
    value = module.body[-1].body[0].value  # type: ignore[attr-defined]
    return version_truth(context, value)


@pytest.mark.parametrize(
    "test, expected",
    [
        ("sys.version_info[0] < 3", False),
        ("sys.version_info[0] == 2", False),
        ("sys.version_info[0] >= 3", True),
        ("3 > sys.version_info[0]", False),
        ("sys.version_info.major == 3", True),
        ("sys.version_info < (3,)", False),
        ("sys.version_info < (3, 0)", False),
        ("sys.version_info >= (3, 0, 0)", True),
        ("sys.version_info > (2, 7)", True),
        ("sys.version_info >= (3, 8)", None),
        ("sys.version_info[1] >= 6", None),
        ("six.PY2", False),
        ("six.PY3", True),
        ("not six.PY3", False),
        ("PY3", True),
        ("FUTURE_PY2", False),
        ("PY2", False),
        ("IS_PY3", True),
        ("TWICE", None),
        ("sys.platform == 'win32'", None),
    ],
)
def test_version_tests(test, expected):
    assert _truth(test) is expected


def test_knowledge_is_read_and_checked():
    known = version_knowledge()
    assert "six.PY2" in known["flags.python2"] and "six.PY3" in known["flags.python3"]
    with pytest.raises(KnowledgeError):
        parse_versions({"flags": {"python2": ["x.PY"], "python3": ["x.PY"]}}, "versions.toml")
    with pytest.raises(KnowledgeError):
        parse_versions({"flags": {"python4": ["x"]}}, "versions.toml")


def test_a_global_statement_unmakes_the_constant():
    source = textwrap.dedent(
        """
        import sys
        PY2 = sys.version_info[0] == 2

        def switch():
            global PY2
            PY2 = True

        def read(path):
            if PY2:
                return open(path).read()
            return ""
        """
    )
    assert [f.code for f in memlint.check_source(source, "case.py")] == ["MEM001"]


def test_a_local_of_the_same_name_decides_nothing():
    source = textwrap.dedent(
        """
        import sys
        from six import PY2
        PY3 = sys.version_info[0] == 3

        def read(path, PY2):
            if PY2:
                return open(path).read()
            return ""

        def write(path):
            PY3 = path.endswith(".txt")
            if not PY3:
                return open(path).read()
            return ""
        """
    )
    assert [f.code for f in memlint.check_source(source, "case.py")] == ["MEM001", "MEM001"]

"""MEM003's raise model for functions of other project modules (issue 13, check sets 6.1.1):
a function whose body only computes a value (formatting, a lookup in a fixed table,
arithmetic on a context variable and the clock, a module constant picked in a module-level
``if``) is no exception path; the project index carries the fact as a ``#quiet`` entry
(``analysis.project_quiet.project_callable_is_quiet``)."""

from __future__ import annotations

import ast
from pathlib import Path

from memlint.analysis.project_index import ProjectIndex
from memlint.analysis.project_quiet import _FunctionJudge
from test_project_index import assert_package_matches, expectations

PACKAGE = Path(__file__).resolve().parents[1] / "fixtures" / "projects" / "quiet_functions"


def test_the_package_fixture_matches_its_expectations():
    assert_package_matches(PACKAGE, 5)
    assert expectations(PACKAGE / "relay" / "server.py") == [(53, "MEM003(low)"), (66, "MEM003(low)")]


def test_the_index_marks_only_the_functions_that_cannot_raise():
    server = PACKAGE / "relay" / "server.py"
    entries = dict(ProjectIndex().entries_for(str(server), server.read_text(encoding="utf-8")))
    assert entries.get("relay._ansi.style#quiet") == "quiet"
    assert entries.get("relay._ansi.banner#quiet") == "quiet"  # calls style()
    assert entries.get("relay._timeouts.clamp_remaining#quiet") == "quiet"  # through remaining()
    assert entries.get("relay.tls.has_sni#quiet") == "quiet"  # both definitions under the module's if/else
    assert "relay._ansi.from_file#quiet" not in entries  # opens a file
    assert "relay._timeouts.share#quiet" not in entries  # divides by a value


class _Module:
    """What the judge reads of a summarised module: its text, names and import aliases."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.aliases = {"os": "os", "time": "time"}
        tree = ast.parse(text)
        self.functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
        self.classes: dict = {}
        self.kinds = {name: "def" for name in self.functions}

    def qualify(self, node):
        written = ast.unparse(node)
        head = written.split(".", 1)[0]
        return f"pkg.m.{written}" if head in self.functions else written


def _verdicts(text: str) -> dict:
    module = _Module(text)

    def load(name):
        return module if name == "pkg.m" else None

    return {name: _FunctionJudge(load, "pkg.m", module, node, 0).judge() for name, node in module.functions.items()}


def test_what_makes_a_function_quiet_or_not():
    source = (
        "TABLE = {'a': 1}\n"
        "def fmt(x, n):\n    y = f'{x}:{n}'\n    return y + '%d' % n\n"
        "def lookup(k):\n    return TABLE[k]\n"
        "def half(x):\n    return x / 2\n"
        "def clock():\n    return time.monotonic() + 1\n"
        "def caller(x):\n    return fmt(x, 1)\n"
        "def divides(a, b):\n    return a / b\n"
        "def subscript(d, k):\n    return d[k]\n"
        "def reads(p):\n    return os.stat(p).st_size\n"
        "def loops(xs):\n    for x in xs:\n        pass\n"
        "def raises():\n    raise ValueError('x')\n"
        "def recursive(n):\n    return recursive(n - 1)\n"
        "def bad_caller(p):\n    return reads(p)\n"
    )
    assert _verdicts(source) == {
        "fmt": True, "lookup": True, "half": True, "clock": True, "caller": True,
        "divides": False, "subscript": False, "reads": False, "loops": False, "raises": False,
        "recursive": False, "bad_caller": False,
    }

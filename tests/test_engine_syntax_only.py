"""A file no rule reads is only checked for syntax, by ``symtable`` (the same parser, no
``ast`` objects built); what it accepts and rejects, and how a rejection is reported, are
those of ``ast.parse``."""

from __future__ import annotations

from types import SimpleNamespace

import memlint.engine as engine
from memlint.api import check_source

# Names nothing the rules start from, so the byte prefilter leaves it to the syntax check.
PLAIN = "def double(x):\n    return x * 2\n"


def test_a_file_no_rule_reads_builds_no_ast_tree(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("ast.parse called for a syntax check")

    # ``engine.ast`` only: pytest itself parses with the real module.
    monkeypatch.setattr(engine, "ast", SimpleNamespace(parse=refuse))
    assert check_source(PLAIN, "plain.py") == []


def test_a_scoping_mistake_that_ast_accepts_stays_accepted():
    # symtable rejects a parameter declared global; ast.parse, the contract, does not.
    assert check_source("def f(x):\n    global x\n    return x\n", "scoping.py") == []


def test_a_syntax_error_is_reported_as_ast_reports_it():
    source = "def broken(:\n    return 1\n"
    (finding,) = check_source(source, "broken.py")
    assert finding.code == "MEM000" and (finding.line, finding.column) == (1, 12)
    assert finding.message.startswith("SyntaxError: ")
    # the same finding as a file the rules read (the ast path)
    (analysed,) = check_source(source + "f = open('x')\n", "broken.py")
    assert (analysed.line, analysed.column, analysed.message) == (finding.line, finding.column, finding.message)

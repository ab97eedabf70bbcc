"""Suppression comments: parsing, applying, and MEM100 for the ones that suppress nothing."""

from __future__ import annotations

import json
import textwrap

import pytest

from memlint.diagnostics import Finding
from memlint.suppression import Directive, apply_suppressions, parse_directives


def finding(line: int, code: str = "MEM001") -> Finding:
    return Finding("f.py", line, 1, line, 2, code, "m")


@pytest.mark.parametrize(
    "comment, codes",
    [
        ("# noqa", None),
        ("# NOQA", None),
        ("#noqa:MEM001", ("MEM001",)),
        ("# noqa: MEM001", ("MEM001",)),
        ("# noqa: MEM001, MEM003", ("MEM001", "MEM003")),
        ("# noqa:MEM001,MEM003", ("MEM001", "MEM003")),
        ("# noqa: MEM001 MEM003", ("MEM001", "MEM003")),
        ("# noqa: mem001", ("MEM001",)),
        ("# noqa: BLE001 - a reason", ("BLE001",)),
        ("# type: ignore  # noqa: MEM004", ("MEM004",)),
    ],
)
def test_line_directives(comment, codes):
    [directive] = parse_directives(f"x = 1  {comment}\n")
    assert directive.codes == codes
    assert not directive.file_level
    hash_index = comment.rindex("#", 0, comment.lower().index("noqa"))
    assert (directive.line, directive.column) == (1, len("x = 1  ") + hash_index + 1)
    assert directive.end_column > directive.column


@pytest.mark.parametrize("comment", ["# noqa:", "# noqa: not-a-code", "# noqanotreally", "# memlint: noqa"])
def test_not_line_directives(comment):
    directives = parse_directives(f"x = 1  {comment}\n")
    assert [d for d in directives if not d.file_level] == []


def test_noqa_inside_strings_does_not_count():
    source = 's = "# noqa"\nt = """\n# noqa: MEM001\n"""\n'
    assert parse_directives(source) == []


def test_file_level_directive_must_be_on_its_own_line():
    source = "# memlint: noqa: MEM001,MEM003\n    # memlint: noqa\nx = 1  # memlint: noqa\n"
    directives = parse_directives(source)
    assert [(d.line, d.codes, d.file_level) for d in directives] == [
        (1, ("MEM001", "MEM003"), True),
        (2, None, True),
    ]


def test_untokenizable_source_has_no_directives():
    assert parse_directives('x = """never closed  # noqa\n') == []


def test_apply_line_and_file_level():
    source = "a  # noqa: MEM001\nb  # noqa\nc  # noqa: MEM003\nd\n"
    findings = [finding(1), finding(1, "MEM003"), finding(2), finding(2, "MEM004"), finding(3), finding(4)]
    kept = apply_suppressions(findings, parse_directives(source), {"MEM001", "MEM003", "MEM004"}, "f.py")
    assert kept == [finding(1, "MEM003"), finding(3), finding(4)]
    file_level = parse_directives("# memlint: noqa: MEM001\n")
    assert apply_suppressions(findings, file_level, {"MEM001"}, "f.py") == [
        f for f in findings if f.code != "MEM001"
    ]
    assert apply_suppressions(findings, parse_directives("# memlint: noqa\n"), set(), "f.py") == []


def test_parse_and_internal_errors_are_never_suppressed():
    findings = [finding(1, "MEM000"), finding(1, "MEM900")]
    directives = parse_directives("# memlint: noqa\nx  # noqa\n")
    assert apply_suppressions(findings, directives, {"MEM000", "MEM900"}, "f.py") == findings


def test_unused_directives_are_reported_only_when_mem100_is_enabled():
    source = textwrap.dedent(
        """\
        # memlint: noqa: MEM004
        a  # noqa: MEM001, MEM003, BLE001
        b  # noqa
        c  # noqa: MEM001, MEM100
        d  # noqa: MEM041
        """
    )
    directives = parse_directives(source)
    findings = [finding(2)]
    assert apply_suppressions(findings, directives, {"MEM001", "MEM003", "MEM004"}, "f.py") == []
    reported = apply_suppressions(findings, directives, {"MEM001", "MEM003", "MEM004", "MEM100"}, "f.py")
    assert [(f.line, f.column, f.code, f.message) for f in reported] == [
        (1, 1, "MEM100", "unused `# memlint: noqa` directive (unused: MEM004)"),
        (2, 4, "MEM100", "unused `# noqa` directive (unused: MEM003)"),
        (5, 4, "MEM100", "unused `# noqa` directive (not enabled: MEM041)"),
    ]
    # The span covers the directive text.
    assert reported[1].end_column == 4 + len("# noqa: MEM001, MEM003, BLE001")


def test_unused_blanket_file_directive():
    directives = parse_directives("# memlint: noqa\nx = 1\n")
    [unused] = apply_suppressions([], directives, {"MEM100"}, "f.py")
    assert unused.message == "unused `# memlint: noqa`: nothing in this file needed suppressing"


# --------------------------------------------------------------------------- through the CLI


def test_cli_suppressions_end_to_end(run_memlint, tree):
    tree({
        "used.py": "x = 1  # noqa: MEM100\n",
        "unused.py": "x = 1  # noqa: MEM000\n",
        "file_level.py": "# memlint: noqa: MEM100\nx = 1  # noqa: MEM000\n",
        "broken.py": "# memlint: noqa\ndef f(:  # noqa\n",
    })
    result = run_memlint("check", "--extend-select", "MEM100", "--output-format", "json", ".")
    findings = json.loads(result.stdout)
    assert [(f["path"], f["line"], f["code"]) for f in findings] == [
        ("broken.py", 2, "MEM000"),
        ("unused.py", 1, "MEM100"),
    ]
    assert result.returncode == 1

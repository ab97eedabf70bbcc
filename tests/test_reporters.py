"""Output formats: exact text for the line formats, schemas for the JSON ones, colour rules."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from memlint.diagnostics import Edit, Finding, Fix
from memlint.reporters import ReportContext, render
from memlint.reporters import statistics as statistics_reporter
from memlint.reporters.github import escape_data, escape_property
from memlint.specs import load_specs

from conftest import REPO_ROOT, memlint_env

# Kept inside the repository so that a fresh clone validates SARIF without ../shared.
SARIF_SCHEMA = Path(__file__).resolve().parent / "data" / "sarif-schema-2.1.0.json"
ANSI = "\x1b["

SOURCE = "import os\n\tf = open(p)  # café\nx = (\n    1,\n)\n"
FIX = Fix("use `with open(...)`", safe=False, edits=(Edit(2, 2, 2, 12, "with open(p) as f:"),))
FINDINGS = [
    Finding("pkg/a.py", 2, 6, 2, 13, "MEM000", "a `tab` before the span", FIX),
    Finding("pkg/a.py", 3, 5, 5, 2, "MEM100", "spans three lines"),
    Finding("other.py", 1, 1, 1, 1, "MEM900", "no source known for this file"),
]
CONTEXT = ReportContext(sources={"pkg/a.py": SOURCE}, color=False, root="/repo")


def test_concise():
    # ``[*]`` marks what the run would fix: this unsafe fix only with --unsafe-fixes.
    assert render("concise", FINDINGS, CONTEXT) == (
        "pkg/a.py:2:6: MEM000 a `tab` before the span\n"
        "pkg/a.py:3:5: MEM100 spans three lines\n"
        "other.py:1:1: MEM900 no source known for this file\n"
    )
    unsafe = ReportContext(sources=CONTEXT.sources, color=False, root="/repo", unsafe_fixes=True)
    assert render("concise", FINDINGS, unsafe).splitlines()[0] == "pkg/a.py:2:6: MEM000 [*] a `tab` before the span"


def test_full_has_source_and_caret_under_the_span():
    expected = (
        "pkg/a.py:2:6: MEM000 a `tab` before the span\n"
        "  |\n"
        "2 |     f = open(p)  # café\n"
        "  |         ^^^^^^^ MEM000\n"
        "  |\n"
        "  = help: use `with open(...)` (unsafe fix)\n"
        "\n"
        "pkg/a.py:3:5: MEM100 spans three lines\n"
        "  |\n"
        "3 | x = (\n"
        "  |     ^ MEM100\n"
        "  |\n"
        "\n"
        "other.py:1:1: MEM900 no source known for this file\n"
        "\n"
    )
    assert render("full", FINDINGS, CONTEXT) == expected


def test_colour_only_when_asked():
    assert ANSI not in render("full", FINDINGS, CONTEXT)
    coloured = render("full", FINDINGS, ReportContext(sources=CONTEXT.sources, color=True))
    assert ANSI in coloured
    assert "MEM000" in coloured and "^^^^^^^" in coloured


def test_json_schema_is_stable():
    items = json.loads(render("json", FINDINGS, CONTEXT))
    assert items[0] == {
        "code": "MEM000",
        "name": "unparsable-file",
        "message": "a `tab` before the span",
        "path": "pkg/a.py",
        "line": 2,
        "column": 6,
        "end_line": 2,
        "end_column": 13,
        "confidence": "high",
        "fix": {
            "message": "use `with open(...)`",
            "applicability": "unsafe",
            "edits": [{"line": 2, "column": 2, "end_line": 2, "end_column": 12, "content": "with open(p) as f:"}],
        },
    }
    assert items[1]["fix"] is None
    assert [set(item) for item in items] == [set(items[0])] * 3


def test_json_of_nothing_is_an_empty_list():
    assert json.loads(render("json", [], CONTEXT)) == []


def test_github_annotations_and_escaping():
    tricky = Finding("dir,1/a:b%.py", 3, 4, 5, 6, "MEM100", "50% done\nnext: line\r")
    assert render("github", [tricky], CONTEXT) == (
        "::error title=memlint (MEM100),file=dir%2C1/a%3Ab%25.py,line=3,col=4,endLine=5,endColumn=6"
        "::MEM100 50%25 done%0Anext: line%0D\n"
    )
    assert escape_data("a:b,c") == "a:b,c"
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"


def test_statistics_table_and_json():
    findings = FINDINGS + [Finding("b.py", 1, 1, 1, 1, "MEM100", "again")]
    assert statistics_reporter.render(findings) == (
        "2  MEM100  unused-noqa\n"
        "1  MEM000  [*] unparsable-file\n"
        "1  MEM900  internal-error\n"
    )
    assert json.loads(statistics_reporter.render(findings, as_json=True))[1] == {
        "code": "MEM000", "name": "unparsable-file", "count": 1, "fixable": True,
    }
    assert statistics_reporter.render([]) == ""


def test_unknown_format_is_rejected():
    with pytest.raises(ValueError, match="unknown output format 'xml'"):
        render("xml", FINDINGS, CONTEXT)


# --------------------------------------------------------------------------- SARIF


def sarif_validator():
    # No skip when the schema is missing: it is part of the repository (tests/data/).
    import jsonschema

    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def test_sarif_validates_and_carries_rule_metadata():
    log = json.loads(render("sarif", FINDINGS, CONTEXT))
    errors = sorted(sarif_validator().iter_errors(log), key=str)
    assert errors == []
    run = log["runs"][0]
    specs = load_specs()
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == list(specs)
    for rule in rules:
        spec = specs[rule["id"]]
        assert rule["name"] == spec.name
        assert rule["shortDescription"]["text"] == spec.summary
        assert rule["fullDescription"]["text"] == " ".join(spec.sections["What it does"].split())
        assert rule["help"]["markdown"] == spec.body
        # No file:// link to the machine that wrote the report; the text above is the help.
        assert "helpUri" not in rule
    first = run["results"][0]
    assert first["ruleId"] == "MEM000"
    assert rules[first["ruleIndex"]]["id"] == "MEM000"
    assert first["level"] == "error"
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "pkg/a.py", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 2, "startColumn": 6, "endLine": 2, "endColumn": 13}
    assert first["fixes"][0]["artifactChanges"][0]["replacements"][0]["insertedContent"]["text"] == "with open(p) as f:"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == "file:///repo/"


def test_sarif_validator_catches_an_invalid_log():
    log = json.loads(render("sarif", [Finding("a.py", 1, 0, 1, 1, "MEM000", "column 0 is invalid")], CONTEXT))
    assert [error.message for error in sarif_validator().iter_errors(log)] == ["0 is less than the minimum of 1"]


def test_sarif_from_the_real_cli_validates(run_memlint, tree, tmp_path):
    tree({"pkg/bad name.py": "def f(:\n", "pkg/ok.py": "x = 1  # noqa: MEM000\n", "clean.py": "x = 1\n"})
    result = run_memlint("check", "--output-format", "sarif", "--extend-select", "MEM100", ".")
    assert result.returncode == 1
    log = json.loads(result.stdout)
    assert sorted(sarif_validator().iter_errors(log), key=str) == []
    results = log["runs"][0]["results"]
    assert [(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) for r in results] == [
        ("MEM000", "pkg/bad%20name.py"),
        ("MEM100", "pkg/ok.py"),
    ]
    assert log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/"
    empty = json.loads(run_memlint("check", "--output-format", "sarif", "clean.py").stdout)
    assert empty["runs"][0]["results"] == []
    assert sorted(sarif_validator().iter_errors(empty), key=str) == []


# --------------------------------------------------------------------------- colour in the real CLI


def run_on_tty(cwd: Path, env_extra: dict) -> str:
    """Run memlint with stdout on a pseudo-terminal and return what it wrote there."""
    leader, follower = pty.openpty()
    try:
        process = subprocess.run(
            [sys.executable, "-m", "memlint", "check", "a.py"],
            cwd=str(cwd), stdout=follower, stderr=subprocess.PIPE, env=memlint_env(env_extra), timeout=60,
            check=False,
        )
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO once the terminal is drained and closed
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
        if follower != -1:
            os.close(follower)
    assert process.returncode == 1, process.stderr
    return b"".join(chunks).decode("utf-8")


def test_colour_on_a_tty_and_no_color_respected(tmp_path, run_memlint):
    (tmp_path / "a.py").write_text("def f(:\n")
    assert ANSI in run_on_tty(tmp_path, {})
    assert ANSI not in run_on_tty(tmp_path, {"NO_COLOR": "1"})
    piped = run_memlint("check", "a.py")
    assert "a.py:1:7: MEM000" in piped.stdout
    assert ANSI not in piped.stdout
    # NO_COLOR wins over FORCE_COLOR; FORCE_COLOR alone colours even a pipe.
    assert ANSI in run_memlint("check", "a.py", env={"FORCE_COLOR": "1"}).stdout
    assert ANSI not in run_memlint("check", "a.py", env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).stdout

"""Odd trees, newer syntax and the details a ruff user expects (issue 14), mostly through the
real command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import pytest

from conftest import write_tree

PY = "%d.%d" % sys.version_info[:2]
LEAKY = "handle = open('data.txt')\n"
# Python 3.12 syntax (PEP 695) around a real leak: checked, not MEM000, on any interpreter.
PEP695 = (
    "type Pair[T] = tuple[T, T]\n"
    "\n"
    "def first[T](items: list[T]) -> T:\n"
    "    handle = open('log.txt')\n"
    "    return items[0]\n"
    "\n"
    "class Box[T]:\n"
    "    def __init__(self, value: T) -> None:\n"
    "        self.value = value\n"
)
MATCH = "match command:\n    case 'go':\n        pass\n"


def codes_of(result) -> list:
    return [(item["code"], item["line"]) for item in json.loads(result.stdout)]


def one_line_error(result, *fragments: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


# --------------------------------------------------------------------------- broken pyproject.toml


def test_a_broken_nested_pyproject_without_memlint_config_is_passed_over(run_memlint, tree):
    tree({
        "pyproject.toml": "[tool.memlint]\nselect = ['MEM001']\n",
        "src/app.py": LEAKY,
        "tests/fixtures/broken/pyproject.toml": "[project\nname = 'oops'\n",
        "tests/fixtures/broken/setup.py": LEAKY,
    })
    result = run_memlint("check", "--output-format", "json", ".")
    assert result.returncode == 1, result.stderr
    assert [(f["path"], f["code"]) for f in json.loads(result.stdout)] == [
        ("src/app.py", "MEM001"), ("tests/fixtures/broken/setup.py", "MEM001")]
    [warning] = result.stderr.splitlines()
    assert warning.startswith("memlint: warning: invalid TOML in ")
    assert "tests/fixtures/broken/pyproject.toml" in warning and "passed over" in warning
    # -q drops the warning, not the result.
    quiet = run_memlint("check", "-q", "--output-format", "json", ".")
    assert quiet.stderr == "" and quiet.stdout == result.stdout


@pytest.mark.parametrize("text", [
    "[tool.memlint]\nselect = [\n",
    "[tool.memlint.resources]\n'lib.connect' = \n",
    "tool.memlint.select = [\n",
])
def test_a_broken_pyproject_holding_memlint_config_still_stops_the_run(run_memlint, tree, text):
    tree({"pkg/pyproject.toml": text, "pkg/a.py": LEAKY})
    one_line_error(run_memlint("check", "."), "memlint: invalid TOML in ", "pyproject.toml")


# --------------------------------------------------------------------------- newer syntax, target-version


def test_python_312_syntax_is_checked_not_mem000(run_memlint, tree):
    tree({"new.py": PEP695, "plain.py": "type Alias = int\n"})
    result = run_memlint("check", "--no-cache", "--output-format", "json", ".")
    assert codes_of(result) == [("MEM001", 4)], result.stdout
    assert result.returncode == 1


def test_target_version_names_the_version_a_file_was_parsed_as(run_memlint, tree):
    tree({"new.py": PEP695, "match.py": MATCH, "broken.py": "def f(:\n    pass\n"})
    as_311 = run_memlint("check", "--no-cache", "--output-format", "json", "--target-version", "py311", "new.py")
    [finding] = json.loads(as_311.stdout)
    assert finding["code"] == "MEM000" and finding["message"].endswith("(parsed as Python 3.11)")
    as_39 = run_memlint("check", "--no-cache", "--output-format", "json", "--target-version", "py39", "match.py")
    [finding] = json.loads(as_39.stdout)
    assert finding["code"] == "MEM000" and finding["message"].endswith("(parsed as Python 3.9)")
    as_312 = run_memlint("check", "--no-cache", "--output-format", "json", "--target-version", "py312", ".")
    assert [(f["path"], f["code"], f["message"].endswith("(parsed as Python 3.12)")) for f in json.loads(as_312.stdout)] \
        == [("broken.py", "MEM000", True), ("new.py", "MEM001", False)]
    default = run_memlint("check", "--no-cache", "--output-format", "json", "broken.py")
    assert json.loads(default.stdout)[0]["message"] == f"SyntaxError: invalid syntax (parsed as Python {PY})"


def test_target_version_from_the_config_and_the_cache_key(run_memlint, tree):
    tree({"pyproject.toml": "[tool.memlint]\ntarget-version = 'py311'\n", "new.py": PEP695})
    from_config = run_memlint("check", "--output-format", "json", "new.py")
    assert [f["code"] for f in json.loads(from_config.stdout)] == ["MEM000"]
    # The cached MEM000 is not served for another target version.
    overridden = run_memlint("check", "--output-format", "json", "--target-version", "py312", "new.py")
    assert codes_of(overridden) == [("MEM001", 4)]


def test_invalid_target_version(run_memlint, tree):
    tree({"pyproject.toml": "[tool.memlint]\ntarget-version = 'py3.12'\n", "a.py": "x = 1\n"})
    one_line_error(run_memlint("check", "a.py"), "target-version must be one of py37, py38", "'py3.12'")
    one_line_error(run_memlint("check", "--isolated", "--target-version", "3.12", "a.py"), "--target-version")


def test_the_command_line_knows_the_engine_target_versions():
    from memlint import cli, engine

    assert cli.TARGET_VERSIONS == engine.TARGET_VERSIONS


def test_mem900_is_placed_where_libcst_says(monkeypatch):
    import libcst

    from memlint.engine import check_text
    from memlint.rules import load_rules
    from memlint.rules.base import RuleOptions

    def refuse(text: str, *args: object, **kwargs: object) -> None:
        raise libcst.ParserSyntaxError("parser error: error at 2:5: expected ':'", lines=text.splitlines(True),
                                       raw_line=2, raw_column=4)

    monkeypatch.setattr(libcst, "parse_module", refuse)
    [finding] = check_text("import os\nhandle = open(os.devnull)\n", "a.py", load_rules(["MEM001"]), RuleOptions())
    assert (finding.code, finding.line, finding.column) == ("MEM900", 2, 5)
    assert finding.message == "libcst cannot parse this file: parser error: error at 2:5: expected ':'"


# --------------------------------------------------------------------------- odd command lines and trees


def test_output_file_naming_a_folder_is_a_usage_error(run_memlint, tree):
    tree({"a.py": LEAKY, "reports/keep.txt": ""})
    one_line_error(run_memlint("check", "-o", "reports", "a.py"), "memlint: -o/--output-file: reports is a folder")
    one_line_error(run_memlint("check", "-o", "a.py/report.txt", "a.py"), "memlint: cannot write a.py/report.txt: ")


def test_an_unlistable_folder_is_warned_about(tmp_path, monkeypatch):
    # Root can list any folder, so the refusal is simulated where discovery lists folders.
    from memlint import discovery
    from memlint.config import ConfigResolver

    write_tree(tmp_path, {"ok/a.py": "", "locked/b.py": ""})
    real_scandir = os.scandir

    def scandir(path):
        if os.path.basename(path) == "locked":
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(discovery.os, "scandir", scandir)
    warnings: list = []
    found = discovery.discover(["."], ConfigResolver(isolated=True), cwd=str(tmp_path), warn=warnings.append)
    assert [source.display for source in found] == [os.path.join("ok", "a.py")]
    assert warnings == ["cannot list folder locked: Permission denied; its files were not checked"]


def test_jobs_are_capped_at_the_files_and_warned_about_above_the_cpus(run_memlint, tree):
    from memlint.cli import _jobs
    from memlint.parallel import default_jobs

    warnings: list = []
    assert _jobs(argparse.Namespace(jobs=64), 3, 2, warnings.append) == 3
    assert warnings == ["--jobs 64 is more than the 2 CPUs this process may use; the extra workers only cost memory"]
    assert _jobs(argparse.Namespace(jobs=None), 100, 2, warnings.append) == 2
    assert _jobs(argparse.Namespace(jobs=2), 0, 2, warnings.append) == 1
    assert len(warnings) == 1
    tree({"a.py": LEAKY, "b.py": "x = 1\n"})
    too_many = default_jobs() + 1
    result = run_memlint("check", "--jobs", str(too_many), "--output-format", "concise", ".")
    assert result.returncode == 1
    assert result.stderr == (f"memlint: warning: --jobs {too_many} is more than the {default_jobs()} "
                             f"CPU{'' if default_jobs() == 1 else 's'} this process may use; "
                             "the extra workers only cost memory\n")


@pytest.mark.parametrize("output_format", ["sarif", "github"])
def test_statistics_refuses_formats_it_cannot_print(run_memlint, tree, output_format):
    tree({"a.py": LEAKY})
    one_line_error(run_memlint("check", "--statistics", "--output-format", output_format, "a.py"),
                   f"--statistics prints a table (full, concise) or json, not {output_format}")
    tree({"pyproject.toml": f"[tool.memlint]\noutput-format = '{output_format}'\n"})
    one_line_error(run_memlint("check", "--statistics", "a.py"), f"not {output_format}")
    json_statistics = run_memlint("check", "--statistics", "--output-format", "json", "a.py")
    assert json.loads(json_statistics.stdout)[0]["code"] == "MEM001"


def test_memlint_toml_with_a_tool_memlint_header_gets_a_hint(run_memlint, tree):
    tree({"memlint.toml": "[tool.memlint]\nselect = ['MEM001']\n", "a.py": LEAKY})
    one_line_error(run_memlint("check", "a.py"), "memlint.toml holds the settings at its top level: "
                                                 "drop the [tool.memlint] header")


def test_noqa_with_an_unknown_code_says_so(run_memlint, tree):
    tree({"a.py": "x = 1  # noqa: MEM999\ny = 2  # noqa: MEM003\n"})
    result = run_memlint("check", "--select", "MEM100", "--output-format", "json", "a.py")
    assert [f["message"] for f in json.loads(result.stdout)] == [
        "unused `# noqa` directive (unknown code: MEM999)",
        "unused `# noqa` directive (not enabled: MEM003)",
    ]


def test_codes_in_any_case_everywhere(run_memlint, tree):
    tree({
        "pyproject.toml": "[tool.memlint]\nselect = ['mem001', 'mem100']\n[tool.memlint.per-file-ignores]\n"
                          "'skip.py' = ['mem001']\n",
        "a.py": LEAKY,
        "skip.py": LEAKY,
        "quiet.py": "handle = open('x')  # noqa: mem001\n",
    })
    from_config = run_memlint("check", "--no-cache", "--output-format", "json", ".")
    assert [(f["path"], f["code"]) for f in json.loads(from_config.stdout)] == [("a.py", "MEM001")]
    flags = run_memlint("check", "--no-cache", "--isolated", "--select", "mem0", "--ignore", "mem001",
                        "--output-format", "json", "a.py")
    assert flags.returncode == 0 and json.loads(flags.stdout) == []


def test_help_tells_exit_codes_and_memlint_debug(run_memlint):
    for args in (["--help"], ["check", "--help"]):
        text = run_memlint(*args).stdout
        assert "exit codes:" in text and "130  interrupted (Ctrl-C)" in text and "MEMLINT_DEBUG=1" in text
        assert "2    usage, configuration or internal error" in text


def test_finding_has_the_name_the_json_has(run_memlint, tree):
    import memlint

    [finding] = memlint.check_source(LEAKY)
    assert finding.name == "unreleased-resource"
    tree({"a.py": LEAKY})
    [item] = json.loads(run_memlint("check", "--output-format", "json", "a.py").stdout)
    assert item["name"] == finding.name


# --------------------------------------------------------------------------- where the cache goes


def test_cache_goes_to_the_project_root_and_only_when_something_ran(run_memlint, tree, tmp_path):
    tree({"pyproject.toml": "[tool.memlint]\n", "pkg/sub/a.py": LEAKY, "empty/README": ""})
    nothing = run_memlint("check", ".", cwd=tmp_path / "empty")
    assert nothing.returncode == 0
    assert not list(tmp_path.rglob(".memlint_cache"))
    ran = run_memlint("check", "a.py", cwd=tmp_path / "pkg" / "sub")
    assert ran.returncode == 1
    assert [p.relative_to(tmp_path) for p in tmp_path.rglob(".memlint_cache")] == [Path(".memlint_cache")]


def test_cache_goes_to_the_git_root_without_a_config(run_memlint, tree, tmp_path):
    tree({"repo/.git/HEAD": "ref: refs/heads/main\n", "repo/pkg/a.py": LEAKY})
    assert run_memlint("check", "a.py", cwd=tmp_path / "repo" / "pkg").returncode == 1
    assert [p.relative_to(tmp_path) for p in tmp_path.rglob(".memlint_cache")] == [Path("repo/.memlint_cache")]

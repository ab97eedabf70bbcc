"""The real command line, run in subprocesses: exit codes, flags, bad input, ``memlint rule``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import REPO_ROOT, memlint_env, run_memlint_process, spec_body

SYNTAX_ERROR = "def broken(:\n    pass\n"
PY = "%d.%d" % sys.version_info[:2]
UNUSED_NOQA = "value = 1  # noqa: MEM000\n"
CLEAN = "value = 1\n"


def assert_one_line_error(result: "subprocess.CompletedProcess[str]", pattern: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert re.fullmatch(pattern, result.stderr.strip()), result.stderr


def concise_lines(stdout: str) -> list:
    return [line for line in stdout.splitlines() if re.match(r"^\S+:\d+:\d+: MEM\d+ ", line)]


# --------------------------------------------------------------------------- exit codes


def test_clean_tree_exits_zero_and_says_so(run_memlint, tree):
    tree({"pkg/a.py": CLEAN, "pkg/b.pyi": "def f() -> int: ...\n"})
    result = run_memlint("check", "pkg")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "All checks passed!\n"
    assert result.stderr == ""


def test_syntax_error_is_one_finding_and_other_files_are_still_checked(run_memlint, tree):
    tree({"a_bad.py": SYNTAX_ERROR, "b_noqa.py": UNUSED_NOQA, "c_clean.py": CLEAN})
    result = run_memlint("check", "--output-format", "concise", "--extend-select", "MEM100", ".")
    assert result.returncode == 1
    lines = concise_lines(result.stdout)
    # The file after the broken one was checked too: its unused noqa is reported.
    assert lines == [
        f"a_bad.py:1:12: MEM000 SyntaxError: invalid syntax (parsed as Python {PY})",
        "b_noqa.py:1:12: MEM100 unused `# noqa` directive (unused: MEM000)",
    ]
    assert result.stdout.endswith("Found 2 findings.\n")


def test_bare_invocation_means_check(run_memlint, tree):
    tree({"pkg/a.py": SYNTAX_ERROR})
    bare = run_memlint("pkg", "--output-format", "json")
    explicit = run_memlint("check", "pkg", "--output-format", "json")
    assert bare.returncode == explicit.returncode == 1
    assert bare.stdout == explicit.stdout
    assert json.loads(bare.stdout)[0]["path"] == os.path.join("pkg", "a.py")


def test_no_path_checks_the_working_directory(run_memlint, tree):
    tree({"deep/er/x.py": SYNTAX_ERROR})
    result = run_memlint("--output-format", "concise")
    assert result.returncode == 1
    assert concise_lines(result.stdout)[0].startswith(os.path.join("deep", "er", "x.py") + ":1:")


def test_exit_zero_keeps_output_but_exits_zero(run_memlint, tree):
    tree({"a.py": SYNTAX_ERROR})
    result = run_memlint("check", "--exit-zero", "a.py")
    assert result.returncode == 0
    assert "MEM000" in result.stdout


def test_missing_path_is_a_one_line_error(run_memlint, tree):
    tree({"a.py": CLEAN})
    result = run_memlint("check", "a.py", "no/such/file.py")
    assert_one_line_error(result, r"memlint: path not found: no/such/file\.py")
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args, pattern",
    [
        (["check", "--bogus"], r"memlint: unrecognized arguments: --bogus"),
        (["--bogus", "."], r"memlint: unrecognized arguments: --bogus"),
        (["check", "--select", "MEM999", "."], r"memlint: --select: unknown rule code or prefix 'MEM999'.*"),
        (["check", "--ignore", "XYZ", "."], r"memlint: --ignore: unknown rule code or prefix 'XYZ'.*"),
        (["check", "--extend-select", "mem-1", "."], r"memlint: --extend-select: 'MEM-1' is not a rule code .*"),
        (["check", "--output-format", "xml", "."], r"memlint: argument --output-format: invalid choice: 'xml'.*"),
        (["check", "--jobs", "0", "."], r"memlint: argument --jobs: expected a positive integer, got '0'"),
        (["check", "--config", "missing.toml", "."], r"memlint: config file not found: missing\.toml"),
        (["check", "--isolated", "--config", "x.toml", "."], r"memlint: --isolated and --config .*"),
        (["check", "-", "a.py"], r"memlint: '-' \(standard input\) cannot be combined with other paths"),
        (["rule"], r"memlint: rule: give either a CODE or --all"),
        (["rule", "MEM999"], r"memlint: unknown rule code 'MEM999' \(see `memlint rule --all`\)"),
    ],
)
def test_usage_errors_exit_two_with_one_line(run_memlint, tree, args, pattern):
    tree({"a.py": CLEAN})
    assert_one_line_error(run_memlint(*args), pattern)


def test_speed_flags_are_accepted(run_memlint, tree):
    tree({"a.py": CLEAN})
    result = run_memlint("check", "--jobs", "2", "--no-cache", "--cache-dir", "cache", "a.py")
    assert result.returncode == 0, result.stderr


def test_no_python_files_warns_and_exits_zero(run_memlint, tree):
    tree({"notes.txt": "hello\n"})
    result = run_memlint("check", ".")
    assert result.returncode == 0
    assert result.stderr == "memlint: warning: no Python files found under the given path(s)\n"
    assert run_memlint("check", "-q", ".").stderr == ""


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "content, line, message",
    [
        (b"x = 1\ny = 2\nz = 'caf\xe9'\n", 3, "cannot decode source as utf-8"),
        (b"# -*- coding: no-such-codec -*-\nx = 1\n", 1, "unknown encoding: no-such-codec"),
        (bytes(range(256)) * 4, 2, "cannot decode source"),
        (b"x = 1\ny = 2\x00\n", 2, "null byte"),
        (b"\n\nclass C:\n    def f(self)\n        pass\n", 4, "expected ':'"),
    ],
    ids=["undecodable", "bad-cookie", "binary", "null-byte", "syntax"],
)
def test_bad_input_is_mem000_not_a_traceback(run_memlint, tree, content, line, message):
    tree({"bad.py": content, "good.py": UNUSED_NOQA})
    result = run_memlint("check", "--output-format", "json", "--extend-select", "MEM100", ".")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    findings = json.loads(result.stdout)
    assert [(f["path"], f["code"]) for f in findings] == [("bad.py", "MEM000"), ("good.py", "MEM100")]
    assert findings[0]["line"] == line
    assert message in findings[0]["message"]


def test_unreadable_file_is_reported_and_not_fatal(run_memlint, tmp_path):
    (tmp_path / "a_clean.py").write_text(CLEAN)
    os.symlink(tmp_path / "does-not-exist.py", tmp_path / "b_dangling.py")
    (tmp_path / "c_bad.py").write_text(SYNTAX_ERROR)
    result = run_memlint("check", "--output-format", "concise", ".")
    assert result.returncode == 1
    assert concise_lines(result.stdout) == [
        "b_dangling.py:1:1: MEM000 cannot read file: No such file or directory",
        f"c_bad.py:1:12: MEM000 SyntaxError: invalid syntax (parsed as Python {PY})",
    ]


CRASHING_DRIVER = """
import sys
sys.path.insert(0, {folder!r})
import memlint.rules
# Test-only: run a rule that raises under a real, selectable code (MEM100 is off by default).
memlint.rules.RULE_CLASSES["MEM100"] = "crashing_rule:Crash"
from memlint.cli import main
sys.exit(main(sys.argv[1:]))
"""

CRASHING_RULE = """
from memlint.rules.base import Rule

class Crash(Rule):
    code = "MEM100"

    def check(self, ctx):
        if "explode" in ctx.source:
            raise KeyError("name")
        return []
"""


def test_rule_that_raises_gives_mem900_and_exit_two(tmp_path):
    support = tmp_path / "support"
    support.mkdir()
    (support / "crashing_rule.py").write_text(CRASHING_RULE)
    (support / "driver.py").write_text(CRASHING_DRIVER.format(folder=str(support)))
    project = tmp_path / "project"
    project.mkdir()
    # The file names `open`, so the prefilter hands it to the rules.
    (project / "a.py").write_text("explode = open\n")
    (project / "b.py").write_text(SYNTAX_ERROR)
    (project / "c.py").write_text(CLEAN)
    result = subprocess.run(
        [sys.executable, str(support / "driver.py"), "--extend-select", "MEM100", "--output-format", "concise", "."],
        cwd=str(project), capture_output=True, text=True, env=memlint_env(), timeout=120, check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert concise_lines(result.stdout) == [
        "a.py:1:1: MEM900 rule MEM100 failed on this file: KeyError: 'name'",
        f"b.py:1:12: MEM000 SyntaxError: invalid syntax (parsed as Python {PY})",
    ]
    # --exit-zero does not hide an internal failure.
    again = subprocess.run(
        [sys.executable, str(support / "driver.py"), "--extend-select", "MEM100", "--exit-zero", "a.py"],
        cwd=str(project), capture_output=True, text=True, env=memlint_env(), timeout=120, check=False,
    )
    assert again.returncode == 2


# --------------------------------------------------------------------------- stdin and output


def test_stdin_with_filename(run_memlint, tree):
    tree({"pyproject.toml": '[tool.memlint]\nper-file-ignores = { "generated/*" = ["MEM100"] }\n'})
    args = ("check", "--extend-select", "MEM100", "--output-format", "concise")
    named = run_memlint(*args, "--stdin-filename", "src/mod.py", "-", stdin=UNUSED_NOQA)
    assert named.returncode == 1
    assert concise_lines(named.stdout) == [
        f"{os.path.join('src', 'mod.py')}:1:12: MEM100 unused `# noqa` directive (unused: MEM000)"
    ]
    # The name is also what per-file-ignores match.
    ignored = run_memlint(*args, "--stdin-filename", "generated/mod.py", stdin=UNUSED_NOQA)
    assert ignored.returncode == 0, ignored.stdout
    unnamed = run_memlint(*args, "-", stdin=SYNTAX_ERROR)
    assert concise_lines(unnamed.stdout) == [f"-:1:12: MEM000 SyntaxError: invalid syntax (parsed as Python {PY})"]


def test_stdin_force_exclude_skips_excluded_name(run_memlint, tree):
    tree({"pyproject.toml": '[tool.memlint]\nextend-exclude = ["vendor"]\n'})
    args = ("check", "--force-exclude", "--stdin-filename", "vendor/x.py", "-")
    assert run_memlint(*args, stdin=SYNTAX_ERROR).returncode == 0
    assert run_memlint(*args[2:], stdin=SYNTAX_ERROR).returncode == 1


def test_output_file_receives_the_report(run_memlint, tree, tmp_path):
    tree({"a.py": SYNTAX_ERROR})
    result = run_memlint("check", "--output-format", "json", "-o", "reports/out.json", "a.py")
    assert result.returncode == 1
    assert result.stdout == ""
    written = json.loads((tmp_path / "reports" / "out.json").read_text(encoding="utf-8"))
    assert [finding["code"] for finding in written] == ["MEM000"]
    assert not [name for name in os.listdir(tmp_path / "reports") if name.endswith(".tmp")]


def test_quiet_drops_the_summary(run_memlint, tree):
    tree({"a.py": SYNTAX_ERROR})
    loud = run_memlint("check", "--output-format", "concise", "a.py")
    quiet = run_memlint("check", "--output-format", "concise", "-q", "a.py")
    assert loud.stdout.endswith("Found 1 finding.\n")
    assert quiet.stdout == f"a.py:1:12: MEM000 SyntaxError: invalid syntax (parsed as Python {PY})\n"


def test_statistics_counts_per_code(run_memlint, tree):
    tree({"a.py": SYNTAX_ERROR, "b.py": SYNTAX_ERROR, "c.py": UNUSED_NOQA})
    text = run_memlint("check", "--statistics", "--extend-select", "MEM100", "-q", ".")
    assert text.returncode == 1
    assert text.stdout.splitlines() == ["2  MEM000  unparsable-file", "1  MEM100  unused-noqa"]
    as_json = run_memlint("check", "--statistics", "--extend-select", "MEM100", "--output-format", "json", ".")
    assert json.loads(as_json.stdout) == [
        {"code": "MEM000", "name": "unparsable-file", "count": 2, "fixable": False},
        {"code": "MEM100", "name": "unused-noqa", "count": 1, "fixable": False},
    ]


def test_output_format_from_config(run_memlint, tree):
    tree({"pyproject.toml": '[tool.memlint]\noutput-format = "json"\n', "a.py": SYNTAX_ERROR})
    assert json.loads(run_memlint("check", "a.py").stdout)[0]["code"] == "MEM000"
    # The command line wins over the config.
    assert run_memlint("check", "--output-format", "concise", "-q", "a.py").stdout.startswith("a.py:1:12: MEM000")


def test_config_flag_and_isolated(run_memlint, tree):
    tree({
        "pyproject.toml": '[tool.memlint]\nextend-select = ["MEM100"]\n',
        "other.toml": 'select = []\n',
        "a.py": UNUSED_NOQA,
    })
    assert run_memlint("check", "a.py").returncode == 1
    assert run_memlint("check", "--isolated", "a.py").returncode == 0
    assert run_memlint("check", "--config", "other.toml", "a.py").returncode == 0


def test_invalid_config_is_a_one_line_error_naming_key_and_file(run_memlint, tree, tmp_path):
    tree({"pyproject.toml": '[tool.memlint]\nselct = ["MEM001"]\n', "a.py": CLEAN})
    result = run_memlint("check", "a.py")
    pattern = re.escape(f"memlint: {tmp_path / 'pyproject.toml'}: unknown key 'selct' in [tool.memlint]") + ".*"
    assert_one_line_error(result, pattern)
    assert "did you mean 'select'?" in result.stderr


# --------------------------------------------------------------------------- memlint rule


def spec_files() -> list:
    return sorted((REPO_ROOT / "rules").glob("*.md"))


@pytest.mark.parametrize("spec", spec_files(), ids=lambda path: path.stem)
def test_rule_prints_the_spec(run_memlint, spec):
    result = run_memlint("rule", spec.stem)
    assert result.returncode == 0, result.stderr
    assert result.stdout == spec_body(spec)
    as_json = json.loads(run_memlint("rule", spec.stem.lower(), "--output-format", "json").stdout)
    assert as_json["code"] == spec.stem
    assert as_json["explanation"] == spec_body(spec)


def test_rule_all_lists_every_spec(run_memlint):
    listed = json.loads(run_memlint("rule", "--all", "--output-format", "json").stdout)
    assert [row["code"] for row in listed] == [path.stem for path in spec_files()]
    for row in listed:
        front = (REPO_ROOT / "rules" / f"{row['code']}.md").read_text(encoding="utf-8").split("\n---\n", 1)[0]
        for key in ("name", "default", "fixable", "summary"):
            assert f"\n{key}: {row[key]}\n" in front + "\n"
    table = run_memlint("rule", "--all").stdout.splitlines()
    assert table[0].split() == ["CODE", "NAME", "DEFAULT", "FIXABLE", "SUMMARY"]
    assert [line.split()[0] for line in table[1:]] == [path.stem for path in spec_files()]


# --------------------------------------------------------------------------- start-up cost

HEAVY_PROBE = textwrap.dedent(
    """
    import json, sys
    argv = json.loads(sys.argv[1])
    if argv is not None:
        from memlint.cli import main
        try:
            main(argv)
        except SystemExit:
            pass
    else:
        import memlint
    heavy = sorted({name.split(".")[0] for name in sys.modules} & {"libcst", "psutil"})
    sys.stderr.write(json.dumps(heavy))
    """
)


@pytest.mark.parametrize(
    "argv",
    [None, ["--version"], ["rule", "--all"], ["rule", "MEM000"], ["check", "--select", "MEM000", "probe.py"],
     ["check", "--no-cache", "probe.py"]],
    ids=["import", "version", "rule-all", "rule-code", "check-parse-only", "check-file-naming-no-resource"],
)
def test_light_paths_import_neither_libcst_nor_psutil(tmp_path, argv):
    (tmp_path / "probe.py").write_text(CLEAN)
    result = subprocess.run(
        [sys.executable, "-c", HEAVY_PROBE, json.dumps(argv)],
        cwd=str(tmp_path), capture_output=True, text=True, env=memlint_env(), timeout=60, check=False,
    )
    assert json.loads(result.stderr.strip().splitlines()[-1]) == []


def test_version(run_memlint):
    from memlint import __version__

    result = run_memlint("--version")
    assert result.returncode == 0
    assert result.stdout == f"memlint {__version__}\n"


def test_console_script_is_installed(tmp_path):
    """The ``memlint`` entry point (not only ``python -m memlint``) works."""
    script = Path(sys.executable).with_name("memlint")
    if not script.exists():
        pytest.skip(f"no console script next to {sys.executable} (package not installed into this interpreter)")
    (tmp_path / "a.py").write_text(SYNTAX_ERROR)
    result = subprocess.run([str(script), "a.py"], cwd=str(tmp_path), capture_output=True, text=True,
                            env=memlint_env(), timeout=60, check=False)
    assert result.returncode == 1
    assert "a.py:1:12: MEM000" in result.stdout



# --------------------------------------------------------------------------- with the real rules

LEAK = "import mylib\n\nf = open('data.txt')\nconn = mylib.connect()\n"


def test_real_rule_findings_suppressions_and_resources_config(run_memlint, tree):
    tree({
        "pyproject.toml": '[tool.memlint]\nper-file-ignores = { "legacy/*" = ["MEM001"] }\n'
                          '[tool.memlint.resources]\n"mylib.connect" = "close"\n',
        "app/leak.py": LEAK,
        "app/line_noqa.py": LEAK.replace("open('data.txt')", "open('data.txt')  # noqa: MEM001"),
        "app/other_code_noqa.py": LEAK.replace("open('data.txt')", "open('data.txt')  # noqa: MEM003"),
        "app/file_noqa.py": "# memlint: noqa: MEM001\n" + LEAK,
        "legacy/old.py": LEAK,
    })
    result = run_memlint("check", "--output-format", "json", ".")
    assert result.returncode == 1, result.stderr
    found = sorted((f["path"].replace(os.sep, "/"), f["line"], f["code"]) for f in json.loads(result.stdout))
    assert found == [
        ("app/leak.py", 3, "MEM001"),
        ("app/leak.py", 4, "MEM001"),  # only because of [tool.memlint.resources]
        ("app/line_noqa.py", 4, "MEM001"),
        ("app/other_code_noqa.py", 3, "MEM001"),
        ("app/other_code_noqa.py", 4, "MEM001"),
    ]
    isolated = json.loads(run_memlint("check", "--isolated", "--output-format", "json", "app/leak.py").stdout)
    assert [(f["line"], f["code"]) for f in isolated] == [(3, "MEM001")]


def test_full_output_for_a_real_finding(run_memlint, tree):
    tree({"leak.py": "import os\nhandle = open(os.devnull)\n"})
    result = run_memlint("check", "leak.py")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"leak\.py:2:10: MEM001 .+", lines[0]), lines[0]
    assert lines[1:5] == [
        "  |",
        "2 | handle = open(os.devnull)",
        "  |          ^^^^^^^^^^^^^^^^ MEM001",
        "  |",
    ]
    assert lines[-1] == "Found 1 finding."

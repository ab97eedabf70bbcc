"""Confidence: every finding is "high" or "low"; only "high" ones are reported unless the user
asks for ``confidence = "low"`` (``--confidence low``). Low is given where judged real code
showed a kind of evidence to be wrong often: an exception path whose named call is taken to
raise only for want of knowing better, a resource known only by its release, a temporary path,
a rebinding, a branch or a ``return`` that leaves a resource held (a lock released on some paths), an exception a
handler re-raises. Suppressions see every finding, so a ``noqa`` for a hidden one is not "unused"."""
from __future__ import annotations

import json
import textwrap

import pytest

import memlint
from memlint.cache import Cache
from memlint.cli import main
from memlint.config import ConfigError

SOURCE = textwrap.dedent(
    '''
    import tempfile


    def direct(path, text):
        out = open(path, "w")
        out.write(text)
        out.close()


    def indirect(node, path):
        out = open(path, "w")
        target = node.get_abspath()
        out.close()
        return target


    def partial(path, quick):
        out = open(path, "w")
        if quick:
            return None
        out.close()
        return path


    def rebound(first, second):
        out = open(first, "w")
        out = open(second, "w")
        out.close()


    def never(path):
        out = open(path, "w")
        out.write("x")


    def reraised(path, text):
        out = open(path, "w")
        try:
            out.write(text)
        except Exception as error:
            raise RuntimeError(path) from error
        out.close()


    def temporary_name():
        handle, name = tempfile.mkstemp()
        return handle
    '''
)


def _by_function(findings):
    lines = SOURCE.splitlines()
    result = {}
    for finding in findings:
        function = next(
            line.split("(")[0][4:] for line in reversed(lines[: finding.line]) if line.startswith("def ")
        )
        result.setdefault(function, []).append((finding.code, finding.confidence))
    return result


def test_every_finding_with_low_confidence_asked_for():
    found = _by_function(memlint.check_source(SOURCE, "x.py", {"confidence": "low"}))
    assert found["direct"] == [("MEM003", "high")]
    assert found["indirect"] == [("MEM003", "low")]
    assert found["partial"] == [("MEM001", "low")]
    assert found["rebound"] == [("MEM001", "low")]
    assert found["never"] == [("MEM001", "high")]
    assert ("MEM001", "low") in found["temporary_name"]
    assert found["reraised"] == [("MEM003", "low")]


def test_the_default_reports_only_high_confidence():
    default = memlint.check_source(SOURCE, "x.py")
    everything = memlint.check_source(SOURCE, "x.py", {"confidence": "low"})
    assert default and all(finding.confidence == "high" for finding in default)
    assert default == [finding for finding in everything if finding.confidence == "high"]
    assert len(everything) > len(default)
    assert memlint.check_source(SOURCE, "x.py", {"confidence": "high"}) == default


def test_a_bad_confidence_is_a_config_error_naming_the_choices():
    with pytest.raises(ConfigError, match="confidence must be one of high, low"):
        memlint.check_source(SOURCE, "x.py", {"confidence": "medium"})


def test_noqa_on_a_hidden_finding_is_not_reported_unused():
    source = SOURCE.replace('''    out = open(path, "w")
    target''', '''    out = open(path, "w")  # noqa: MEM003
    target''')
    default = memlint.check_source(source, "x.py", {"extend-select": ["MEM100"]})
    assert not [finding for finding in default if finding.code == "MEM100"], default
    hidden = memlint.check_source(SOURCE, "x.py", {"confidence": "low"})
    assert ("MEM003", "low", 12) in [(f.code, f.confidence, f.line) for f in hidden]


def test_the_command_line_flag_and_the_json_field(tmp_path, capsys):
    path = tmp_path / "x.py"
    path.write_text(SOURCE, encoding="utf-8")
    assert main(["check", "--isolated", "--no-cache", "--output-format", "json", str(path)]) == 1
    default = json.loads(capsys.readouterr().out)
    assert default and {item["confidence"] for item in default} == {"high"}
    assert main(["check", "--isolated", "--no-cache", "--confidence", "low", "--output-format", "json", str(path)]) == 1
    everything = json.loads(capsys.readouterr().out)
    assert {item["confidence"] for item in everything} == {"high", "low"}
    assert main(["check", "--isolated", "--no-cache", "--confidence", "medium", str(path)]) == 2
    assert "--confidence" in capsys.readouterr().err


def test_sarif_carries_the_confidence_in_the_result_properties(tmp_path, capsys):
    path = tmp_path / "x.py"
    path.write_text(SOURCE, encoding="utf-8")
    main(["check", "--isolated", "--no-cache", "--confidence", "low", "--output-format", "sarif", str(path)])
    results = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    assert {result["properties"]["confidence"] for result in results} == {"high", "low"}


def test_the_cache_keeps_each_confidence_apart(tmp_path, capsys):
    path = tmp_path / "x.py"
    path.write_text(SOURCE, encoding="utf-8")
    cache = ["--cache-dir", str(tmp_path / "cache")]
    counts = []
    for flags in ([], ["--confidence", "low"], [], ["--confidence", "low"]):
        main(["check", "--isolated", "--output-format", "json", *cache, *flags, str(path)])
        counts.append(len(json.loads(capsys.readouterr().out)))
    assert counts[0] == counts[2] < counts[1] == counts[3]
    key = Cache(tmp_path / "c2").key
    assert key("d", "x.py", frozenset({"MEM001"}), {}) != key("d", "x.py", frozenset({"MEM001"}), {}, confidence="low")


def test_the_config_file_sets_it(tmp_path, capsys):
    (tmp_path / "pyproject.toml").write_text('[tool.memlint]\nconfidence = "low"\n', encoding="utf-8")
    (tmp_path / "x.py").write_text(SOURCE, encoding="utf-8")
    main(["check", "--no-cache", "--output-format", "json", str(tmp_path)])
    assert "low" in {item["confidence"] for item in json.loads(capsys.readouterr().out)}

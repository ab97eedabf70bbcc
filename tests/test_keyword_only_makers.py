"""A constructor of keyword arguments only (openai.OpenAI, anthropic.Anthropic, httpx.Client)
called with a positional argument raises TypeError: it makes no resource, in the module that
calls it (``classify``) and in the project index's summary of another module's function
(issue 13/20, class not-a-resource: gptcache's own ``OpenAI(model, api_key)`` embedding
wrapper over a lazily imported module bound to the name ``openai``)."""

from __future__ import annotations

import ast
from pathlib import Path

import memlint
from memlint.analysis.project_index import ProjectIndex
from memlint.analysis.resources import made_only_in_context
from test_project_index import assert_package_matches, expectations

PACKAGE = Path(__file__).resolve().parents[1] / "fixtures" / "projects" / "keyword_only_makers"


def test_the_package_fixture_matches_its_expectations():
    assert_package_matches(PACKAGE, 3)
    assert expectations(PACKAGE / "embed" / "api.py") == [(19, "MEM001")]


def test_the_index_summarises_only_the_keyword_made_client():
    api = PACKAGE / "embed" / "api.py"
    entries = dict(ProjectIndex().entries_for(str(api), api.read_text(encoding="utf-8")))
    assert "embed.backends.chat_client" in entries
    assert "embed.backends.OpenAI" not in entries


def _call(text):
    return ast.parse(text, mode="eval").body


def test_positional_arguments_only_matter_for_keyword_only_constructors():
    assert made_only_in_context("openai.OpenAI", _call("OpenAI(key)"))
    assert not made_only_in_context("openai.OpenAI", _call("OpenAI(api_key=key)"))
    assert not made_only_in_context("socket.socket", _call("socket(family)"))
    assert not made_only_in_context("anthropic.AnthropicBedrock", _call("AnthropicBedrock(k)"))  # its aws_* may be positional


def test_an_in_memory_wrapper_over_a_spelled_path_string_makes_a_resource():
    """``gzip.open("{}/{}.gz".format(d, t))`` opens a file wherever it is called (shodan's
    ``open_streaming_file``); over a name it may be a buffer, decided only where it is made."""
    assert not made_only_in_context("gzip.open", _call('open("{}/{}.json.gz".format(d, t), "a")'))
    assert not made_only_in_context("gzip.open", _call('open(f"{d}/x.gz")'))
    assert not made_only_in_context("gzip.GzipFile", _call('GzipFile("%s.gz" % name)'))
    assert made_only_in_context("gzip.open", _call("open(buffer)"))


def test_in_the_calling_module_a_positional_call_makes_nothing():
    source = (
        "import openai\nimport httpx\n"
        "def f(key, url, options):\n"
        "    a = openai.OpenAI(key)\n    b = httpx.Client(url)\n    c = openai.OpenAI(**options)\n"
        "    return a, b, c.models\n"
    )
    found = [(f.line, f.code) for f in memlint.check_source(source, "m.py") if f.code == "MEM001"]
    assert found == [(6, "MEM001")]

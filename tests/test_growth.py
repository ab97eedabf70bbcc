"""The memory-growth stage and rules (MEM051-MEM053): knowledge, prefilter, messages."""

from __future__ import annotations

import ast

import pytest

import memlint
from memlint.knowledge.growth import growth_knowledge, growth_trigger_names, parse_growth
from memlint.knowledge.loader import KnowledgeError
from memlint.prefilter import growth_candidates, needs_analysis, tree_needs_analysis

GROWTH = {"extend-select": ["MEM051", "MEM052", "MEM053"]}


def codes(source: str, config=GROWTH):
    return [(f.line, f.code) for f in memlint.check_source(source, "growth_case.py", config)]


def test_growth_knowledge_is_checked_field_by_field():
    assert "functools.cache" in growth_knowledge()["caches.unbounded"]
    with pytest.raises(KnowledgeError, match=r"^g.toml: unknown section\(s\) \['colour'\]"):
        parse_growth({"colour": {}}, "g.toml")
    with pytest.raises(KnowledgeError, match=r"\[handlers\] adding must be a list of strings"):
        parse_growth({"handlers": {"adding": "addHandler"}}, "g.toml")
    with pytest.raises(KnowledgeError, match=r"\[caches\] unknown field"):
        parse_growth({"caches": {"bounded": []}}, "g.toml")


def test_trigger_names_come_from_the_data():
    names = growth_trigger_names()
    assert {"cache", "lru_cache", "addHandler", "append", "setdefault", "heappush"} <= names
    assert "functools.cache" not in names


def test_the_byte_prefilter_lets_growth_through_only_when_its_rules_are_selected():
    memo = b"_memo = {}\ndef f(k):\n    _memo[k] = 1\n"
    handler = b"def f(log):\n    log.addHandler(h)\n"
    for data in (memo, handler, b"X = []\ndef f(v):\n    X.append(v)\n"):
        assert needs_analysis({}, ["MEM052"])(data), data
    assert not needs_analysis({}, ["MEM001"])(memo)
    assert not needs_analysis({}, ["MEM001"])(handler)
    assert not needs_analysis({}, ["MEM052"])(b"x = 1\nprint(x == 2)\n")


def test_the_tree_prefilter_needs_a_container_a_cache_or_a_handler():
    assert growth_candidates(ast.parse("X = {}\n"))
    assert growth_candidates(ast.parse("from functools import lru_cache as lc\n@lc\ndef f(x):\n    pass\n"))
    assert growth_candidates(ast.parse("def f(l):\n    l.addHandler(h)\n"))
    assert not growth_candidates(ast.parse("def f(x):\n    return x + 1\n"))
    assert not tree_needs_analysis(ast.parse("X = {}\n"), {}, ["MEM001"])
    assert tree_needs_analysis(ast.parse("X = {}\n"), {}, ["MEM051"])


def test_the_rules_are_off_by_default_and_on_when_selected():
    source = "H = []\n\n\ndef f(v):\n    H.append(v)\n"
    assert codes(source, None) == []
    assert codes(source) == [(5, "MEM052")]


def test_messages_say_where_it_grows_and_what_bounds_nothing():
    source = "class Agent:\n    def __init__(self):\n        self.turns = []\n\n    def ask(self, q):\n        self.turns.append(q)\n"
    [finding] = memlint.check_source(source, "agent.py", GROWTH)
    assert finding.message.startswith(
        "`self.turns` (a list kept on each `Agent`, line 3) grows in `ask()` (`self.turns.append()`) "
        "and nothing in the class removes from it"
    )


def test_an_alias_of_a_container_is_handed_on_not_reported():
    source = "Q = []\n\n\ndef f(v):\n    Q.append(v)\n    mine = Q\n    return mine\n"
    assert codes(source) == []


def test_a_bounded_lru_cache_on_a_plain_function_and_cache_without_arguments_are_fine():
    source = (
        "import functools\n\n\n@functools.lru_cache(maxsize=10)\ndef f(x):\n    return x\n\n\n"
        "@functools.cache\ndef g():\n    return 1\n"
    )
    assert codes(source) == []


def test_keyed_growth_is_not_reported_but_appending_is():
    keyed = "SEEN = set()\n\n\ndef f(ids):\n    global SEEN\n    SEEN |= ids\n"
    assert codes(keyed) == []
    appended = "SEEN = []\n\n\ndef f(ids):\n    global SEEN\n    SEEN += ids\n"
    assert codes(appended) == [(6, "MEM052")]


def test_the_growth_stage_runs_only_when_one_of_its_rules_does(monkeypatch):
    import memlint.analysis.pipeline as pipeline

    def fail(*args, **kwargs):
        raise AssertionError("the growth stage ran")

    monkeypatch.setattr(pipeline, "growth_facts", fail)
    source = "H = []\n\n\ndef f(path):\n    H.append(open(path).read())\n"
    resource_only = memlint.check_source(source, "g.py", {"select": ["MEM001"]})
    assert [f.code for f in resource_only] == ["MEM001"]
    with_growth = memlint.check_source(source, "g.py", {"select": ["MEM001", "MEM052"]})
    assert "MEM900" in {f.code for f in with_growth}

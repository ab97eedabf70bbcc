"""The faster walks and scans of issue 19 give what the slower ones they replace gave.

Each test compares the fast form with the plain one it stands for (written out here), on
code chosen to hit the edge cases: nested scopes, context and operator leaves, dotted and
spaced calls, words next to non-ASCII bytes."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from memlint.analysis import ast_scopes
from memlint.analysis.project_scan import attributes_read, called_or_inherited
from memlint.prefilter import needs_analysis, rule_trigger_names, word_pattern

_LEAVES = (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)

SAMPLE = '''
import os, socket as s
def outer(a, b=1, *c, **d):
    global g
    x = [open(a), 0]
    def inner():
        x[0] = s.socket()
        return lambda: (yield)
    class Local:
        y = a + b
        def method(self): return self.y
    for i in range(3):
        if i and not b or -i < 2 <= i:
            x[1] += i
    with open(a) as f, os.fdopen(3):
        return x[0], f
async def agen():
    async for item in q:
        await item
    try:
        pass
    except* ValueError as error:
        raise
    match d:
        case {"k": v, **rest} if v > 1:
            pass
        case [1, *others] | Point(x=0):
            pass
'''


def _plain_own_nodes(function):
    stack = list(getattr(function, "body", []))
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                stack.append(child)


def _plain_scope_nodes(function):
    stack = list(getattr(function, "body", []))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def _scopes(tree):
    return [node for node in ast.walk(tree) if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]


@pytest.mark.parametrize("source", [SAMPLE, Path(ast.__file__).read_text(encoding="utf-8")])
def test_walks_keep_the_order_without_the_leaves(source: str) -> None:
    tree = ast.parse(source)
    for scope in _scopes(tree):
        assert list(ast_scopes.own_nodes(scope)) == [n for n in _plain_own_nodes(scope) if not isinstance(n, _LEAVES)]
        assert list(ast_scopes.scope_nodes(scope)) == [n for n in _plain_scope_nodes(scope) if not isinstance(n, _LEAVES)]
        assert list(ast_scopes.walk(scope)) == [n for n in ast.walk(scope) if not isinstance(n, _LEAVES)]
        assert ast_scopes.children(scope) == [n for n in ast.iter_child_nodes(scope) if not isinstance(n, _LEAVES)]


def _look_around(names):
    alternatives = b"|".join(re.escape(n.encode("ascii")) for n in sorted(names, key=lambda n: (-len(n), n)))
    return re.compile(rb"(?<![A-Za-z0-9_])(?:" + alternatives + rb")(?![A-Za-z0-9_])")


TEXTS = [b"", b"open", b"xopen", b"open_", b"3open", b"\xc3\xa9open(", b"a.open(", b"__exit__", b"_open",
         b"# open\n", b"def __exit__(self", b"opener = 1", b"f = open\n", b"contextmanager\xff", SAMPLE.encode()]


@pytest.mark.parametrize("text", TEXTS)
def test_byte_prefilter_is_the_whole_word_search(text: bytes) -> None:
    codes = ["MEM001", "MEM003", "MEM004", "MEM041", "MEM042", "MEM061"]
    names = rule_trigger_names({}, codes)
    expected = _look_around(names).search(text) is not None
    assert needs_analysis({}, codes)(text) is expected
    assert (word_pattern(names).search(text) is not None) is expected
    assert (word_pattern(["open", "__exit__"]).search(text) is None) is (_look_around(["open", "__exit__"]).search(text) is None)


def test_name_scans_match_the_look_behind_searches() -> None:
    text = SAMPLE + "\nsessions.session()\nx.y.z(1)\n.b(2)\nfoo (3)\nbar\n(4)\nq = 1.5\nconn .close()\nsessions . other\n"
    called = set(re.findall(r"(?<![\w.])(\w+)\s*\(", text))
    names = ["open", "range", "foo", "bar", "inner", "socket", "fdopen", "b", "close", "session"]
    assert called_or_inherited(text, names) == set(names) & called
    for head in ("sessions", "x", "s", "os", "self", "q", "1", "conn"):
        expected = set(re.findall(r"(?<![\w.])" + re.escape(head) + r"\.(\w+)", text))
        assert attributes_read(text, head) == expected, head

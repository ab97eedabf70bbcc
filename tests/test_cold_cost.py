"""Issue 19, the cold per-file cost: work that cannot change a result is skipped, and the
results stay those of the slower form (each test fails on the code before the change)."""

from __future__ import annotations

import ast

from memlint.analysis import project_inert


class _Module:
    name = "pkg.mod"

    def qualify(self, node):
        return None


def _classes(source):
    return {node.name: node for node in ast.parse(source).body if isinstance(node, ast.ClassDef)}


def test_loops_are_read_only_for_a_class_with_an_inert_release(monkeypatch):
    """``_loop_tested_attributes`` walked every class of every chain (60 % of the project
    index's time on the standard library); its answer only matters for a release method that
    releases nothing, so a class whose ``close()`` releases is judged without it."""
    calls = []
    original = project_inert._loop_tested_attributes
    monkeypatch.setattr(project_inert, "_loop_tested_attributes", lambda chain: calls.append(chain) or original(chain))
    classes = _classes(
        "class Closes:\n    def serve(self):\n        while self.active:\n            self.step()\n"
        "    def close(self):\n        self._file.close()\n"
        "class Signals:\n    def serve(self):\n        while self.active:\n            self.step()\n"
        "    def close(self):\n        self.active = False\n"
        "class Flushes:\n    def close(self):\n        self._buf.flush()\n"
    )

    def inert(name):
        return project_inert.inert_release_methods(lambda module: None, _Module(), classes[name], ("close", "shutdown"))

    assert inert("Closes") == []
    assert calls == []  # nothing inert: the loops were not read
    assert inert("Signals") == []  # a stop signal: still a release
    assert inert("Flushes") == ["close"]
    assert len(calls) == 2


SAMPLE = '''
"""doc"""
import os
@decorated(1)
class Outer(Base, metaclass=Meta):
    """class doc"""
    x = [open(p) for p in paths]
    def method(self, a=lambda: 0):
        class Inner:
            def deep(self): return self
        with open(a) as f: return f
    async def other(self): await self.method()
a = 1; b = open(a)
class OneLine: pass
def top(*args, **kw):
    try:
        yield from kw
    except* OSError:
        pass
'''


def test_tree_nodes_are_the_walks_they_stand_for():
    """``TreeNodes`` walks a module once for the prefilter and the region selection: its
    whole list is ``ast_nodes(tree)`` and its part for each top-level statement and each
    member of a top-level class is ``ast_nodes`` of that statement, in the same order."""
    from memlint.prefilter import TreeNodes, ast_nodes

    tree = ast.parse(SAMPLE)
    walked = TreeNodes(tree)
    assert walked.whole == ast_nodes(tree)
    statements = list(tree.body) + [member for node in tree.body if isinstance(node, ast.ClassDef) for member in node.body]
    for statement in statements:
        assert walked.of(statement) == ast_nodes(statement)
    other = ast.parse(SAMPLE).body[2]  # a statement of another tree: walked on its own
    assert walked.of(other) == ast_nodes(other) and walked.of(other)[0] is other


def test_region_selection_is_the_same_with_the_shared_walk():
    from memlint.prefilter import TreeNodes
    from memlint.regions import region_source

    tree = ast.parse(SAMPLE)
    alone = region_source(SAMPLE, tree, {})
    shared = region_source(SAMPLE, tree, {}, (), (), TreeNodes(tree))
    assert (alone is None) == (shared is None)
    if alone is not None:
        assert alone.text == shared.text and ast.dump(alone.tree) == ast.dump(shared.tree)


def test_trigger_names_follow_the_knowledge_and_the_resources():
    """``trigger_names`` answers again from its last answer while the knowledge object and
    the configured resources are the same ones, and computes anew when either changes."""
    from memlint import prefilter

    first = prefilter.trigger_names({})
    assert prefilter.trigger_names({}) is first
    configured = {"acme.open_channel": (("kind", "handle"), ("release", ("close",)))}
    with_channel = prefilter.trigger_names(configured)
    assert "open_channel" in with_channel and "open_channel" not in first
    assert prefilter.trigger_names({}) == first

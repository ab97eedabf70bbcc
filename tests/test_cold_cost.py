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

"""A project class whose close() releases nothing (only finishes an in-memory object, like
kafka's MemoryRecordsBuilder) is no resource known by its release (issue 13/20, class
not-a-resource): judged on the class and its project bases by ``analysis.project_inert``
through the project index."""

from __future__ import annotations

import ast
from pathlib import Path

from memlint.analysis.project_index import ProjectIndex
from memlint.analysis.project_inert import inert_release_methods
from test_project_index import assert_package_matches, expectations

PACKAGE = Path(__file__).resolve().parents[1] / "fixtures" / "projects" / "inert_closers"


def test_the_package_fixture_matches_its_expectations():
    assert_package_matches(PACKAGE, 3)
    assert expectations(PACKAGE / "batches" / "jobs.py") == [
        (32, "MEM003(low)"), (39, "MEM003(low)"), (46, "MEM003(low)"), (66, "MEM003(low)"), (73, "MEM003(low)"),
    ]


def test_the_index_marks_only_classes_whose_close_releases_nothing():
    jobs = PACKAGE / "batches" / "jobs.py"
    entries = dict(ProjectIndex().entries_for(str(jobs), jobs.read_text(encoding="utf-8")))
    assert entries.get("batches.builders.RecordsBuilder#inert-release") == "close"
    assert entries.get("batches.builders.CompressingBuilder#inert-release") == "close"  # inherited
    assert entries.get("batches.builders.TablePrinter#inert-release") == "close"  # ``str.join``
    assert entries.get("batches.builders.PathBuilder#inert-release") == "close"  # bound ``append``
    for releasing in ("SpoolingBuilder", "HelperClosingBuilder", "StreamBuilder", "JoiningWorker", "BoundCloser"):
        assert f"batches.builders.{releasing}#inert-release" not in entries


class _Module:
    name = "pkg.mod"

    def qualify(self, node):
        return None


def _inert(source: str, name: str):
    classes = {node.name: node for node in ast.parse(source).body if isinstance(node, ast.ClassDef)}
    return inert_release_methods(lambda module: None, _Module(), classes[name], ("close", "shutdown"))


def test_what_keeps_a_close_a_release():
    source = (
        "class Flushes:\n    def close(self):\n        self._buf.flush()\n        self._done = True\n"
        "class Shuts:\n    def shutdown(self):\n        self._pool.shutdown(wait=True)\n"
        "class Closes:\n    def close(self):\n        self._file.close()\n"
        "class Deletes:\n    def close(self):\n        del self._file\n"
        "class Hands:\n    def close(self):\n        registry.forget(self)\n"
        "class Super:\n    def close(self):\n        super().close()\n"
        "class Decorated:\n    @locked\n    def close(self):\n        self._done = True\n"
        "class Aliased:\n    close = _finish\n"
        "class Unlinks:\n    def close(self):\n        os.unlink(self.path)\n"
        "class Signals:\n    def serve(self):\n        while self.active:\n            self.step()\n"
        "    def close(self):\n        self.active = False\n"
    )
    assert _inert(source, "Flushes") == ["close"]
    # ``Signals.close()`` only sets a flag, but a loop of the class tests it: a stop signal
    for name in ("Shuts", "Closes", "Deletes", "Hands", "Super", "Decorated", "Aliased", "Unlinks", "Signals"):
        assert _inert(source, name) == [], name


def test_string_joins_and_bound_plain_methods_release_nothing():
    source = (
        "class Joins:\n    def close(self):\n        line = ', '.join(self.parts)\n        self.out.write(line)\n"
        "class JoinsList:\n    def close(self):\n        line = sep.join([p for p in self.parts])\n        self.out.write(line)\n"
        "class JoinsThread:\n    def close(self):\n        self._thread.join()\n"
        "class JoinsTimeout:\n    def close(self):\n        self._thread.join(self.timeout)\n"
        "class Bound:\n    def __init__(self):\n        self._emit = self._code.append\n"
        "    def close(self):\n        self._emit('h')\n"
        "class BoundClose:\n    def __init__(self, f):\n        self._emit = self._f.close\n"
        "    def close(self):\n        self._emit()\n"
        "class Unbound:\n    def close(self):\n        self._emit()\n"
        "class LocalClose:\n    def close(self):\n        done = self._f.close\n        done()\n"
    )
    for name in ("Joins", "JoinsList", "Bound"):
        assert _inert(source, name) == ["close"], name
    for name in ("JoinsThread", "JoinsTimeout", "BoundClose", "Unbound", "LocalClose"):
        assert _inert(source, name) == [], name

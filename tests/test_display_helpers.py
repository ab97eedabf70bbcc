"""A helper of another project module whose every return is a ``tqdm`` bar makes no resource
known by its release (issue 13/20, class not-a-resource): the project index marks it
through ``analysis.project_inert.inert_release_methods_named``."""

from __future__ import annotations

from pathlib import Path

from memlint.analysis.project_index import ProjectIndex
from test_project_index import assert_package_matches, expectations

PACKAGE = Path(__file__).resolve().parents[1] / "fixtures" / "projects" / "display_helpers"


def test_the_package_fixture_matches_its_expectations():
    assert_package_matches(PACKAGE, 3)
    assert expectations(PACKAGE / "loaders" / "reading.py") == [(19, "MEM003"), (27, "MEM003(low)")]


def test_the_index_marks_only_helpers_that_always_return_a_bar():
    reading = PACKAGE / "loaders" / "reading.py"
    entries = dict(ProjectIndex().entries_for(str(reading), reading.read_text(encoding="utf-8")))
    assert entries.get("loaders.progress.create_load_bar#inert-release") == "aclose,close,disconnect,dispose,quit,release,shutdown,terminate"
    for mixed in ("create_logged_bar", "create_sink_bar"):
        assert f"loaders.progress.{mixed}#inert-release" not in entries

"""A base class reached through ``from pkg.module import *`` (check-2, stomp.py multicast):
its inherited releases count for the subclass, and only for what the base releases."""

from __future__ import annotations

from pathlib import Path

from memlint.analysis.project_scan import star_imported_bases

from test_project_index import assert_package_matches, expectations

PACKAGE = Path(__file__).resolve().parents[1] / "fixtures" / "projects" / "star_imported_bases"


def test_star_imported_base_package_matches_its_expectations():
    assert_package_matches(PACKAGE, 3)
    assert expectations(PACKAGE / "wire" / "multicast.py") == [(11, "MEM004")]


def test_only_bases_no_other_import_names_are_looked_up_in_star_imported_modules():
    text = "from a.b import *\nfrom a.c import Named\n\nclass X(Base, Named):\n    pass\n"
    assert list(star_imported_bases(text)) == [("a.b", {"Base"})]
    assert list(star_imported_bases("from a.b import Base\nclass X(Base): pass\n")) == []

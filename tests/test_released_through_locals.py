"""Releases a project base in another module makes through a local name that holds the
attribute (garak's ``client = getattr(self, "client", None)`` ... ``client.close()``)."""

from __future__ import annotations

import ast
from pathlib import Path

from memlint.analysis.released_attributes import released_attributes

from test_project_index import assert_package_matches, expectations

PACKAGE = Path(__file__).resolve().parents[1] / "fixtures" / "projects" / "released_through_locals"


def test_released_through_locals_fixture_package_matches_its_expectations():
    assert_package_matches(PACKAGE, 3)
    assert len(expectations(PACKAGE / "agents" / "users.py")) == 2


def _class(source: str) -> ast.ClassDef:
    return next(n for n in ast.parse(source).body if isinstance(n, ast.ClassDef))


def test_a_local_bound_once_from_the_attribute_releases_it():
    source = (
        "class C:\n"
        "    def close(self):\n"
        "        client = getattr(self, 'client', None)\n"
        "        sock = self._sock\n"
        "        client.close()\n"
        "        sock.shutdown()\n"
    )
    assert released_attributes(_class(source)) == {"client": "close", "_sock": "close"}


def test_a_local_bound_twice_or_a_parameter_releases_nothing_of_self():
    source = (
        "class C:\n"
        "    def close(self, conn):\n"
        "        sock = self.sock\n"
        "        for sock in self.extra:\n"
        "            sock.close()\n"
        "        conn = self.conn\n"
        "        conn.close()\n"
        "    def __del__(self):\n"
        "        handle = self.handle\n"
        "        handle.close()\n"
    )
    assert released_attributes(_class(source)) == {}

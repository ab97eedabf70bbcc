"""Releases inherited from project bases in other modules (realcode TUNING-NOTES 6.1.3):
a base of a base, a generic base (``Provider[T]``), a base re-exported by a package's
``__init__``, and a client built on the pool the object keeps and its base releases."""

from __future__ import annotations

import ast
from pathlib import Path

from memlint.analysis.project_index import ProjectIndex
from memlint.analysis.project_owned import chain_releases, class_chain, wraps_released_attribute

from test_project_index import assert_package_matches, expectations

PACKAGE = Path(__file__).resolve().parents[1] / "fixtures" / "projects" / "inherited_releases"


def test_inherited_releases_fixture_package_matches_its_expectations():
    assert_package_matches(PACKAGE, 4)
    assert len(expectations(PACKAGE / "relay" / "users.py")) == 2


def test_the_chain_reaches_a_generic_base_re_exported_by_the_package():
    index = ProjectIndex()
    root = str(PACKAGE)
    module = index._load(root, "relay.pooled")
    chain = class_chain(lambda name: index._load(root, name), module, module.classes["PooledProvider"])
    assert [cls.name for _module, cls in chain] == ["PooledProvider", "Provider"]
    assert chain_releases(chain, index._released) == {"_own_pool": "__aexit__"}


def _method(source: str, name: str) -> ast.AST:
    return next(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef) and n.name == name)


def test_a_client_on_a_kept_pool_wraps_it_only_when_the_chain_releases_that_pool():
    source = (
        "class C:\n"
        "    def make(self):\n"
        "        pool = httpx.Client()\n"
        "        self._pool = pool\n"
        "        return openai.OpenAI(http_client=pool)\n"
    )
    tree = ast.parse(source)
    chain = [(None, tree.body[0])]
    method = _method(source, "make")
    assert wraps_released_attribute(method, chain, {"_pool": "close"})
    assert not wraps_released_attribute(method, chain, {"_other": "close"})
    assert not wraps_released_attribute(method, chain, {})


SHARED_GETTERS = Path(__file__).resolve().parents[1] / "fixtures" / "projects" / "shared_getters"


def test_a_getter_caching_a_module_global_hands_out_no_fresh_client():
    """TUNING-NOTES 6.1.9: ``global _client; _client = httpx.Client()`` in another module."""
    assert_package_matches(SHARED_GETTERS, 3)
    assert len(expectations(SHARED_GETTERS / "hub" / "users.py")) == 1

"""Region selection (memlint.regions) keeps no more than what can change a finding: a
context manager's own ``__exit__`` does not make its class a resource, unless the class
holds one after all. Either way the findings are those of the whole file."""

from __future__ import annotations

import ast

from memlint.api import check_files
from memlint.config import ConfigResolver
from memlint.discovery import discover
from memlint.regions import region_source

FILLER = "".join(f"\ndef filler_{n}():\n    value = {n}\n    return value * 2\n" for n in range(8))

# minidom's Node: a context manager whose __exit__ unlinks, holding no resource. Where
# the module builds one is no acquisition, so `build` cannot hold a finding.
PLAIN_CONTEXT_MANAGER = (
    "import socket\n\nclass Node:\n    def __enter__(self):\n        return self\n\n"
    "    def __exit__(self, *exc):\n        self.unlink()\n\n    def unlink(self):\n        self.parent = None\n\n"
    "def build():\n    node = Node()\n    node.unlink()\n    return node\n\n"
    "def leak():\n    s = socket.socket()\n    s.send(b'x')\n" + FILLER
)

# A context manager whose __enter__ binds what a module-local factory makes: the class owns
# a resource (analysis.local_resources), so where it is built is an acquisition. Its release
# method, ``cleanup``, is no trigger: only ``__enter__`` tells, by what it names. (The class
# is lazy, analysis.lazy_classes: it holds the socket once a method, here ``__enter__``, ran.)
HOLDING_CONTEXT_MANAGER = (
    "import socket\n\ndef make():\n    return socket.socket()\n\nclass Pool:\n    def __enter__(self):\n"
    "        self.conn = make()\n        return self\n\n    def __exit__(self, *exc):\n        self.cleanup()\n\n"
    "    def cleanup(self):\n        self.conn = None\n\n"
    "def use():\n    pool = Pool()\n    pool.__enter__()\n    pool.conn.send(b'x')\n" + FILLER
)


def _kept_functions(source):
    selected = region_source(source, ast.parse(source), {})
    assert selected is not None
    return {
        node.name
        for node in ast.walk(ast.parse(selected.text))
        if isinstance(node, ast.FunctionDef) and [type(s) for s in node.body] != [ast.Pass]
    }


def _same_findings(tmp_path, source):
    (tmp_path / "module.py").write_text(source)
    resolver = ConfigResolver(isolated=True)
    files = discover([str(tmp_path / "module.py")], resolver)
    on = check_files(files, resolver, regions=True).findings
    off = check_files(files, resolver, regions=False).findings
    assert on == off
    return on


def test_an_exit_naming_no_resource_does_not_make_its_class_one(tmp_path):
    kept = _kept_functions(PLAIN_CONTEXT_MANAGER)
    assert {"__enter__", "__exit__", "leak"} <= kept
    assert "build" not in kept
    assert [finding.code for finding in _same_findings(tmp_path, PLAIN_CONTEXT_MANAGER)] == ["MEM001"]


def test_an_enter_holding_what_a_local_factory_makes_keeps_where_its_class_is_built(tmp_path):
    kept = _kept_functions(HOLDING_CONTEXT_MANAGER)
    assert {"make", "__enter__", "use"} <= kept
    findings = _same_findings(tmp_path, HOLDING_CONTEXT_MANAGER)
    built = [finding for finding in findings if finding.line == 18]
    assert [finding.code for finding in built] == ["MEM001"] and "`Pool` object" in built[0].message


# A project class whose construction cannot raise (a ``#quiet`` fact of the project index):
# MEM003 needs it to judge the call between acquiring and releasing, nothing else.
QUIET_PROJECT = {
    "pkg/__init__.py": "",
    "pkg/plain.py": "class Quiet:\n    def __init__(self, value):\n        self.value = value\n",
    "pkg/user.py": "import socket\nfrom pkg import plain\n\n\ndef sends(address):\n    sock = socket.create_connection(address)\n"
    "    marker = plain.Quiet(1)\n    sock.close()\n    return marker\n\n\ndef other():\n    return plain.Quiet(2)\n" + FILLER,
}


def test_a_quiet_class_fact_makes_no_region_trigger(tmp_path, monkeypatch):
    from conftest import findings_with_regions_on_and_off, write_tree

    write_tree(tmp_path, QUIET_PROJECT)
    on, off, parts = findings_with_regions_on_and_off(tmp_path / "pkg", monkeypatch)
    assert on == off == []  # Quiet(1) cannot raise: the socket is closed on every path
    # ``other`` names the quiet class's module only: nothing there can hold a finding.
    assert len(parts) == 1 and "marker = plain.Quiet(1)" in parts[0] and "plain.Quiet(2)" not in parts[0]


def test_the_node_walk_gives_ast_walks_nodes_in_source_order_but_the_leaves():
    import ast
    from pathlib import Path

    from memlint.prefilter import ast_nodes

    leaves = (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)
    source = Path(ast.__file__).read_text(encoding="utf-8") + (
        "\nmatch p:\n    case Point(x=0, y=[a, *rest]) | {'k': v, **others} if not a < b:\n        pass\n"
        "global g\nasync def f():\n    async with a as (b, c):\n        x = f'{y!r:>{w}}' @ -z\n"
    )
    tree = ast.parse(source)
    found = ast_nodes(tree)
    assert set(map(id, found)) == {id(node) for node in ast.walk(tree) if not isinstance(node, leaves)}
    assert not any(isinstance(node, leaves) for node in found)
    starts = [(node.lineno, node.col_offset) for node in found if isinstance(node, ast.stmt)]
    assert starts == sorted(starts)


SESSION_CLIENT = {
    "pkg/__init__.py": "",
    "pkg/client.py": (
        "import requests\n\n\n"
        "class Client:\n"
        "    def __init__(self, root):\n"
        "        self.root = root\n"
        "        self.session = requests.Session()\n\n"
        "    def execute(self, path):\n"
        "        response = self.session.request('GET', self.root + path, stream=True, timeout=requests.adapters.DEFAULT_POOL_TIMEOUT)\n"
        "        return response\n\n"
        "    def etag(self, path):\n"
        "        response = self.execute(path)\n"
        "        return response.headers.get('etag')\n\n"
        "    def close(self):\n"
        "        self.session.close()\n\n\n"
        + "".join(f"def unrelated_{n}(values):\n    total = 0\n    for value in values:\n        total += value * {n}\n    return total\n\n\n"
                  for n in range(12))
    ),
}


def test_a_seed_using_what_another_seed_makes_hands_it_on(tmp_path, monkeypatch):
    """``execute`` is kept for naming ``requests`` itself; it also returns what a method of
    ``self.session`` (made by ``__init__``) gives, so it is a factory and ``etag``, which
    calls it, must be parsed too: the streamed response it drops is found either way."""
    from conftest import findings_with_regions_on_and_off, write_tree

    write_tree(tmp_path, SESSION_CLIENT)
    on, off, parts = findings_with_regions_on_and_off(tmp_path / "pkg", monkeypatch)
    assert [(f.line, f.code) for f in off] == [(4, "MEM042"), (14, "MEM001")]
    assert on == off
    assert len(parts) == 1 and "def etag" in parts[0] and "unrelated_3" not in parts[0]


LIFESPAN_MODULE = {
    "pkg/__init__.py": "",
    "pkg/routes.py": (
        "import asyncio\nfrom contextlib import asynccontextmanager\n\nfrom fastapi import APIRouter, FastAPI\n\n\n"
        "class Worker:\n"
        "    async def start(self):\n        self.task = asyncio.create_task(asyncio.sleep(1))\n\n"
        "    async def stop(self):\n        self.task.cancel()\n\n\n"
        "worker = Worker()\n\n\n"
        "@asynccontextmanager\n"
        "async def handler(_: FastAPI):\n"
        "    await worker.start()\n"
        "    yield\n"
        "    await worker.stop()\n\n\n"
        "router = APIRouter(lifespan=handler)\n\n\n"
        + "".join(f"def unrelated_{n}(values):\n    total = 0\n    for value in values:\n        total += value * {n}\n    return total\n\n\n"
                  for n in range(12))
    ),
}


def test_a_statement_handing_a_lifespan_handler_over_is_kept(tmp_path, monkeypatch):
    """The lifespan of a server is judged apart (MEM004 asks nothing of its code after
    ``yield``), and the analysis learns it from ``lifespan=`` anywhere in the module: the
    statement passing it names no resource, yet region parsing must keep it."""
    from conftest import findings_with_regions_on_and_off, write_tree

    write_tree(tmp_path, LIFESPAN_MODULE)
    on, off, parts = findings_with_regions_on_and_off(tmp_path / "pkg", monkeypatch)
    assert off == []
    assert on == off
    assert len(parts) == 1 and "APIRouter(lifespan=handler)" in parts[0] and "unrelated_3" not in parts[0]

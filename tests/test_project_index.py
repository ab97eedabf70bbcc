"""The project index (stage 0): resources made by a function or class of another module of
the checked project, the facts it hands each file, and the cache staying correct."""

from __future__ import annotations

import io
import json
import re
import tokenize
from pathlib import Path

import memlint
from memlint.analysis.project_index import ProjectIndex
from memlint.analysis.project_scan import absolute_module, imported_prefixes, module_location

from conftest import run_memlint_process, write_tree

PACKAGE = Path(__file__).resolve().parents[1] / "fixtures" / "projects" / "cross_module_factories"
# ``MEM003(low)``: a finding of low confidence (reported with ``--confidence low``).
_EXPECT = re.compile(r"#\s*expect:\s*(MEM\d{3}(?:\(low\))?(?:\s*,\s*MEM\d{3}(?:\(low\))?)*)\s*$")


def expectations(path: Path):
    pairs = []
    for token in tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline):
        match = _EXPECT.search(token.string) if token.type == tokenize.COMMENT else None
        if match:
            pairs.extend((token.start[0], code.strip()) for code in match.group(1).split(","))
    return sorted(pairs)


def assert_package_matches(package: Path, file_count: int) -> None:
    """memlint on the fixture package finds what its ``# expect:`` comments say, file by file."""
    findings = memlint.check_paths([str(package)], {"confidence": "low"})
    files = sorted(package.rglob("*.py"))
    assert len(files) == file_count
    for path in files:
        found = sorted((f.line, f.code + ("(low)" if f.confidence == "low" else "")) for f in findings
                       if Path(f.path).resolve() == path.resolve() and f.code.startswith("MEM0"))
        assert found == expectations(path), path.name


def test_cross_module_fixture_package_matches_its_expectations():
    assert_package_matches(PACKAGE, 3)
    assert expectations(PACKAGE / "shop" / "users.py"), "the fixture must expect findings"


def test_the_same_file_alone_draws_nothing():
    """Without the rest of its package the file gives nothing: the index is what finds them."""
    users = PACKAGE / "shop" / "users.py"
    assert [f for f in memlint.check_source(users.read_text(encoding="utf-8"), "users.py") if f.code == "MEM001"] == []


def test_module_names_and_relative_imports(tmp_path):
    write_tree(tmp_path, {"pkg/__init__.py": "", "pkg/sub/__init__.py": "", "pkg/sub/mod.py": "", "script.py": ""})
    assert module_location(str(tmp_path / "pkg" / "sub" / "mod.py")) == (str(tmp_path), "pkg.sub.mod", False)
    assert module_location(str(tmp_path / "pkg" / "sub" / "__init__.py")) == (str(tmp_path), "pkg.sub", True)
    assert module_location(str(tmp_path / "script.py")) == (str(tmp_path), "script", False)
    assert absolute_module(".util", "pkg.sub.mod", False) == "pkg.sub.util"
    assert absolute_module("..util", "pkg.sub.mod", False) == "pkg.util"
    assert absolute_module(".", "pkg.sub", True) == "pkg.sub"
    assert absolute_module("os.path", "pkg.sub.mod", False) == "os.path"
    text = "from a.b import c, \\\n    d as e\nfrom x import (f,\n  g)\nimport p.q, r as s\n"
    assert list(imported_prefixes(text)) == [("a.b", ["c", "d"]), ("x", ["f", "g"]), ("p.q", []), ("r", [])]


def test_entries_only_for_what_the_file_imports_and_vendored_bases(tmp_path):
    write_tree(tmp_path, {
        "app/__init__.py": "",
        "app/net.py": "import socket\n\ndef dial(a):\n    return socket.create_connection(a)\n\ndef name():\n    return 'x'\n",
        "app/web.py": (
            "from app._vendor import requests\n\nclass AppSession(requests.Session):\n    pass\n\n"
            "def gen():\n    yield open('f')\n"
        ),
        "app/use.py": "from .net import dial, name\n\nconn = dial(('h', 1))\nlabel = name()\n",
    })
    index = ProjectIndex()
    use = tmp_path / "app" / "use.py"
    # (``name()`` only returns a constant: calling it cannot raise, a fact MEM003 reads.)
    assert index.entries_for(str(use), use.read_text()) == ((".net.dial", "socket"), (".net.name#quiet", "quiet"))
    web_user = "from app import web\n\nweb.AppSession()\n"
    # A vendored copy of a known library counts as the library; a generator is no factory.
    assert index.entries_for(str(use), web_user) == (("app.web.AppSession", "http-session"),)


def test_a_change_in_the_used_module_is_not_served_from_the_cache(tmp_path):
    write_tree(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/net.py": "import socket\n\n\ndef dial(a):\n    return socket.create_connection(a)\n",
        "pkg/use.py": "from .net import dial\n\n\ndef ping(a):\n    conn = dial(a)\n    conn.sendall(b'x')\n",
    })
    run = lambda: [(f["path"], f["code"]) for f in json.loads(run_memlint_process(
        "check", "--output-format", "json", "--cache-dir", "cache", "pkg", cwd=tmp_path).stdout)]
    assert run() == [("pkg/use.py", "MEM001")]
    assert run() == [("pkg/use.py", "MEM001")]  # warm
    # pkg/use.py is unchanged, but what it uses no longer makes a socket.
    (tmp_path / "pkg" / "net.py").write_text("def dial(a):\n    return a\n")
    assert run() == []


def test_a_definition_inside_a_string_does_not_break_the_run(tmp_path):
    """A `def` at column 0 inside a string is no definition: the index skips it, the run goes on."""
    write_tree(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/six.py": 'CODE = """\ndef exec_in(code):\n    pass\n"""\n',
        "pkg/use.py": "from .six import exec_in\n\nexec_in('x')\nhandle = open('f')\n",
    })
    done = run_memlint_process("check", "--output-format", "json", "--no-cache", "pkg", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert [f["code"] for f in json.loads(done.stdout)] == ["MEM001"]


def test_a_warm_run_takes_the_index_facts_from_the_cache(tmp_path, monkeypatch, capsys):
    """Nothing in the package changed: the file's facts come from the cache, the index
    summarises nothing; a change anywhere in the package makes it summarise again."""
    from memlint import cli
    from memlint.analysis.project_index import ProjectIndex

    write_tree(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/net.py": "import socket\n\n\ndef dial(a):\n    return socket.create_connection(a)\n",
        "pkg/use.py": "from .net import dial\n\n\ndef ping(a):\n    conn = dial(a)\n    conn.sendall(b'x')\n",
    })
    monkeypatch.chdir(tmp_path)
    calls = []
    summarise = ProjectIndex.entries_for
    monkeypatch.setattr(ProjectIndex, "entries_for", lambda self, path, text: calls.append(path) or summarise(self, path, text))
    argv = ["check", "--output-format", "concise", "--cache-dir", "cache", "pkg"]
    assert cli.main(argv) == 1
    assert len(calls) == 3
    assert cli.main(argv) == 1  # warm
    assert len(calls) == 3
    (tmp_path / "pkg" / "other.py").write_text("X = 1\n")
    assert cli.main(argv) == 1
    assert len(calls) == 7
    assert "pkg/use.py" in capsys.readouterr().out


def test_a_big_run_indexes_in_worker_processes_with_the_same_facts(tmp_path, monkeypatch):
    """The index's syntax trees stay out of the process that later forks the checking workers."""
    from memlint import project_facts as stage
    from memlint.analysis import project_index

    files = {"pkg/__init__.py": "", "pkg/maker.py": "import socket\n\n\ndef dial(address):\n    return socket.create_connection(address)\n"}
    for index in range(stage.MIN_FILES_FOR_INDEX_WORKERS):
        files[f"pkg/user_{index}.py"] = f"from pkg.maker import dial\n\n\ndef use_{index}(a):\n    return dial(a)\n"
        files[f"other_{index % 3}/__init__.py"] = ""
        files[f"other_{index % 3}/m_{index}.py"] = "import os\n"
    write_tree(tmp_path, files)
    paths = sorted(str(path) for path in tmp_path.rglob("*.py"))
    alone = dict(zip(paths, stage.facts_for_paths(paths)))
    assert alone[str(tmp_path / "pkg" / "user_7.py")], "the fixture must give facts"
    made_here = []
    real_init = project_index.ProjectIndex.__init__

    def counting_init(self):
        made_here.append(1)
        real_init(self)

    monkeypatch.setattr(project_index.ProjectIndex, "__init__", counting_init)
    assert stage.project_facts(paths, 2, isolate=True) == alone
    assert made_here == []  # every index was made in a worker
    assert stage.project_facts(paths, 1, isolate=False) == alone
    assert len(made_here) == 4  # in this process: one index per top-level package (pkg, other_0..2)

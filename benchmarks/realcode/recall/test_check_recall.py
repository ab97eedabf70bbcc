"""Tests of check_recall.py on a throw-away git repository built here.

Not collected by the default test run (testpaths = tests); run with
    PYTHONPATH=$PWD python -m pytest benchmarks/realcode/recall/test_check_recall.py -q
"""

import json
import os
import subprocess
import sys

import pytest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check_recall.py")

LEAKY = "def read(path):\n    handle = open(path)\n    return handle.read()\n"
FIXED = "def read(path):\n    with open(path) as handle:\n        return handle.read()\n"
# A "fix" that only closes on the normal path: MEM003 stays on line 2.
HALF_FIXED = "def read(path):\n    handle = open(path)\n    data = handle.read()\n    handle.close()\n    return data\n"


def git(repo, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@e", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@e")
    return subprocess.run(["git", "-C", repo] + list(args), check=True, capture_output=True,
                          text=True, env=env).stdout.strip()


def commit_file(repo, name, text):
    with open(os.path.join(repo, name), "w") as handle:
        handle.write(text)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", "change " + name)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def mirrors(tmp_path):
    """A mirrors folder holding one clone, owner+demo, with two fix commits."""
    repo = tmp_path / "mirrors" / "owner+demo"
    repo.mkdir(parents=True)
    git(str(repo), "init", "-q")
    commit_file(str(repo), "good.py", LEAKY)
    good_fix = commit_file(str(repo), "good.py", FIXED)
    commit_file(str(repo), "half.py", LEAKY)
    half_fix = commit_file(str(repo), "half.py", HALF_FIXED)
    return tmp_path / "mirrors", good_fix, half_fix


def case(case_id, commit, path, **extra):
    row = {"id": case_id, "repo": "owner/demo", "commit": commit, "path": path, "line": 2,
           "after_line": 2, "kind": "never-closed", "rule": "MEM001", "description": "d",
           "agent": False}
    row.update(extra)
    return row


def run(tmp_path, rows, *options):
    cases = tmp_path / "cases.jsonl"
    cases.write_text("".join(json.dumps(r) + "\n" for r in rows) if isinstance(rows, list) else rows)
    report = tmp_path / "out.json"
    done = subprocess.run([sys.executable, SCRIPT, "--cases", str(cases), "--json", str(report)]
                          + list(options), capture_output=True, text=True)
    results = json.loads(report.read_text())["results"] if report.exists() else None
    return done, results


def test_a_real_fix_is_found_before_and_clean_after(tmp_path, mirrors):
    folder, good_fix, _ = mirrors
    done, results = run(tmp_path, [case("good", good_fix, "good.py")], "--mirrors", str(folder))
    assert done.returncode == 0, done.stderr
    assert results[0]["codes_before"] == ["MEM001"] and results[0]["clean_after"]
    assert "recall (found before and clean after): 1/1" in done.stdout


def test_a_partial_fix_is_a_miss_unless_its_code_is_allowed(tmp_path, mirrors):
    folder, _, half_fix = mirrors
    done, results = run(tmp_path, [case("half", half_fix, "half.py")], "--mirrors", str(folder),
                        "--min-recall", "0.5")
    assert done.returncode == 1
    assert results[0]["found_before"] and results[0]["codes_after"] == ["MEM003"]
    done, results = run(tmp_path, [case("half", half_fix, "half.py", after_allowed=["MEM003"])],
                        "--mirrors", str(folder))
    assert done.returncode == 0 and results[0]["hit"]


def test_a_wrong_line_is_not_found(tmp_path, mirrors):
    folder, good_fix, _ = mirrors
    done, results = run(tmp_path, [case("far", good_fix, "good.py", line=3 + 2)], "--mirrors", str(folder))
    assert done.returncode == 0
    assert not results[0]["found_before"] and not results[0]["hit"]


def test_repo_map_and_bare_layout(tmp_path, mirrors):
    folder, good_fix, _ = mirrors
    bare = tmp_path / "bare" / "owner+demo" / "repo"
    subprocess.run(["git", "clone", "-q", "--bare", str(folder / "owner+demo"), str(bare)], check=True)
    done, _ = run(tmp_path, [case("good", good_fix, "good.py")], "--mirrors", str(tmp_path / "bare"))
    assert done.returncode == 0, done.stdout + done.stderr
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"owner/demo": str(folder / "owner+demo")}))
    done, _ = run(tmp_path, [case("good", good_fix, "good.py")], "--mirrors", str(tmp_path / "none"),
                  "--repo-map", str(mapping))
    assert done.returncode == 0, done.stdout + done.stderr


def test_missing_repository_or_commit_is_skipped_with_exit_3(tmp_path, mirrors):
    folder, good_fix, _ = mirrors
    rows = [case("good", good_fix, "good.py"),
            case("gone", "0" * 40, "good.py", ref="refs/pull/1/head"),
            dict(case("elsewhere", good_fix, "good.py"), repo="other/repo")]
    done, results = run(tmp_path, rows, "--mirrors", str(folder))
    assert done.returncode == 3
    assert len(results) == 1
    assert "SKIP gone" in done.stdout and "git fetch origin refs/pull/1/head" in done.stdout
    assert "SKIP elsewhere" in done.stdout


@pytest.mark.parametrize("text, message", [
    ("not json\n", "not valid JSON"),
    ("[1]\n", "must be a JSON object"),
    (json.dumps(dict(case("x", "a" * 40, "p.py"), line="2")) + "\n", "'line' missing or not a int"),
    (json.dumps(dict(case("x", "a" * 40, "p.py"), rule="MEM999")) + "\n", "rule must be one of"),
    (json.dumps(case("x", "a" * 40, "p.py")) * 2 + "\n", "not valid JSON"),
    ("\n", "no cases"),
])
def test_bad_cases_file_exits_2_with_one_line(tmp_path, text, message):
    done, _ = run(tmp_path, text)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_duplicate_ids_and_unknown_case_exit_2(tmp_path, mirrors):
    folder, good_fix, _ = mirrors
    done, _ = run(tmp_path, [case("a", good_fix, "good.py"), case("a", good_fix, "good.py")])
    assert done.returncode == 2 and "duplicate id a" in done.stderr
    done, _ = run(tmp_path, [case("a", good_fix, "good.py")], "--case", "b", "--mirrors", str(folder))
    assert done.returncode == 2 and "unknown case id(s): b" in done.stderr


def test_the_file_is_checked_inside_its_package(tmp_path):
    """A resource made in another module of the package is found: the checker writes the
    file's Python tree at each revision, so memlint's project index can read it."""
    repo = tmp_path / "mirrors" / "owner+demo"
    (repo / "pkg").mkdir(parents=True)
    git(str(repo), "init", "-q")
    commit_file(str(repo), "pkg/__init__.py", "")
    commit_file(str(repo), "pkg/net.py", "import socket\n\n\ndef dial(a):\n    return socket.create_connection(a)\n")
    commit_file(str(repo), "pkg/use.py", "from .net import dial\nconn = dial(('h', 1))\nconn.sendall(b'x')\n")
    fix = commit_file(str(repo), "pkg/use.py",
                      "from .net import dial\nwith dial(('h', 1)) as conn:\n    conn.sendall(b'x')\n")
    done, results = run(tmp_path, [case("pkg", fix, "pkg/use.py")], "--mirrors", str(tmp_path / "mirrors"))
    assert done.returncode == 0, done.stderr
    assert results[0]["codes_before"] == ["MEM001"] and results[0]["clean_after"]

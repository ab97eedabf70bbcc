"""File discovery: what is walked, what is skipped, .gitignore, symlinks, explicit paths."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from memlint.config import ConfigResolver, Overrides
from memlint.discovery import GitIgnore, PathNotFoundError, discover, parse_gitignore

from conftest import write_tree

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def found(root: Path, *paths: str, force_exclude: bool = False, overrides: Overrides = Overrides()) -> list:
    resolver = ConfigResolver(overrides)
    files = discover(paths or (".",), resolver, force_exclude=force_exclude, cwd=str(root))
    return [source.display for source in files]


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=str(root), capture_output=True, text=True, check=True).stdout


def test_walks_py_and_pyi_and_skips_the_usual_folders(in_tmp):
    write_tree(in_tmp, {
        "pkg/a.py": "", "pkg/b.pyi": "", "pkg/c.txt": "", "pkg/sub/d.py": "",
        "pkg/__pycache__/a.cpython-311.py": "", ".git/hooks/x.py": "", "node_modules/m/x.py": "",
        "build/lib/x.py": "", "dist/x.py": "", "env/pyvenv.cfg": "", "env/lib/x.py": "",
        "pkg.egg-info/x.py": "", ".tox/x.py": "", ".memlint_cache/x.py": "",
    })
    assert found(in_tmp) == [os.path.join("pkg", name) for name in ("a.py", "b.pyi", os.path.join("sub", "d.py"))]


def test_explicit_paths_are_checked_unless_force_exclude(in_tmp):
    write_tree(in_tmp, {"build/x.py": "", "script": "", "pkg/build/y.py": ""})
    assert found(in_tmp, "build/x.py", "script") == [os.path.join("build", "x.py"), "script"]
    # An explicitly named folder is walked even though its name is excluded ...
    assert found(in_tmp, "build") == [os.path.join("build", "x.py")]
    # ... but not with --force-exclude, which pre-commit relies on.
    assert found(in_tmp, "build/x.py", "build", "pkg/build/y.py", "script", force_exclude=True) == ["script"]


def test_exclude_and_extend_exclude_from_command_line(in_tmp):
    write_tree(in_tmp, {"a/x.py": "", "b/y.py": "", "build/z.py": "", "c/gen_1.py": ""})
    assert found(in_tmp, overrides=Overrides(extend_exclude=("a", "gen_*.py"))) == [os.path.join("b", "y.py")]
    replaced = found(in_tmp, overrides=Overrides(exclude=("a",)))
    assert replaced == [os.path.join("b", "y.py"), os.path.join("build", "z.py"), os.path.join("c", "gen_1.py")]


def test_config_exclude_is_relative_to_the_config_file(in_tmp):
    write_tree(in_tmp, {
        "proj/pyproject.toml": "[tool.memlint]\nextend-exclude = ['gen/*.py']\n",
        "proj/gen/a.py": "", "proj/pkg/gen/b.py": "", "gen/c.py": "",
    })
    assert found(in_tmp) == [os.path.join("gen", "c.py"), os.path.join("proj", "pkg", "gen", "b.py")]


def test_duplicates_are_removed_and_output_is_sorted(in_tmp):
    write_tree(in_tmp, {"b.py": "", "a/z.py": "", "a/b.py": ""})
    assert found(in_tmp, "b.py", "a", "a/z.py", ".") == [os.path.join("a", "b.py"), os.path.join("a", "z.py"), "b.py"]


def test_missing_path_raises_before_any_work(in_tmp):
    write_tree(in_tmp, {"a.py": ""})
    with pytest.raises(PathNotFoundError, match=r"^path not found: nope/x.py$"):
        found(in_tmp, "a.py", "nope/x.py")


def test_symlink_loop_terminates_and_linked_folders_are_visited_once(in_tmp):
    write_tree(in_tmp, {"pkg/a.py": "", "other/b.py": ""})
    os.symlink(in_tmp / "pkg", in_tmp / "pkg" / "loop")
    os.symlink(in_tmp / "other", in_tmp / "pkg" / "link")
    assert found(in_tmp, "pkg") == [os.path.join("pkg", "a.py"), os.path.join("pkg", "link", "b.py")]


def test_paths_outside_the_working_directory_are_absolute(tmp_path, monkeypatch):
    write_tree(tmp_path, {"inside/a.py": "", "outside/b.py": ""})
    monkeypatch.chdir(tmp_path / "inside")
    assert found(tmp_path / "inside", ".", str(tmp_path / "outside")) == [str(tmp_path / "outside" / "b.py"), "a.py"]


# --------------------------------------------------------------------------- .gitignore

GITIGNORE_CASES = {
    ".gitignore": "\n".join([
        "# comment", "*.gen.py", "/top_only.py", "logs/", "!keep.gen.py", "docs/**/skip.py",
        "a/**", "!a/b.py", "deep/*/x.py", r"\#hash.py", "space.py\\ ", "tmp[0-9].py", "[!s]ingle?.py",
    ]) + "\n",
    "sub/.gitignore": "local.py\n!top_only.py\n",
    "x.gen.py": "", "keep.gen.py": "", "top_only.py": "", "sub/top_only.py": "", "logs/in.py": "",
    "logs.py": "", "docs/skip.py": "", "docs/a/b/skip.py": "", "a/b.py": "", "a/c/d.py": "",
    "deep/1/x.py": "", "deep/1/2/x.py": "", "#hash.py": "", "space.py ": "", "tmp1.py": "", "tmpx.py": "",
    "single1.py": "", "xingle1.py": "", "sub/local.py": "", "sub/ok.py": "", "sub/logs/z.py": "",
}


@needs_git
def test_gitignore_matches_git_check_ignore(tmp_path):
    write_tree(tmp_path, GITIGNORE_CASES)
    git(tmp_path, "init", "-q")
    (tmp_path / ".git" / "info").mkdir(exist_ok=True)
    (tmp_path / ".git" / "info" / "exclude").write_text("sub/ok.py\n")
    ignore = GitIgnore()
    candidates = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if ".git" not in p.parts)
    for relative in candidates:
        path = tmp_path / relative
        check = subprocess.run(["git", "check-ignore", "-q", "--no-index", relative], cwd=str(tmp_path), check=False)
        expected = check.returncode == 0
        assert ignore.is_ignored(str(path), path.is_dir(), ancestors=True) is expected, relative


@needs_git
def test_gitignored_files_are_not_walked_inside_a_work_tree(in_tmp):
    write_tree(in_tmp, {".gitignore": "generated/\n*_pb2.py\n", "generated/x.py": "", "a_pb2.py": "", "a.py": ""})
    git(in_tmp, "init", "-q")
    assert found(in_tmp) == ["a.py"]
    # Explicit paths are still checked, unless --force-exclude.
    assert found(in_tmp, "a_pb2.py") == ["a_pb2.py"]
    assert found(in_tmp, "a_pb2.py", "generated/x.py", force_exclude=True) == []


def test_gitignore_is_ignored_outside_a_work_tree(in_tmp):
    write_tree(in_tmp, {".gitignore": "*.py\n", "a.py": ""})
    if GitIgnore().work_tree(str(in_tmp)) is not None:
        pytest.skip("the temporary folder lies inside a git work tree")
    assert found(in_tmp) == ["a.py"]


def test_parse_gitignore_escapes_and_negation():
    rules = parse_gitignore("\\!important.py\n!negated.py\n\n# c\nbuild/\n")
    assert [(r.negated, r.directory_only, r.anchored) for r in rules] == [
        (False, False, False), (True, False, False), (False, True, False),
    ]
    assert rules[0].regex.match("!important.py")

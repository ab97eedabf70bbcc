"""Packaging and integration: the built wheel, the pre-commit hook, CI and the README commands.

The slow tests build from a snapshot of the working tree (tracked and untracked, minus
what .gitignore ignores), so they test what is on disk, not only what was committed.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from conftest import REPO_ROOT, memlint_env, spec_body

README = REPO_ROOT / "README.md"
INSTALL_AND_RUN = "python -m pip install . && memlint memlint/"
INSTALL_AND_TEST = "python -m pip install -e '.[test]' && python -m pytest"
GIT_IDENTITY = ("-c", "user.name=memlint tests", "-c", "user.email=tests@memlint.invalid")


def run(args, cwd, env=None, timeout=600) -> "subprocess.CompletedProcess[str]":
    return subprocess.run([str(arg) for arg in args], cwd=str(cwd), capture_output=True, text=True,
                          env=env or memlint_env(), timeout=timeout, check=False)


def snapshot_checkout(destination: Path) -> Path:
    """Copy the working tree's files into ``destination`` and commit them in a new repo."""
    listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], REPO_ROOT)
    if listed.returncode == 0:
        names = [name for name in listed.stdout.split("\0")
                 if name and not {"__pycache__", ".memlint_cache"} & set(Path(name).parts)]
    else:  # not a git checkout (an sdist): take everything but caches
        names = [str(p.relative_to(REPO_ROOT)) for p in REPO_ROOT.rglob("*")
                 if p.is_file() and not {"__pycache__", ".git", ".memlint_cache"} & set(p.parts)]
    for name in names:
        source = REPO_ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    for args in (["init", "-q"], ["add", "-A"], [*GIT_IDENTITY, "commit", "-q", "-m", "snapshot"]):
        result = run(["git", *args], destination)
        assert result.returncode == 0, result.stderr
    return destination


needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


# --------------------------------------------------------------------------- README and CI


def test_readme_has_the_two_set_up_commands():
    text = README.read_text(encoding="utf-8")
    assert f"```sh\n{INSTALL_AND_RUN}\n```" in text
    assert f"```sh\n{INSTALL_AND_TEST}\n```" in text


def test_ci_runs_exactly_the_readme_test_command():
    script = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [line for line in script.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert commands[-1] == INSTALL_AND_TEST
    assert "set -euo pipefail" in commands
    assert os.access(REPO_ROOT / ".ci" / "run", os.X_OK)


def test_pre_commit_hook_definition():
    text = (REPO_ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    fields = dict(reversed(re.findall(r"^\s*-?\s*([a-z_]+):\s*(.+?)\s*$", text, re.MULTILINE)))  # first hook
    assert fields["id"] == "memlint"
    assert fields["entry"] == "memlint check --force-exclude"
    assert fields["language"] == "python"
    assert fields["types_or"] == "[python, pyi]"
    assert fields["require_serial"] == "true"
    assert re.fullmatch(r'"\d+\.\d+\.\d+"', fields["minimum_pre_commit_version"])


# --------------------------------------------------------------------------- the wheel


@pytest.mark.slow
@needs_git
def test_built_wheel_ships_the_specs_and_memlint_rule_works(tmp_path):
    source = snapshot_checkout(tmp_path / "src")
    # Without hatchling at hand pip fetches it into an isolated build environment.
    isolation = [] if importlib.util.find_spec("hatchling") is None else ["--no-build-isolation"]
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-w", tmp_path / "dist", "."], source)
    assert built.returncode == 0, built.stderr
    [wheel] = list((tmp_path / "dist").glob("memlint-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        shipped = sorted(Path(name).name for name in archive.namelist() if name.startswith("memlint/_rules/"))
    specs = sorted(path.name for path in (REPO_ROOT / "rules").glob("*.md"))
    assert shipped == specs
    # The resource knowledge is data next to the code: it must ship too.
    with zipfile.ZipFile(wheel) as archive:
        knowledge = sorted(name for name in archive.namelist() if name.startswith("memlint/knowledge/"))
    folder = REPO_ROOT / "memlint" / "knowledge"
    assert [name for name in knowledge if name.endswith(".toml")] == sorted(
        f"memlint/knowledge/{path.relative_to(folder).as_posix()}" for path in folder.rglob("*.toml")
    )

    environment = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(environment)
    python = environment / "bin" / "python"
    installed = run([python, "-m", "pip", "install", "--no-deps", "--no-index", wheel], tmp_path)
    assert installed.returncode == 0, installed.stderr
    # Run from an empty folder with a clean environment so the checkout cannot leak in.
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    env = {key: value for key, value in memlint_env().items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    for spec in sorted((REPO_ROOT / "rules").glob("*.md")):
        result = run([environment / "bin" / "memlint", "rule", spec.stem], workdir, env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout == spec_body(spec)
    where = run([python, "-c", "import memlint.specs as s; print(s.spec_dir())"], workdir, env=env)
    assert where.stdout.strip().endswith(os.path.join("site-packages", "memlint", "_rules"))


# --------------------------------------------------------------------------- pre-commit


@pytest.mark.slow
@needs_git
def test_pre_commit_try_repo_fails_on_a_finding_and_passes_on_clean_code(tmp_path):
    if shutil.which("pre-commit") is None and run([sys.executable, "-m", "pre_commit", "--version"], tmp_path).returncode:
        pytest.skip("pre-commit is not installed (it is in the test extra)")
    hook_repo = snapshot_checkout(tmp_path / "memlint-src")
    project = tmp_path / "project"
    project.mkdir()
    assert run(["git", "init", "-q"], project).returncode == 0
    (project / "bad.py").write_text("def broken(:\n    pass\n")
    (project / "good.py").write_text("value = 1\n")
    (project / "build").mkdir()
    (project / "build" / "generated.py").write_text("def broken(:\n")
    env = memlint_env({"PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")})
    try_repo = [sys.executable, "-m", "pre_commit", "try-repo", hook_repo, "memlint", "--color", "never", "--files"]

    failing = run([*try_repo, "bad.py", "good.py"], project, env=env)
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "bad.py:1:12: MEM000" in failing.stdout

    passing = run([*try_repo, "good.py"], project, env=env)
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert re.search(r"memlint\.+Passed", passing.stdout), passing.stdout

    # pre-commit passes files explicitly; --force-exclude in the hook keeps excludes working.
    excluded = run([*try_repo, "good.py", "build/generated.py"], project, env=env)
    assert excluded.returncode == 0, excluded.stdout + excluded.stderr

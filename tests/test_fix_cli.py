"""`memlint check --fix`, `--unsafe-fixes`, `--diff` on real files, through `memlint.cli.main`."""

from __future__ import annotations

import io
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pytest

from memlint.cli import main

LEAKY = "def load(p):\n    f = open(p)\n    data = f.read()\n    f.close()\n    return data\n"
FIXED = "def load(p):\n    with open(p) as f:\n        data = f.read()\n    return data\n"
# A writer never closed and then a call: its fix is unsafe (the flush would come sooner).
UNSAFE_ONLY = "def save(p):\n    out = open(p, 'w')\n    out.write('x')\n    check(p)\n"
UNFIXABLE = "import os\n\n\ndef raw(p):\n    fd = os.open(p, os.O_RDONLY)\n    return os.read(fd, 3)\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    return tmp_path


def _run(*args: str) -> Tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = main(["check", "--no-cache", *args])
    finally:
        sys.stdout, sys.stderr = saved
    return code, out.getvalue(), err.getvalue()


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_fix_rewrites_keeps_mode_and_exits_0_when_all_is_fixed(project: Path) -> None:
    target = _write(project / "leaky.py", LEAKY)
    os.chmod(target, 0o751)
    code, out, err = _run("--fix", "leaky.py")
    assert code == 0, out + err
    assert target.read_text(encoding="utf-8") == FIXED
    assert stat.S_IMODE(target.stat().st_mode) == 0o751
    assert "Fixed 1 finding." in err and "All checks passed!" in out
    assert sorted(p.name for p in project.iterdir()) == ["leaky.py"], "a temporary file was left behind"


def test_fix_exits_1_when_findings_remain_and_reports_only_those(project: Path) -> None:
    _write(project / "leaky.py", LEAKY)
    _write(project / "raw.py", UNFIXABLE)
    code, out, _ = _run("--fix", ".")
    assert code == 1
    assert "raw.py:5:" in out and "leaky.py" not in out
    assert (project / "leaky.py").read_text(encoding="utf-8") == FIXED


def test_second_fix_changes_nothing(project: Path) -> None:
    target = _write(project / "leaky.py", LEAKY)
    _run("--fix", "leaky.py")
    before = target.stat().st_mtime_ns
    code, _, err = _run("--fix", "leaky.py")
    assert code == 0 and "Fixed" not in err
    assert target.stat().st_mtime_ns == before


def test_diff_prints_and_writes_nothing(project: Path) -> None:
    target = _write(project / "leaky.py", LEAKY)
    code, out, _ = _run("--diff", "leaky.py")
    assert code == 1
    assert out.startswith("--- a/leaky.py\n+++ b/leaky.py\n")
    assert "+    with open(p) as f:\n" in out
    assert target.read_text(encoding="utf-8") == LEAKY
    code, out, _ = _run("--diff", "leaky.py", "--fix")
    assert code == 1 and target.read_text(encoding="utf-8") == LEAKY, "--diff wins over --fix"


def test_diff_exits_0_when_there_is_nothing_to_fix(project: Path) -> None:
    _write(project / "raw.py", UNFIXABLE)
    code, out, _ = _run("--diff", "raw.py")
    assert code == 0 and out == ""


def test_unsafe_fixes_only_when_asked(project: Path) -> None:
    target = _write(project / "save.py", UNSAFE_ONLY)
    code, _, _ = _run("--fix", "save.py")
    assert code == 1 and target.read_text(encoding="utf-8") == UNSAFE_ONLY
    code, _, _ = _run("--fix", "--unsafe-fixes", "save.py")
    assert code == 0
    assert "    with open(p, 'w') as out:\n        out.write('x')\n    check(p)\n" in target.read_text(encoding="utf-8")


def test_file_with_syntax_error_is_left_untouched(project: Path) -> None:
    broken = _write(project / "broken.py", LEAKY + "def oops(:\n")
    code, out, _ = _run("--fix", "broken.py")
    assert code == 1 and "MEM000" in out
    assert broken.read_text(encoding="utf-8") == LEAKY + "def oops(:\n"


def test_stdin_fix_prints_the_fixed_source(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", _Stdin(LEAKY.encode("utf-8")))
    out = _BytesStdout()
    monkeypatch.setattr(sys, "stdout", out)
    code = main(["check", "--no-cache", "--fix", "-"])
    assert code == 0
    assert out.buffer.getvalue().decode("utf-8") == FIXED


class _Stdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)

    def close(self) -> None:
        # A worker process closes the stdin it inherits (multiprocessing does), like a real file.
        self.buffer.close()


class _BytesStdout(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.buffer = io.BytesIO()


def test_memlint_fix_hook_definition() -> None:
    import yaml  # pre-commit's own dependency, in the test extra

    root = Path(__file__).resolve().parents[1]
    hooks = {hook["id"]: hook for hook in yaml.safe_load((root / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    fix = hooks["memlint-fix"]
    assert fix["entry"] == "memlint check --fix --force-exclude"
    assert fix["language"] == "python" and fix["types_or"] == ["python", "pyi"] and fix["require_serial"] is True
    assert hooks["memlint"]["entry"] == "memlint check --force-exclude"


def _git(args: List[str], cwd: Path) -> "subprocess.CompletedProcess[str]":
    identity = ["-c", "user.name=memlint tests", "-c", "user.email=tests@memlint.invalid"]
    return subprocess.run(["git", *identity, *args], cwd=str(cwd), capture_output=True, text=True, check=False)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_memlint_fix_hook_through_pre_commit_try_repo(tmp_path: Path) -> None:
    """The hook rewrites the staged file, so pre-commit fails the first run and passes the next."""
    from conftest import REPO_ROOT, memlint_env

    if subprocess.run([sys.executable, "-m", "pre_commit", "--version"], capture_output=True, check=False).returncode:
        pytest.skip("pre-commit is not installed (it is in the test extra)")
    listed = _git(["ls-files", "-z", "--cached", "--others", "--exclude-standard"], REPO_ROOT)
    assert listed.returncode == 0, listed.stderr
    hook_repo = tmp_path / "memlint-src"
    for name in filter(None, listed.stdout.split("\0")):
        source = REPO_ROOT / name
        if source.is_file() and not {"__pycache__", ".memlint_cache"} & set(Path(name).parts):
            (hook_repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, hook_repo / name)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        assert _git(args, hook_repo).returncode == 0
    project = tmp_path / "project"
    project.mkdir()
    assert _git(["init", "-q"], project).returncode == 0
    _write(project / "leaky.py", LEAKY)
    # pre-commit notices a hook's changes to files git knows about.
    assert _git(["add", "leaky.py"], project).returncode == 0
    env = memlint_env({"PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")})
    command = [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), "memlint-fix", "--color", "never",
               "--files", "leaky.py"]
    first = subprocess.run(command, cwd=str(project), env=env, capture_output=True, text=True, timeout=900, check=False)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "files were modified by this hook" in first.stdout
    assert (project / "leaky.py").read_text(encoding="utf-8") == FIXED
    second = subprocess.run(command, cwd=str(project), env=env, capture_output=True, text=True, timeout=900, check=False)
    assert second.returncode == 0, second.stdout + second.stderr


def test_summary_counts_fixes_as_ruff_does_and_stars_only_what_would_be_fixed(project: Path) -> None:
    _write(project / "safe.py", LEAKY)
    _write(project / "unsafe.py", UNSAFE_ONLY)
    _write(project / "none.py", UNFIXABLE)
    code, out, _err = _run("--output-format", "concise", ".")
    assert code == 1
    lines = out.splitlines()
    assert lines[-1] == "[*] 1 fixable with `--fix` (1 hidden fix can be enabled with `--unsafe-fixes`)."
    assert [line.split(" ", 1)[0] for line in lines if " [*] " in line] == ["safe.py:2:9:"]
    code, out, _err = _run("--output-format", "concise", "--unsafe-fixes", ".")
    lines = out.splitlines()
    assert lines[-1] == "[*] 2 fixable with `--fix`."
    assert sorted(line.split(":", 1)[0] for line in lines if " [*] " in line) == ["safe.py", "unsafe.py"]
    # After --fix, what is left: the unsafe fix, still hidden.
    code, out, _err = _run("--output-format", "concise", "--fix", ".")
    assert out.splitlines()[-1] == "No fixes available (1 hidden fix can be enabled with `--unsafe-fixes`)."

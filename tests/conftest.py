"""Shared helpers: run the real ``memlint`` command line in a subprocess, build file trees."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, Mapping, Optional, Union

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

# Environment variables that change memlint's output; tests set them explicitly when needed.
_OUTPUT_ENV = ("NO_COLOR", "FORCE_COLOR", "MEMLINT_DEBUG")


def memlint_env(extra: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """The environment for a memlint subprocess: the current one minus colour settings."""
    env = {key: value for key, value in os.environ.items() if key not in _OUTPUT_ENV}
    env.update(extra or {})
    return env


def run_memlint_process(
    *args: str,
    cwd: Union[str, Path],
    stdin: Optional[Union[str, bytes]] = None,
    env: Optional[Mapping[str, str]] = None,
    timeout: float = 120,
) -> "subprocess.CompletedProcess[str]":
    """Run ``python -m memlint ARGS`` in ``cwd`` and capture its text output."""
    data = stdin.decode("utf-8") if isinstance(stdin, bytes) else stdin
    return subprocess.run(
        [sys.executable, "-m", "memlint", *args],
        cwd=str(cwd),
        input=data if data is not None else "",
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=memlint_env(env),
        timeout=timeout,
        check=False,
    )


def spec_body(path: Path) -> str:
    """What ``memlint rule CODE`` prints for the spec file at ``path``: all after the front matter."""
    return path.read_text(encoding="utf-8").split("\n---\n", 1)[1].strip() + "\n"


def write_tree(root: Path, files: Mapping[str, Union[str, bytes]]) -> Path:
    """Create ``files`` (relative path -> text or bytes) under ``root``; returns ``root``."""
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def findings_with_regions_on_and_off(folder: Path, monkeypatch: pytest.MonkeyPatch) -> tuple:
    """Check ``folder`` with region parsing on and off; returns both findings lists and the
    source texts region parsing selected (one per file parsed in part)."""
    import memlint.regions as regions_module
    from memlint.api import check_files
    from memlint.config import ConfigResolver
    from memlint.discovery import discover

    selected = []
    real = regions_module.region_source

    def spy(*args, **kwargs):
        selected.append(real(*args, **kwargs))
        return selected[-1]

    monkeypatch.setattr(regions_module, "region_source", spy)
    resolver = ConfigResolver(isolated=True)
    files = discover([str(folder)], resolver)
    on = check_files(files, resolver, regions=True).findings
    off = check_files(files, resolver, regions=False).findings
    return on, off, [found.text for found in selected if found is not None]


@pytest.fixture
def run_memlint(tmp_path: Path) -> Callable[..., "subprocess.CompletedProcess[str]"]:
    """``run_memlint(*args, cwd=tmp_path, stdin=None, env=None)``: the real CLI, in a subprocess."""

    def run(*args: str, cwd: Optional[Union[str, Path]] = None, **kwargs: object) -> "subprocess.CompletedProcess[str]":
        return run_memlint_process(*args, cwd=cwd or tmp_path, **kwargs)  # type: ignore[arg-type]

    return run


@pytest.fixture
def tree(tmp_path: Path) -> Callable[[Mapping[str, Union[str, bytes]]], Path]:
    """``tree({"pkg/a.py": "..."})`` writes files under ``tmp_path`` and returns it."""
    return lambda files: write_tree(tmp_path, files)

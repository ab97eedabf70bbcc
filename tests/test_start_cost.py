"""What a small run (a pre-commit hook's few files) imports: libcst only when a file needs it."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import REPO_ROOT

_PROBE = """
import sys
from memlint.api import check_files
from memlint.config import ConfigResolver
from memlint.discovery import discover

resolver = ConfigResolver(isolated=True)
result = check_files(discover([sys.argv[1]], resolver), resolver, jobs=2)
print(len(result.findings), "libcst" in sys.modules)
"""


def _probe(folder) -> str:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run([sys.executable, "-c", _PROBE, str(folder)], capture_output=True, text=True, env=env, check=True)
    return done.stdout.strip()


def test_files_naming_no_resource_are_checked_without_importing_libcst(tmp_path):
    for index in range(10):
        (tmp_path / f"plain_{index}.py").write_text(f"def add_{index}(x):\n    return x + {index}\n", encoding="utf-8")
    assert _probe(tmp_path) == "0 False"


def test_one_file_naming_a_resource_among_them_is_still_analysed(tmp_path):
    for index in range(9):
        (tmp_path / f"plain_{index}.py").write_text(f"def add_{index}(x):\n    return x + {index}\n", encoding="utf-8")
    (tmp_path / "leaky.py").write_text("def read(path):\n    handle = open(path)\n    return handle.read()\n", encoding="utf-8")
    assert _probe(tmp_path) == "1 True"



def _package(tmp_path, plain: int):
    """A package whose ``maker`` module makes a file, and whose ``plain`` modules build a
    class of ``points`` whose construction cannot raise: the project index gives each of
    them that fact (``Point#quiet``), which names nothing the rules start from."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "maker.py").write_text("def open_log(path):\n    return open(path)\n", encoding="utf-8")
    (package / "points.py").write_text("class Point:\n    def __init__(self, x):\n        self.x = x\n", encoding="utf-8")
    for index in range(plain):
        (package / f"plain_{index}.py").write_text(
            f"from pkg.points import Point\n\n\ndef make_{index}(x):\n    return Point(x + {index})\n", encoding="utf-8"
        )
    return package


def test_files_with_facts_of_their_package_naming_none_are_checked_without_importing_libcst(tmp_path):
    package = _package(tmp_path, 10)
    assert _probe_files(sorted(package.glob("plain_*.py"))) == "0 False"


def test_a_file_naming_a_fact_of_its_package_is_still_analysed(tmp_path):
    package = _package(tmp_path, 9)
    (package / "user.py").write_text(
        "from pkg.maker import open_log\n\n\ndef first(path):\n    log = open_log(path)\n    return log.readline()\n",
        encoding="utf-8",
    )
    files = sorted(package.glob("plain_*.py")) + [package / "user.py"]
    assert _probe_files(files) == "1 True"


_FILES_PROBE = _PROBE.replace("discover([sys.argv[1]], resolver)", "discover(sys.argv[1:], resolver)")


def _probe_files(paths) -> str:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    command = [sys.executable, "-c", _FILES_PROBE, *map(str, paths)]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout.strip()

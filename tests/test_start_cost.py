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

"""The linter never imports the runtime, and importing ``memlint`` stays cheap."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CHECK = """
import sys
import memlint
from memlint import check_source
findings = check_source("f = open('x')\\n")
assert findings, "the linter ran"
import memlint.cli  # noqa: F401 - the command line's module too
loaded = sorted(name for name in sys.modules if name.startswith("memlint.runtime"))
print(",".join(loaded))
"""


def test_the_linter_does_not_import_the_runtime() -> None:
    completed = subprocess.run([sys.executable, "-c", CHECK], cwd=str(REPO), capture_output=True, text=True,
                               timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "", f"runtime modules loaded by the linter: {completed.stdout}"

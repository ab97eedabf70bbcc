"""The same files give the same findings, whatever the hash seed and the number of workers.

Set and dict orders of strings change with ``PYTHONHASHSEED``, and the project index is built per
worker, so a verdict that leaned on either would come and go between two runs of unchanged code.
The ledger's keys and the baseline file rely on runs being repeatable; this checks it on every
fixture, the fixture projects (which exercise the project index) included.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(seed: str, jobs: str) -> str:
    env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=ROOT)
    command = [sys.executable, "-m", "memlint", "check", "--isolated", "--no-cache", "--exit-zero",
               "--output-format", "json", "--confidence", "low", "--jobs", jobs, "fixtures"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.slow
def test_findings_do_not_depend_on_hash_seed_or_workers():
    first = _run("1", "1")
    assert first.count('"code"') > 1000  # every fixture was checked, not an empty run
    assert _run("7", "2") == first

"""A TemporaryDirectory dropped at once for its `.name`, whose path the function later removes
by that name, is cleaned up (TUNING-NOTES section 65, `analysis/dropped_directories.py`); the
removal must be of that very name, bound once, and come after it."""

from __future__ import annotations

import textwrap
from typing import List

import memlint


def _lines(source: str) -> List[int]:
    findings = memlint.check_source(textwrap.dedent(source), "x.py", {"select": ["MEM001"], "confidence": "low"})
    return [finding.line for finding in findings]


def test_the_removed_path_is_cleaned_up() -> None:
    source = """
        import shutil, tempfile
        from pathlib import Path

        def build(make):
            d = Path(tempfile.TemporaryDirectory().name)
            make(d)
            shutil.rmtree(d)
    """
    assert _lines(source) == []


def test_a_wrapper_given_more_than_the_path_is_not_followed() -> None:
    source = """
        import os, shutil, tempfile

        def build(make):
            d = os.path.join(tempfile.TemporaryDirectory().name, "out")
            make(d)
            shutil.rmtree(d)
    """
    assert _lines(source) == [5]


def test_another_path_removed() -> None:
    source = """
        import shutil, tempfile
        from pathlib import Path

        def build(make, other):
            d = Path(tempfile.TemporaryDirectory().name)
            make(d)
            shutil.rmtree(other)
    """
    assert _lines(source) == [6]


def test_the_name_bound_again_before_the_removal() -> None:
    source = """
        import shutil, tempfile
        from pathlib import Path

        def build(make):
            d = Path(tempfile.TemporaryDirectory().name)
            make(d)
            d = Path("build")
            shutil.rmtree(d)
    """
    assert _lines(source) == [6]


def test_a_removal_in_a_nested_function_does_not_count() -> None:
    source = """
        import shutil, tempfile

        def build(make):
            d = tempfile.TemporaryDirectory().name
            def later():
                shutil.rmtree(d)
            make(d, later)
    """
    assert _lines(source) == [5]

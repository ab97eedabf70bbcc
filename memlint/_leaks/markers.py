"""Checks shared by the leak and memory markers: keyword arguments only, and known ones."""

from __future__ import annotations

from typing import Sequence

import pytest


def check_marker_keywords(marker: pytest.Mark, where: str, keys: Sequence[str]) -> None:
    """``pytest.UsageError`` (one line, naming the test) for positional or unknown arguments."""
    if marker.args:
        raise pytest.UsageError(f"{where} takes keyword arguments only ({', '.join(keys)})")
    for key in marker.kwargs:
        if key not in keys:
            raise pytest.UsageError(f"{where}: unknown argument {key!r} (expected one of {', '.join(keys)})")

"""A function of the module whose top level releases its parameter before it can return
releases the argument (``analysis/callee_releases.py``, TUNING-NOTES 33)."""

from __future__ import annotations

from memlint import check_source

HEADER = "from PIL import Image\n\n\ndef caller(path):\n    image = Image.open(path)\n    image = helper(image, 8)\n    return image.size\n\n\n"


def _codes(helper: str):
    return [f.code for f in check_source(HEADER + helper, "t.py")]


def test_a_release_on_the_helpers_top_level_releases_the_argument():
    helper = "def helper(img, n):\n    if n > 4:\n        n = 4\n    small = img.resize((n, n))\n    return small\n"
    assert _codes(helper) == []


def test_a_release_only_in_a_branch_does_not():
    helper = "def helper(img, n):\n    if n > 4:\n        img.resize((n, n))\n    return Image.new('RGB', (n, n))\n"
    assert _codes(helper) == ["MEM001"]


def test_a_return_or_a_rebinding_before_the_release_does_not():
    returns_first = "def helper(img, n):\n    if n < 1:\n        return None\n    small = img.resize((n, n))\n    return small\n"
    rebinds_first = "def helper(img, n):\n    img = Image.new('RGB', (n, n))\n    small = img.resize((n, n))\n    return small\n"
    assert _codes(returns_first) == ["MEM001"]
    assert _codes(rebinds_first) == ["MEM001"]

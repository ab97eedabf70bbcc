"""The pre-commit path (issue 19): the fingerprints read the same files in the same order,
and give the same digests, as before they were made cheaper."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from memlint.analysis.project_scan import package_fingerprint
from memlint.cache import FORMAT, memlint_fingerprint


def _tree(root: Path) -> None:
    for name in ("a.py", "a/b.py", "a/b/c.py", "a.toml", "a/x.toml", "z.py", "a/b/skip.txt"):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {name}\n")


def test_memlint_fingerprint_orders_files_as_sorted_paths(tmp_path):
    from memlint.__about__ import __version__
    from memlint.rules import RULE_CLASSES

    _tree(tmp_path)
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"{__version__}\0{FORMAT}\0{sorted(RULE_CLASSES.items())}".encode())
    for path in sorted(list(tmp_path.rglob("*.py")) + list(tmp_path.rglob("*.toml"))):
        info = path.stat()
        digest.update(f"{path.relative_to(tmp_path)}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
    assert memlint_fingerprint(tmp_path) == digest.hexdigest()


def test_package_fingerprint_lists_paths_relative_to_the_package(tmp_path):
    _tree(tmp_path)
    listing = []
    for directory, subdirectories, filenames in os.walk(tmp_path):
        subdirectories.sort()
        for filename in sorted(filenames):
            if filename.endswith(".py"):
                path = os.path.join(directory, filename)
                status = os.stat(path)
                listing.append(f"{os.path.relpath(path, tmp_path)}\0{status.st_size}\0{status.st_mtime_ns}")
    expected = hashlib.blake2b("\n".join(listing).encode(), digest_size=16).hexdigest()
    assert package_fingerprint(str(tmp_path)) == expected

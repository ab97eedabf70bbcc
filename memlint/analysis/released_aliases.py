"""Aliases rebound after the resource was released, seen again by the ``except`` handlers.

The path interpreter keeps the names of the resource in one set (``Tracker.names``), and a
rebinding of an alias removes it (``temp_path = None``). It reads a ``try`` body before the
handlers, so an alias the body rebinds at its end is gone when a handler tests it:

    temp_path = None
    try:
        with tempfile.NamedTemporaryFile(dir=d, delete=False) as f:
            temp_path = f.name
            f.write(data)
        os.replace(temp_path, target)
        temp_path = None              # renamed: nothing left to clean up
    except Exception:
        if temp_path:
            os.unlink(temp_path)
        raise

Where the alias is rebound on no path that still holds the resource (it was released or
handed on first), every state that holds it was reached with the alias still naming it, and
those are the states a handler of the ``try`` is entered with (``if temp_path:`` then tests the
resource). So while such a handler runs, the alias is one of the names again; after it, it is
not. An alias rebound while the resource may still be held stays lost (``temp_path = None``
before a call that raises leaves the file behind: the handler's test is then false).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator, Sequence

import libcst as cst

from memlint.analysis.flow import OPEN

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.flow import Tracker


def forget_alias(tracker: "Tracker", name: str, mask: int, open_tries: Sequence[cst.CSTNode], wraps: bool) -> None:
    """Rebinding the alias ``name`` in the states ``mask`` (``sock = ctx.wrap_socket(conn)``,
    ``wraps``: the alias now holds what took the resource over, and stays)."""
    if wraps:
        return
    tracker.names.discard(name)
    if not mask & OPEN:
        tracker.released_aliases.append((name, frozenset(id(node) for node in open_tries)))


@contextmanager
def aliases_for_handler(tracker: "Tracker", node: cst.CSTNode) -> Iterator[None]:
    """For the run of a handler of the ``try`` statement ``node``, the aliases its body
    rebound only after the resource was no longer held."""
    back = {name for name, tries in tracker.released_aliases if id(node) in tries} - tracker.names
    tracker.names |= back
    try:
        yield
    finally:
        tracker.names -= back

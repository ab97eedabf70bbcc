"""How a ``with`` manages a resource the table (``memlint.fixes.table``) does not list,
derived from the resource knowledge (``memlint/knowledge/*.toml``).

The knowledge says what a model's own ``__exit__`` does (its ``exit`` field): "closes",
"commits-only" (a DB-API connection's ``with`` ends a transaction) or "nothing". Only a
model released by ``close()`` gets a fix: a plain ``with`` when its ``__exit__`` closes it,
``contextlib.closing(...)`` when it only commits. The defaults are the cautious ones, since
nothing is known of the callable beyond its model: closing is taken to be visible to others
(not quiet, and the ``with`` lasts to the end of the function unless the code released it),
and no method but the common ones is taken to detach a value from it.
"""

from __future__ import annotations

from typing import Optional

from memlint.fixes._analysis_view import CLOSES_WHEN_EXHAUSTED, RESOURCE_CALLS
from memlint.fixes.model import Manageable

_CLOSE = frozenset({"close"})
# Releases that do more than close (send QUIT, log out, stop workers): a model with one of
# them may have an ``__exit__`` that is not ``close()``; its fix needs ``--unsafe-fixes``.
_MORE_THAN_CLOSE = frozenset({"quit", "logout", "terminate", "join", "shutdown", "dispose", "cleanup"})
# Kinds whose ``__exit__`` is known not to be ``close()`` whatever the model says:
# ``multiprocessing.Pool.__exit__`` terminates the workers.
_OTHER_EXIT_KINDS = frozenset({"process pool"})
# An exit stack's ``__exit__`` hands an exception to the exits it holds, which may swallow
# it; ``close()`` never sees one: not the same, unless nothing entered can swallow one
# (``Manageable.holds_exits``, checked by the ``bound`` fix).
_EXIT_SEES_EXCEPTIONS = frozenset({"exit stack"})
# What a database connection's own ``with`` does differs between drivers and their
# versions (commit then close, only commit, or old PyMySQL's cursor from ``__enter__``):
# ``contextlib.closing`` calls exactly ``close()`` whichever it is.
_DRIVER_DEPENDENT_KINDS = frozenset({"database connection"})
# Short variable names for the kinds' last words; others use the word itself.
_STEMS = {"connection": "conn", "response": "response", "socket": "sock", "file": "f", "stack": "stack"}


def derived_manageable(qualified: str) -> Optional[Manageable]:
    """A cautious ``Manageable`` for a callable the knowledge models, or None."""
    spec = RESOURCE_CALLS.get(qualified)
    if spec is None or not spec.model or spec.inferred or spec.parts or spec.is_path:
        return None
    if spec.kind in _OTHER_EXIT_KINDS or "close" not in spec.release:
        return None
    if _asynchronous(qualified):
        return None  # an ``async with`` (and whether the call is awaited) is not modelled
    if spec.exit == "closes":
        closing = spec.kind in _DRIVER_DEPENDENT_KINDS
    elif spec.exit == "commits-only":
        closing = True
    else:
        return None  # its ``with`` does nothing, or nothing is known of it
    return Manageable(
        _CLOSE,
        safe=not (spec.release & _MORE_THAN_CLOSE),
        holds_exits=spec.kind in _EXIT_SEES_EXCEPTIONS,
        stem=_stem(spec.kind),
        closing=closing,
        lasting=True,
    )


def _asynchronous(qualified: str) -> bool:
    """Callables of asyncio libraries (``aiosqlite``, ``redis.asyncio``, ``AsyncSession``)
    and connectors iterated with ``async for`` (``websockets.connect``) have no plain ``with``."""
    head = qualified.split(".", 1)[0]
    return "async" in qualified.lower() or head.startswith("aio") or qualified in CLOSES_WHEN_EXHAUSTED


def _stem(kind: str) -> str:
    word = kind.split()[-1].lower() if kind.split() else "resource"
    word = _STEMS.get(word, word)
    return word if word.isidentifier() else "resource"

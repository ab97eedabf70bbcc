"""What a fix builder produces: a rewrite described by tree nodes, not by positions.

The builders work on the parsed module and never compute positions; the engine, which
locates every reported node anyway, turns a ``WithRewrite`` into text ``Edit``s
(``memlint.fixes.text``). Keeping the two apart lets one node-level plan serve every
output (``--fix``, ``--diff``, JSON, SARIF).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import FrozenSet, Optional, Tuple

import libcst as cst


@dataclass(frozen=True)
class Manageable:
    """A resource-creating call that ``with`` can manage in place of its release call.

    Only calls whose ``__enter__`` returns the object itself and whose ``__exit__`` does
    exactly what one of ``releases`` does are listed: then ``with call() as x:`` binds the
    same object and releases it the same way, only on every path.
    """

    releases: FrozenSet[str]
    is_async: bool = False
    # ``x = await call()`` is the acquisition and ``async with call() as x`` its managed form.
    awaited: bool = False
    # False when ``__exit__`` does a little more or less than the release call (see the
    # "Fix safety" section of rules/MEM001.md): such fixes need ``--unsafe-fixes``.
    safe: bool = True
    # A short name for a fresh variable when the acquisition has none (inline use).
    stem: str = "resource"
    # ``with`` does not close it (a DB-API connection commits instead) or it has no
    # ``__enter__``: ``with contextlib.closing(call()) as x:`` calls exactly ``x.close()``.
    closing: bool = False
    # Methods of this kind, beyond the common ones, whose result holds nothing of it
    # (``requests.Session.get`` reads the whole body; ``aiohttp``'s does not).
    detaching: FrozenSet[str] = frozenset()
    # Closing it earlier than the code did cannot be seen by the code that runs later: a
    # file opened only for reading, a client's connection pool. ``mode_args`` are the
    # positions where a mode may be passed (none: quiet whatever the arguments); a mode
    # that is not a literal without "w", "a", "x" or "+" makes it not quiet.
    quiet: bool = False
    mode_args: Tuple[int, ...] = ()
    # Attributes that name what closing removes (``NamedTemporaryFile().name``, unless
    # ``delete=False``): a copy of one keeps the ``with`` open to the end of the scope.
    vanishing: FrozenSet[str] = frozenset()
    # Methods that finish it, with a result the code uses (``out, err = proc.communicate()``):
    # the statement stays in the ``with`` body and ends it (``__exit__`` then has little left).
    finishing: FrozenSet[str] = frozenset()
    # Others can see it while it is open (a listening socket): closed earlier than the code
    # did, later code that never names it may fail. Without a release call in the code its
    # ``with`` lasts to the end of the function, or there is no fix.
    lasting: bool = False
    # Arguments it takes ownership of, as (position, keyword): ``os.fdopen(fd)`` closes
    # ``fd`` when it is closed, so later uses of ``fd`` need it open.
    owns: Tuple[Tuple[int, str], ...] = ()
    # Its ``__exit__`` hands an exception to the exits entered on it, which may swallow it
    # (an exit stack); ``close()`` never does. Safe only when every entry in the ``with``
    # is known never to swallow one (``memlint.fixes.stacks``).
    holds_exits: bool = False


@dataclass(frozen=True)
class WithItemPlan:
    """One ``call() as name`` item of the ``with`` header (``name`` may be empty)."""

    call: cst.CSTNode
    name: str
    # ``contextlib.closing`` (as the module names it) around the call, or "".
    wrapper: str = ""


@dataclass(frozen=True)
class WithRewrite:
    """Replace the statements ``first`` .. ``last`` of one block by a ``with`` statement.

    The header is built from ``items``; the body is the original text of the range, one
    level deeper, without the statements in ``drop`` (the acquisition and the release
    calls that ``with`` now does), with each node of ``substitutions`` replaced by a name
    (an inline acquisition by its fresh variable). When ``unwrap`` is a ``try`` statement,
    its ``try:`` line and its ``finally`` block are removed and its body, already one
    level deeper, is kept as it is (the MEM041 form).
    """

    message: str
    safe: bool
    first: cst.CSTNode
    last: cst.CSTNode
    items: Tuple[WithItemPlan, ...]
    is_async: bool = False
    drop: Tuple[cst.CSTNode, ...] = ()
    substitutions: Tuple[Tuple[cst.CSTNode, str], ...] = ()
    unwrap: Optional[cst.CSTNode] = None
    # Whether the trailing comment of ``first`` moves to the header (``first`` is dropped).
    comment_to_header: bool = True
    # ``import contextlib`` to add (for ``closing``): after ``import_after``, or before
    # ``import_before`` when the module has no import to follow.
    # One level of indentation as the enclosing block has it ("" for the file's default).
    indent_step: str = ""
    import_text: str = ""
    # When set (``x.close()``), the range is not put under ``with`` but under ``try:``, with
    # ``except BaseException:`` then this release and ``raise`` after it (``items`` empty):
    # the release on the error path only, before a hand-off (``memlint.fixes.handoff``).
    guard: str = ""
    import_after: Optional[cst.CSTNode] = None
    import_before: Optional[cst.CSTNode] = None

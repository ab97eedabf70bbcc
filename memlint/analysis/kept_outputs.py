"""A ``delete=False`` temporary file that is an output by design, not a temporary.

``NamedTemporaryFile(delete=False)`` keeps the file on disk when it is closed. A function
that asks for that and then never reads the file's name (no ``f.name``) nor gives the
file object to anyone who could (it only writes to it, or lends it with ``file=``) keeps a
file that nothing in the program looks up again: had it wanted a scratch file it could have
let ``delete=True`` remove it, with no difference to its own code. What it writes is meant
to stay where it is (a dump in a dump directory, found by listing it), so no path of the
function is expected to remove it: not MEM001, and not MEM003 either.
"""

from __future__ import annotations

from typing import Sequence

import libcst as cst

from memlint.analysis.facts import ModuleContext
from memlint.analysis.resources import BORROWER_PREFIXES, BORROWERS, BORROWING_KEYWORDS
from memlint.analysis.walk import find


def kept_as_output(ctx: ModuleContext, body: Sequence[cst.CSTNode], holder: str) -> bool:
    """Whether the file object ``holder`` is only written to or lent with ``file=`` in
    ``body``: its name is never read and it is never handed on."""
    root = cst.IndentedBlock(body=tuple(body))  # type: ignore[arg-type]
    for found, path in find(root, (cst.Name,)):
        if found.value != holder:  # type: ignore[attr-defined]
            continue
        parent = path[-1] if path else None
        if isinstance(parent, cst.Attribute) and parent.value is found:
            grand = path[-2] if len(path) > 1 else None
            if parent.attr.value == "name" or not (isinstance(grand, cst.Call) and grand.func is parent):
                return False  # ``f.name``, or an attribute read that may carry it on
            continue  # ``f.write(...)``: a method of its own
        if isinstance(parent, cst.AsName):
            continue  # ``with NamedTemporaryFile(...) as f``
        if isinstance(parent, cst.Arg) and len(path) > 1 and isinstance(path[-2], cst.Call):
            if parent.keyword is not None and parent.keyword.value in BORROWING_KEYWORDS:
                continue  # ``print(..., file=f)`` writes to it
            qualified = ctx.resolve(path[-2].func) or ""  # type: ignore[attr-defined]
            if qualified in BORROWERS or qualified.startswith(BORROWER_PREFIXES):
                continue
        return False
    return True

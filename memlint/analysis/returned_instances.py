"""A resource given to a class's constructor whose new instance is returned goes with it.

``return logger_type(file=gzip.open(name, "wb"), **kwargs)``: the ``file=`` keyword of an
unknown call is read as a loan (an upload or ``print(file=...)`` only reads or writes the
file), but a constructor keeps what it is given on the object it builds, and the object goes
to the caller, who closes it through the object. The callee counts as a class when its name
is spelled like one (``CapWords``, PEP 8) or the function tests it with
``issubclass(name, ...)``. Only the generic keyword loan is lifted; what the knowledge says a
wrapper borrows (``gzip.GzipFile(fileobj=f)`` never closes ``f``) stays borrowed.
"""

from __future__ import annotations

from typing import Sequence

import libcst as cst

from memlint.analysis.names import dotted
from memlint.analysis.resources import BORROWING_KEYWORDS
from memlint.analysis.walk import find


def handed_to_returned_instance(body: Sequence[cst.CSTNode], call: cst.Call, arg: cst.Arg, path: Sequence[cst.CSTNode]) -> bool:
    """``arg`` (a generic loan keyword) of ``call``, a class built and returned right away;
    ``body`` is the function's, ``path`` runs from it down to ``call``'s parent."""
    if arg.keyword is None or arg.keyword.value not in BORROWING_KEYWORDS:
        return False
    if not path or not isinstance(path[-1], cst.Return) or path[-1].value is not call:
        return False
    name = dotted(call.func)
    if name is None:
        return False
    last = name.rsplit(".", 1)[-1]
    if last[:1].isupper() and not last.isupper():
        return True
    if "." in name:
        return False
    return any(
        dotted(found.func) == "issubclass" and bool(found.args) and dotted(found.args[0].value) == name  # type: ignore[attr-defined]
        for statement in body
        for found, _path in find(statement, (cst.Call,))
    )

"""A release in a ``finally`` that is itself guarded against an unbound name.

``finally: try: data_file.close() except (IOError, NameError): pass`` cannot let an
UnboundLocalError out of the ``finally`` when ``open()`` failed: UnboundLocalError is a
NameError, and a handler for it (or for ``Exception``, or a bare ``except``) around the
release takes it. MEM003's unbound-in-finally check passes such a release over.
"""

from __future__ import annotations

from typing import Sequence

import libcst as cst

from memlint.analysis.names import dotted

# Handlers that catch the UnboundLocalError of releasing a name never bound.
_CATCH_UNBOUND = frozenset({
    "NameError", "UnboundLocalError", "Exception", "BaseException",
    "builtins.NameError", "builtins.UnboundLocalError", "builtins.Exception", "builtins.BaseException",
})


def guarded_against_unbound(path: Sequence[cst.CSTNode]) -> bool:
    """Whether some ``try`` on ``path`` (the ancestors of a release call) holds the call in
    its body and has a handler that catches an unbound name."""
    for index, node in enumerate(path):
        if not isinstance(node, (cst.Try, cst.TryStar)) or index + 1 >= len(path) or path[index + 1] is not node.body:
            continue
        for handler in node.handlers:
            kind = handler.type
            if kind is None:
                return True
            elements = [element.value for element in kind.elements] if isinstance(kind, cst.Tuple) else [kind]
            if any((dotted(element) or "") in _CATCH_UNBOUND for element in elements):
                return True
    return False

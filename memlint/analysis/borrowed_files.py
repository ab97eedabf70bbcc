"""File objects a reader is built over without owning them.

``zipfile.ZipFile(f)`` and ``PIL.Image.open(f)`` on a file object keep that object and
open nothing themselves: their ``close()`` leaves ``f`` open (``ZipFile`` marks it
``_filePassed``). When ``f`` is the target of a ``with ... .open()`` of the same scope, the
``with`` closes the only descriptor there is, so the reader holds nothing of its own.
Only a reader: a writer's ``close()`` still writes the end of the archive.
"""

from __future__ import annotations

import libcst as cst

from memlint.analysis.facts import Scope
from memlint.analysis.names import iter_statements, mode_argument


def reads_with_opened_file(call: cst.Call, scope: Scope) -> bool:
    """``ZipFile(f)`` (read mode) where ``f`` is bound only by ``with <...>.open() as f``."""
    if not call.args or call.args[0].keyword is not None or not reads_only(call):
        return False
    first = call.args[0].value
    return isinstance(first, cst.Name) and opened_by_a_with(first.value, scope)


def reads_only(call: cst.Call) -> bool:
    """No mode given, or the mode is the literal ``"r"`` (second positional or ``mode=``)."""
    return mode_argument(call) == "r"


def opened_by_a_with(name: str, scope: Scope) -> bool:
    """Every binding of ``name`` in the scope's own body is ``with <...>.open(...) as name``
    (or ``with open(...) as name``): a file object the ``with`` owns and closes."""
    found = False
    for statement in iter_statements(list(scope.body), into_functions=False):
        if isinstance(statement, (cst.With, cst.For)):
            targets = [item.asname.name for item in statement.items if item.asname] if isinstance(statement, cst.With) else [statement.target]
            for target in targets:
                if isinstance(target, cst.Name) and target.value == name:
                    if not (isinstance(statement, cst.With) and _opens_a_file(statement, target)):
                        return False
                    found = True
        elif isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
                    assigned = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                    if any(isinstance(t, cst.Name) and t.value == name for t in assigned):
                        return False
    return found and name not in scope.params


def _opens_a_file(statement: cst.With, target: cst.Name) -> bool:
    for item in statement.items:
        if item.asname is not None and item.asname.name is target:
            call = item.item
            if not isinstance(call, cst.Call):
                return False
            func = call.func
            if isinstance(func, cst.Name):
                return func.value == "open"
            return isinstance(func, cst.Attribute) and func.attr.value == "open"
    return False

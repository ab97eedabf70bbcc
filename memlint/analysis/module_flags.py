"""Module-level flags bound once to ``True`` or ``False``: the branch they decide never runs.

Code generated for several targets keeps both variants and picks one with a flag
(``_IS_SYNC = True`` in the synchronous copy of a module whose asynchronous twin says
``False``): in that module the ``else`` of ``if _IS_SYNC:`` cannot run, and a resource is not
stranded by what that branch would call. A flag counts only when the module binds the name
exactly once, at its top level, to the literal ``True`` or ``False``, and no function
declares it ``global`` (nothing can rebind it there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Optional

import libcst as cst

from memlint.analysis.python_versions import version_truth
from memlint.analysis.walk import find

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ModuleContext


def module_flag(ctx: "ModuleContext", test: cst.BaseExpression) -> Optional[bool]:
    """The value of ``test`` when it is a module flag's name or a test of the Python version
    (``python_versions``: ``sys.version_info[0] < 3`` is False), else None."""
    if isinstance(test, cst.Name) and test.value in _flags(ctx):
        return _flags(ctx)[test.value]
    return version_truth(ctx, test)


def _flags(ctx: "ModuleContext") -> Dict[str, bool]:
    flags = vars(ctx).get("module_flags")
    if flags is None:
        flags = vars(ctx)["module_flags"] = _read_flags(ctx.module)
    return flags


def _read_flags(module: cst.Module) -> Dict[str, bool]:
    values: Dict[str, Optional[bool]] = {}
    for statement in module.body:
        for name, value in _top_level_bindings(statement):
            values[name] = value if name not in values else None  # bound twice: unknown
    flags = {name: value for name, value in values.items() if value is not None}
    if flags:
        for declared, _ in find(module, (cst.Global,)):
            for item in declared.names:  # type: ignore[attr-defined]
                flags.pop(item.name.value, None)
    return flags


def _top_level_bindings(statement: cst.CSTNode):
    """``(name, True/False/None)`` for each name a top-level statement binds (None: not a
    literal boolean); compound statements bind what their nested statements do."""
    if isinstance(statement, cst.SimpleStatementLine):
        for small in statement.body:
            if isinstance(small, cst.Assign):
                value = _boolean(small.value) if len(small.targets) == 1 else None
                for target in small.targets:
                    for name in _names(target.target):
                        yield name, value
            elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                value = _boolean(small.value) if isinstance(small, cst.AnnAssign) and small.value is not None else None
                for name in _names(small.target):
                    yield name, value
            elif isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(small.names, cst.ImportStar):
                for alias in small.names:
                    bound = alias.asname.name if alias.asname is not None else alias.name
                    for name in _names(bound):  # type: ignore[arg-type]
                        yield name, None
        return
    # ``if``/``try``/``for``/``with`` at module level: every name bound inside is unknown.
    for found, _ in find(statement, (cst.AssignTarget, cst.AnnAssign, cst.AugAssign, cst.For, cst.AsName, cst.FunctionDef, cst.ClassDef)):
        target = getattr(found, "target", None) or getattr(found, "name", None)
        for name in _names(target):
            yield name, None


def _names(target) -> list:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [name for element in target.elements for name in _names(element.value)]
    return []


def _boolean(value: cst.BaseExpression) -> Optional[bool]:
    if isinstance(value, cst.Name) and value.value in ("True", "False"):
        return value.value == "True"
    return None

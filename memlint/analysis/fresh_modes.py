"""A mode change of what the function has just created cannot realistically fail.

``os.chmod(path, mode)`` and ``os.fchmod(fd, mode)`` fail for a caller that does not own the
file (EPERM), a path it cannot reach or that is gone (EACCES, ENOENT), a read-only file system
(EROFS) or a bad descriptor (EBADF). On a file or directory this process has just created with
``O_CREAT | O_EXCL`` (``tempfile.mkstemp()``, ``mkdtemp()``, ``NamedTemporaryFile()``,
``TemporaryFile()``, ``TemporaryDirectory()``, ``os.open(..., O_CREAT | O_EXCL)``) none of them
holds: the process owns it, reached it by the same path a moment ago on a file system it could
write, and the descriptor is open. So such a call between the creation and the release is no
exception path, as long as nothing in between can have removed, closed or handed on what it
names (no earlier call is given the name, no earlier method of the object closes it) and the
call names it by what the creation bound (``path`` of ``fd, path = mkstemp()``, ``tmp.name``,
``tmp.fileno()``). Keywords (``follow_symlinks``, ``dir_fd``) are left out: they ask more.

Not a path the caller gave (``os.open(pidfile, O_CREAT)`` may open a file another user owns),
nor a pathlib path's ``chmod()`` (the object is not followed here).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional

import libcst as cst

from memlint.analysis.names import dotted
from memlint.analysis.walk import find

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ModuleContext

_MODE_CHANGES = ("os.chmod", "os.fchmod")
# Makers that create a new file or directory (O_CREAT | O_EXCL, or mkdir of a fresh name).
_CREATORS = frozenset({
    "tempfile.mkstemp", "tempfile.mkdtemp", "tempfile.NamedTemporaryFile", "tempfile.TemporaryFile",
    "tempfile.TemporaryDirectory",
})
# Methods of a file or directory object that close or remove it: after one, its name or
# descriptor may be gone (a NamedTemporaryFile is deleted when closed).
_ENDING_METHODS = frozenset({"close", "cleanup", "__exit__", "detach", "unlink"})


def mode_change_of_fresh_creation(
    ctx: "ModuleContext", call: cst.Call, qualified: str, made_by: str, acquisition: Optional[cst.CSTNode]
) -> bool:
    """``fd, path = tempfile.mkstemp(); os.chmod(path, 0o600)`` and its kin (module docstring)."""
    if qualified not in _MODE_CHANGES or len(call.args) != 2 or any(arg.keyword or arg.star for arg in call.args):
        return False
    creation = acquisition.expression if isinstance(acquisition, cst.Await) else acquisition
    if not isinstance(creation, cst.Call) or not _creates(ctx, creation, made_by):
        return False
    scope = ctx.scope.node if ctx.scope is not None else ctx.module
    bound = _names_bound_by(scope, creation)
    target = call.args[0].value
    name = _named_object(target, bound)
    if name is None or _bound_elsewhere(scope, name, creation, call):
        return False
    return _untouched_until(ctx, scope, creation, call, name)


def _creates(ctx: "ModuleContext", creation: cst.Call, made_by: str) -> bool:
    """A tempfile maker, or ``os.open(path, ... O_CREAT ... O_EXCL ...)`` (a new file only)."""
    if made_by in _CREATORS:
        return True
    if made_by != "os.open" or len(creation.args) < 2 or creation.args[1].keyword is not None:
        return False
    flags = {
        (node.attr.value if isinstance(node, cst.Attribute) else node.value)  # type: ignore[union-attr]
        for node, _trail in find(creation.args[1].value, (cst.Name, cst.Attribute))
    }
    return {"O_CREAT", "O_EXCL"} <= flags and not any(
        isinstance(node.operator, (cst.BitAnd, cst.Subtract)) for node, _t in find(creation.args[1].value, (cst.BinaryOperation,))  # type: ignore[attr-defined]
    )


def _names_bound_by(scope: cst.CSTNode, creation: cst.Call) -> List[str]:
    """``fd`` and ``path`` of ``fd, path = mkstemp()``; ``tmp`` of ``with ... as tmp``."""
    for found, _trail in find(scope, (cst.Assign, cst.WithItem)):
        if isinstance(found, cst.Assign) and found.value is creation and len(found.targets) == 1:
            target = found.targets[0].target
            elements = [element.value for element in target.elements] if isinstance(target, cst.Tuple) else [target]
            return [element.value for element in elements if isinstance(element, cst.Name)]
        if isinstance(found, cst.WithItem) and found.item is creation and found.asname is not None:
            name = found.asname.name
            return [name.value] if isinstance(name, cst.Name) else []
    return []


def _named_object(target: cst.BaseExpression, bound: List[str]) -> Optional[str]:
    """The bound name ``target`` reaches: ``path``, ``tmp.name`` or ``tmp.fileno()``."""
    if isinstance(target, cst.Call) and not target.args and isinstance(target.func, cst.Attribute) and target.func.attr.value == "fileno":
        target = target.func.value
    elif isinstance(target, cst.Attribute) and target.attr.value == "name":
        target = target.value
    return target.value if isinstance(target, cst.Name) and target.value in bound else None


def _bound_elsewhere(scope: cst.CSTNode, name: str, creation: cst.Call, call: cst.Call) -> bool:
    """``name`` is bound again between the creation and the call, in source order (the call
    would see another value); a binding elsewhere (another branch's maker) does not matter."""
    positions = {}
    for found, trail in find(scope, (cst.Call, cst.AssignTarget, cst.AugAssign, cst.AnnAssign, cst.For, cst.AsName)):
        if isinstance(found, cst.AsName) and trail and isinstance(trail[-1], cst.WithItem) and trail[-1].item is creation:
            continue  # ``with NamedTemporaryFile() as tmp``: the creation's own name
        if found is creation or found is call:
            positions[id(found)] = len(positions)
            continue
        if len(positions) != 1:
            continue  # before the creation, or after the call
        target = found.name if isinstance(found, cst.AsName) else getattr(found, "target", None)
        if target is not None and any(node.value == name for node, _t in find(target, (cst.Name,))):  # type: ignore[attr-defined]
            return True
    return len(positions) != 2


def _untouched_until(ctx: "ModuleContext", scope: cst.CSTNode, creation: cst.Call, call: cst.Call, name: str) -> bool:
    """Between ``creation`` and ``call`` (source order, the call not in a loop the creation is
    not in) no call is given the object (``os.close(fd)``, ``os.unlink(path)``) and none of
    its methods ends it (``tmp.close()``)."""
    reached = False
    creation_loops: list = []
    for found, trail in find(scope, (cst.Call,)):
        if found is creation:
            reached = True
            creation_loops = [node for node in trail if isinstance(node, (cst.For, cst.While))]
            continue
        if not reached:
            continue
        if found is call:
            loops = [node for node in trail if isinstance(node, (cst.For, cst.While))]
            return all(any(loop is other for other in creation_loops) for loop in loops) and _inside_own_with(scope, creation, trail)
        func = found.func  # type: ignore[attr-defined]
        if isinstance(func, cst.Attribute) and dotted(func.value) == name and func.attr.value in _ENDING_METHODS:
            return False
        for arg in found.args:  # type: ignore[attr-defined]
            if _named_object(arg.value, [name]) is not None and (ctx.resolve(func) or "") not in _MODE_CHANGES + ("os.fstat",):
                return False
    return False


def _inside_own_with(scope: cst.CSTNode, creation: cst.Call, trail) -> bool:
    """When ``creation`` is a ``with`` item, the call is in that ``with`` block: leaving it
    closes the object (and deletes a NamedTemporaryFile or TemporaryDirectory)."""
    for found, _path in find(scope, (cst.With,)):
        if any(item.item is creation for item in found.items):  # type: ignore[attr-defined]
            return any(node is found for node in trail)
    return True

"""Local callees that take a temporary path over: they remove it in a ``finally``, or keep
it in the object the function returns.

``return await self._load_document(tmp_path, ext)`` where ``_load_document`` ends with
``finally: os.remove(file_path)``: the callee removes the file on every way out of it, so
the caller has handed the path on to its removal. Only callees whose removal sits in a
``finally`` count (a removal on the success path alone would leave the file behind when
the callee raises), and only functions of this module and methods of the class being
analysed called on ``self``, whose bodies are in plain sight.

``return FileWrapper(file, name)`` with a class of the module (or of the function) whose
``__init__`` stores ``name`` on ``self`` hands the path to the caller inside the object; so
does a dataclass or ``NamedTuple`` given it for one of its fields (``declared_fields``).
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import libcst as cst

from memlint.analysis.declared_fields import declared_fields, positional_fields_known
from memlint.analysis.facts import ModuleContext, local_callee
from memlint.analysis.identity_returns import returned_parameter
from memlint.analysis.names import block_of, dotted, self_attribute
from memlint.analysis.walk import find

# A call whose name has one of these words removes what it is given.
_REMOVING_WORDS = ("remove", "unlink", "rmtree", "rmdir", "delete", "cleanup")


def removed_in_callee_finally(ctx: "ModuleContext", call: cst.Call, arg: cst.CSTNode) -> bool:
    """Whether ``arg`` (an argument of ``call``) is bound to a parameter of a local callee
    that passes that parameter to a removal in a ``finally`` block."""
    function = local_callee(ctx, call.func)
    if function is None or not isinstance(arg, cst.Arg) or arg.star:
        return False
    params = [p.name.value for p in function.params.params]
    if isinstance(call.func, cst.Attribute):
        params = params[1:]
    param = _parameter_taking(call, arg, params)
    if param is None or _rebound(function, param):
        return False
    for node, _path in find(function.body, (cst.Try,)):
        final = node.finalbody  # type: ignore[attr-defined]
        if final is not None and _removes(final, param):
            return True
    return False


def _parameter_taking(call: cst.Call, arg: cst.Arg, params: List[str]) -> Optional[str]:
    """The parameter of ``params`` that ``arg`` of ``call`` binds (None when unknown)."""
    if arg.keyword is not None:
        return arg.keyword.value
    positional = [a for a in call.args if a.keyword is None]
    if any(a.star for a in positional):
        return None
    index = next((i for i, a in enumerate(positional) if a is arg), -1)
    return params[index] if 0 <= index < len(params) else None


def _removes(block: cst.CSTNode, param: str) -> bool:
    """A call in ``block`` named for removal whose first argument is ``param`` itself (or
    ``Path(param)``), not under a condition."""
    for call, path in find(block, (cst.Call,)):
        if any(isinstance(p, (cst.If, cst.Try, cst.For, cst.While, cst.IfExp, cst.BooleanOperation)) for p in path[1:]):
            continue
        name = (dotted(call.func) or "").rsplit(".", 1)[-1].lower()  # type: ignore[attr-defined]
        if not any(word in name for word in _REMOVING_WORDS) or not call.args:  # type: ignore[attr-defined]
            continue
        first = call.args[0].value  # type: ignore[attr-defined]
        if isinstance(first, cst.Call) and len(first.args) == 1:
            first = first.args[0].value  # ``shutil.rmtree(Path(p))``
        if isinstance(first, cst.Name) and first.value == param:
            return True
    return False


def _rebound(function: cst.FunctionDef, param: str) -> bool:
    for node, _path in find(function.body, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign, cst.AsName, cst.For)):
        target = node.name if isinstance(node, cst.AsName) else getattr(node, "target", None)
        if isinstance(target, cst.Name) and target.value == param:
            return True
    return False


def kept_by_returned_object(ctx: "ModuleContext", call: cst.Call, arg: cst.CSTNode, path: Tuple[cst.CSTNode, ...]) -> bool:
    """``return FileWrapper(file, name)`` where ``FileWrapper`` is a class of this module (or
    of the function itself) whose ``__init__`` stores that parameter on ``self``: the caller
    gets the object, and the path with it."""
    if len(path) < 3 or path[-2] is not call or not isinstance(path[-3], cst.Return):
        return False
    if not isinstance(call.func, cst.Name) or not isinstance(arg, cst.Arg) or arg.star:
        return False
    node = _class_named(ctx, call.func.value)
    fields = declared_fields(ctx, node) if node is not None else None
    if fields is not None and node is not None:  # a dataclass, a NamedTuple: the field keeps it
        if arg.keyword is not None:
            return arg.keyword.value in fields
        return positional_fields_known(ctx, node) and _parameter_taking(call, arg, fields) is not None
    init = _init_of(node) if node is not None else None
    if init is None:
        return False
    params = [p.name.value for p in init.params.params][1:]
    param = _parameter_taking(call, arg, params)
    if param is None or _rebound(init, param):
        return False
    for node, _path in find(init.body, (cst.Assign,)):
        value = node.value  # type: ignore[attr-defined]
        if isinstance(value, cst.Name) and value.value == param and any(
            self_attribute(t.target) for t in node.targets  # type: ignore[attr-defined]
        ):
            return True
    return False


def _class_named(ctx: "ModuleContext", name: str) -> Optional[cst.ClassDef]:
    """The class ``name`` of the module or of the scope's own body, when there is one only."""
    classes = [info.node for key, info in ctx.classes.items() if key == name]
    if ctx.scope is not None and isinstance(ctx.scope.node, cst.FunctionDef):
        classes += [node for node, _ in find(ctx.scope.node.body, (cst.ClassDef,)) if node.name.value == name]  # type: ignore[attr-defined]
    if len({id(node) for node in classes}) != 1:  # the module's table may list it as well
        return None
    return classes[0]  # type: ignore[return-value]


def _init_of(node: cst.ClassDef) -> Optional[cst.FunctionDef]:
    """The class's own ``__init__``."""
    for statement in block_of(node.body):
        if isinstance(statement, cst.FunctionDef) and statement.name.value == "__init__":
            return statement
    return None


# Modules whose removal functions take a path; reached through an attribute that holds the
# module (``self.tools.os.remove(p)``, ``self.os.unlink(p)``: an injected os module).
_REMOVING_MODULES = {"os": ("remove", "unlink", "rmdir"), "shutil": ("rmtree",)}


def module_removal(func: cst.BaseExpression, qualified: str) -> bool:
    """``os.remove(path)``, or ``<holder>.os.remove(path)``: the removal function of a module,
    also reached through an attribute named for it. (A container's own ``.remove(item)``
    takes an item out of a list; a list is never the os module, nor an attribute named
    ``os``.)"""
    module, _dot, function = qualified.rpartition(".")
    if function in _REMOVING_MODULES.get(module, ()):
        return True
    if not isinstance(func, cst.Attribute) or not isinstance(func.value, cst.Attribute):
        return False
    return func.attr.value in _REMOVING_MODULES.get(func.value.attr.value, ())


def returns_its_argument(ctx: "ModuleContext", call: cst.Call, arg: cst.CSTNode) -> bool:
    """``return _clone_via_cache(ref, location, mirror)`` where the module's undecorated plain
    function ``_clone_via_cache`` gives back, at every ``return``, the parameter this argument
    binds, never rebinding it (``identity_returns``), and cannot fall off its end (which
    would return None): the call's value IS the argument, so returning it hands the argument
    to the caller. An ``async def`` (its call makes a coroutine) does not count."""
    if not isinstance(call.func, cst.Name) or not isinstance(arg, cst.Arg) or arg.star:
        return False
    function = local_callee(ctx, call.func)
    if function is None or function.decorators or function.asynchronous is not None:
        return False
    param = _parameter_taking(call, arg, [p.name.value for p in function.params.params])
    return param is not None and returned_parameter(function) == param and _ends_in_return_or_raise(function.body)


def _ends_in_return_or_raise(body: cst.BaseSuite) -> bool:
    """The block's last statement is a ``return`` or a ``raise``: no way falls off its end."""
    statements = block_of(body)
    if not statements:
        return False
    last = statements[-1]
    if isinstance(last, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
        return isinstance(last.body[-1], (cst.Return, cst.Raise))
    return False

"""A resource class of the module whose constructor opens nothing is a lazy object.

``fabric.Connection`` in fabric's own ``connection.py`` owns an SSH client, closes it and is
a context manager, so memlint follows its objects as resources. But its ``__init__`` only
builds an unconnected ``paramiko.SSHClient`` (itself lazy, ``held_after`` in the knowledge
files) and stores settings: an object that was built and never used holds nothing, and a
chain of them dropped by an early ``return`` leaks nothing. Such a class's spec gets
``held_after = {"any"}``: it holds something once any method but its releases was called.

"Opens nothing" is read from the constructor's own code and the methods of ``self`` it
calls (one level): no call there is an acquisition of a resource that is not lazy itself.
A class without ``__init__`` opens nothing only when it has no base (nor a plain
``object``) whose constructor could.
"""

from __future__ import annotations

from typing import FrozenSet

import libcst as cst

from memlint.analysis.classify import acquisition_spec
from memlint.analysis.facts import ClassInfo, ModuleContext, Scope
from memlint.analysis.names import block_of
from memlint.analysis.walk import find

LAZY = frozenset({"any"})
_PLAIN_BASES = frozenset({"object", "ABC", "abc.ABC"})


def lazy_methods(ctx: ModuleContext, info: ClassInfo) -> FrozenSet[str]:
    """``{"any"}`` when the class's constructor opens nothing, else no methods."""
    init = info.methods.get("__init__")
    if init is None:
        return LAZY if all(base in _PLAIN_BASES for base in info.bases) else frozenset()
    if _opens(ctx, info, init, follow=True):
        return frozenset()
    return LAZY


def _opens(ctx: ModuleContext, info: ClassInfo, method: cst.FunctionDef, follow: bool) -> bool:
    scope = Scope(method, tuple(block_of(method.body)), info)
    for call, _path in find(method.body, (cst.Call,)):
        spec = acquisition_spec(ctx, call, scope)  # type: ignore[arg-type]
        if spec is not None and not spec.held_after:
            return True
        func = call.func  # type: ignore[attr-defined]
        if (
            follow
            and isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value == "self"
            and func.attr.value in info.methods
            and _opens(ctx, info, info.methods[func.attr.value], follow=False)
        ):
            return True
    return False

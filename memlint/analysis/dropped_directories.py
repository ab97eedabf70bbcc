"""The path of a temporary directory object dropped at once, removed later by its name.

``tmp_dir = Path(tempfile.TemporaryDirectory().name)`` keeps only the path: the object is
dropped on the spot, and its finalizer removes the directory. When the function later
removes that path itself with a function known to remove or move the model's path
(``release_functions_of_attribute``: ``shutil.rmtree(tmp_dir)``, ``os.rmdir``, ``shutil.move``),
the code cleans up what it made there, and the dropped object is not a leak. Without such a
removal (the path is only used, and re-created by a ``mkdir``) the finding stays.

Only a plain name bound once in the scope, to the ``.name`` itself or to one path wrapper
of it (``Path(...)``, ``str(...)``, ``os.path.abspath(...)``: ``path_wrappers``), and
removed by a call given that name as its first argument after the binding.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import libcst as cst

from memlint.analysis.names import bound_names
from memlint.analysis.resources import PATH_WRAPPERS, ResourceSpec


def removed_later(ctx, call: cst.Call, path: Tuple[cst.CSTNode, ...], spec: ResourceSpec, body: Sequence[cst.CSTNode]) -> bool:
    """Whether the unnamed ``call``'s ``.name`` is bound to a name that a known remover of
    that attribute is later given in ``body``."""
    if not path or not isinstance(path[-1], cst.Attribute) or path[-1].attr.value != "name":
        return False
    removers = frozenset(callee for attribute, callee in spec.attribute_release_funcs if attribute == "name")
    if not removers:
        return False
    value: cst.CSTNode = path[-1]
    rest = list(path[:-1])
    # One path wrapper of it: ``Path(td.name)`` (its only argument).
    if len(rest) >= 2 and isinstance(rest[-1], cst.Arg) and isinstance(rest[-2], cst.Call):
        wrapper = rest[-2]
        if len(wrapper.args) != 1 or wrapper.args[0].keyword is not None or wrapper.args[0].star:
            return False
        if (ctx.resolve(wrapper.func) or "") not in PATH_WRAPPERS:
            return False
        value, rest = wrapper, rest[:-2]
    if not rest or not isinstance(rest[-1], cst.Assign) or rest[-1].value is not value:
        return False
    assign = rest[-1]
    if len(assign.targets) != 1 or not isinstance(assign.targets[0].target, cst.Name):
        return False
    name = assign.targets[0].target.value
    finder = _Finder(ctx, name, removers, assign)
    for statement in body:
        statement.visit(finder)
    return finder.bindings == 1 and finder.removed


class _Finder(cst.CSTVisitor):
    """Counts the bindings of ``name`` in the scope and finds a remover given it after ``assign``."""

    def __init__(self, ctx, name: str, removers: frozenset, assign: cst.Assign) -> None:
        self.ctx = ctx
        self.name = name
        self.removers = removers
        self.assign = assign
        self.seen_assign = False
        self.bindings = 0
        self.removed = False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> Optional[bool]:
        return False  # a nested function's names are its own

    def visit_ClassDef(self, node: cst.ClassDef) -> Optional[bool]:
        return False

    def visit_Assign(self, node: cst.Assign) -> Optional[bool]:
        if node is self.assign:
            self.seen_assign = True
        for target in node.targets:
            self._bind(target.target)
        return True

    def visit_AugAssign(self, node: cst.AugAssign) -> Optional[bool]:
        self._bind(node.target)
        return True

    def visit_AnnAssign(self, node: cst.AnnAssign) -> Optional[bool]:
        self._bind(node.target)
        return True

    def visit_For(self, node: cst.For) -> Optional[bool]:
        self._bind(node.target)
        return True

    def visit_AsName(self, node: cst.AsName) -> Optional[bool]:
        self._bind(node.name)
        return True

    def _bind(self, target: cst.CSTNode) -> None:
        self.bindings += sum(1 for name in bound_names(target) if name == self.name)

    def visit_Call(self, node: cst.Call) -> Optional[bool]:
        if not self.seen_assign or not node.args or node.args[0].keyword is not None or node.args[0].star:
            return True
        first = node.args[0].value
        if isinstance(first, cst.Name) and first.value == self.name and (self.ctx.resolve(node.func) or "") in self.removers:
            self.removed = True
        return True

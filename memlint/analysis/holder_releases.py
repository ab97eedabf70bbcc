"""Attributes of a class's instances that another class of the module releases: the holder
keeps the instance (``self.server = ExaTCPServer(...)``) and one of its methods closes what
that instance keeps, directly (``self.server.write_pipe.close()``) or through its own
attribute bound to it (``self.write_pipe = self.server.write_pipe`` ... ``self.write_pipe.
close()``), or enters it in a ``with``. The resource then has a release, in the object it was
built for (check-7 pyexasol ``ExaHttpThread.terminate()``).

Only a holder attribute that every assignment of the holder binds to a new instance of the
class counts (another value there could be closed instead), and only a holder attribute
that every assignment binds to that instance's attribute. ``__del__`` is no release (it runs
only if and when the object is collected).
"""

from __future__ import annotations

from typing import Dict, Iterator, Optional, Set, Tuple

import libcst as cst

from memlint.analysis.facts import ClassInfo, ModuleContext
from memlint.analysis.names import self_attribute
from memlint.analysis.resources import ANY_RELEASE_METHODS
from memlint.analysis.walk import find


def released_by_holders(ctx: ModuleContext, class_name: str, attr: str) -> Set[str]:
    """``"Holder.method"`` for each method of another class of the module that releases
    ``attr`` of the instance of ``class_name`` it keeps."""
    found: Set[str] = set()
    for holder_name, info in ctx.classes.items():
        if holder_name == class_name:
            continue
        assigned = _self_assignments(info)
        slots = {slot for slot, values in assigned.items() if values and all(_builds(value, class_name) for value in values)}
        if not slots:
            continue
        copies = {
            name for name, values in assigned.items()
            if values and all(_attribute_of_slot(value, slots) == attr for value in values)
        }
        for method_name, method in info.methods.items():
            if method_name != "__del__" and _releases(method, slots, attr, copies):
                found.add(f"{holder_name}.{method_name}")
    return found


def _self_assignments(info: ClassInfo) -> Dict[str, list]:
    """``self.x`` -> every value the class's methods assign to it (None for an assignment
    whose value is unknown: in a tuple target, an augmented one, a ``del``). Setting an
    attribute of it (``self.server.flag = True``) does not rebind it."""
    assigned: Dict[str, list] = {}
    for method in info.methods.values():
        for node, _path in find(method.body, (cst.Assign, cst.AnnAssign, cst.AugAssign, cst.Del)):
            for target, value in _targets(node):
                attr = self_attribute(target)
                if attr is not None:
                    assigned.setdefault(attr, []).append(value)
                for element, _ in find(target, (cst.Element, cst.StarredElement)):
                    nested = self_attribute(element.value)  # type: ignore[attr-defined]
                    if nested is not None:  # ``self.a, self.b = pair``: a value not known here
                        assigned.setdefault(nested, []).append(None)
    return assigned


def _targets(node: cst.CSTNode) -> Iterator[Tuple[cst.CSTNode, Optional[cst.BaseExpression]]]:
    if isinstance(node, cst.Assign):
        for target in node.targets:
            yield target.target, node.value
    elif isinstance(node, cst.AnnAssign):
        yield node.target, node.value
    elif isinstance(node, cst.AugAssign):
        yield node.target, None
    elif isinstance(node, cst.Del):
        yield node.target, None


def _builds(value: Optional[cst.BaseExpression], class_name: str) -> bool:
    return isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and value.func.value == class_name


def _attribute_of_slot(value: Optional[cst.BaseExpression], slots: Set[str]) -> Optional[str]:
    """``self.server.write_pipe`` with ``server`` a slot -> ``"write_pipe"``."""
    if isinstance(value, cst.Attribute) and self_attribute(value.value) in slots:
        return value.attr.value
    return None


def _releases(method: cst.FunctionDef, slots: Set[str], attr: str, copies: Set[str]) -> bool:
    def is_held(expr: cst.BaseExpression) -> bool:
        return _attribute_of_slot(expr, slots) == attr or self_attribute(expr) in copies

    for call, _path in find(method.body, (cst.Call,)):
        func = call.func  # type: ignore[attr-defined]
        if isinstance(func, cst.Attribute) and func.attr.value in ANY_RELEASE_METHODS and is_held(func.value):
            return True
    for item, _path in find(method.body, (cst.WithItem,)):
        if is_held(item.item):  # type: ignore[attr-defined]
            return True
    return False

"""Properties over one attribute of ``self`` (MEM004, TUNING-NOTES section 60).

A value assigned through a property whose setter only stores it in one attribute
(``@device.setter def device(self, value): self._device = value``, or the setter of
``file = property(_get_file, _set_file)``) is stored in that attribute: a method that
releases either name releases it. The setter may be defined by the class, by a base in the
module (read here with libcst) or by a project base in another module (read with ``ast`` by
the project index, which passes the fact on as ``Class#setters``). A setter doing anything
else (validation, a copy, a second store) is not followed. The getter side of
``name = property(getter, ...)``: ``getter_properties`` names the properties whose getter
gives the attribute back on every ``return``. The ``ast`` half (the project index's side,
which imports no libcst) is ``property_setters``.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Set, Tuple

import libcst as cst

from memlint.analysis.names import block_of, self_attribute
from memlint.analysis.walk import find


def class_defines(class_node: cst.ClassDef, name: str) -> bool:
    """Whether the class body defines ``name`` (a method, a property, a class attribute)."""
    for item in block_of(class_node.body):
        if isinstance(item, (cst.FunctionDef, cst.ClassDef)) and item.name.value == name:
            return True
        for statement in item.body if isinstance(item, cst.SimpleStatementLine) else ():
            targets = [t.target for t in statement.targets] if isinstance(statement, cst.Assign) else []
            targets += [statement.target] if isinstance(statement, cst.AnnAssign) else []
            if any(isinstance(t, cst.Name) and t.value == name for t in targets):
                return True
    return False


# -- libcst (classes of the module) ------------------------------------------------------


def plain_setters_cst(class_node: cst.ClassDef) -> Dict[str, str]:
    """property -> attribute, for a class of the module."""
    body = block_of(class_node.body)
    methods = {item.name.value: item for item in body if isinstance(item, cst.FunctionDef)}
    found: Dict[str, str] = {}
    for item in body:
        if isinstance(item, cst.FunctionDef):
            for decorator in item.decorators:
                d = decorator.decorator
                if (
                    isinstance(d, cst.Attribute)
                    and d.attr.value == "setter"
                    and isinstance(d.value, cst.Name)
                    and d.value.value == item.name.value
                ):
                    attr = _plain_store_cst(item)
                    if attr is not None:
                        found[item.name.value] = attr
        for name, call in _property_assignments(item):
            setter = _property_part_cst(call, 1, "fset")
            if isinstance(setter, cst.Name) and setter.value in methods:
                attr = _plain_store_cst(methods[setter.value])
                if attr is not None:
                    found[name] = attr
    return found


def getter_properties(class_node: cst.ClassDef, attr: str) -> Set[str]:
    """Names of ``name = property(getter, ...)`` whose getter (a method of the class)
    returns ``self.<attr>`` on every ``return``."""
    body = block_of(class_node.body)
    methods = {item.name.value: item for item in body if isinstance(item, cst.FunctionDef)}
    names: Set[str] = set()
    for item in body:
        for name, call in _property_assignments(item):
            getter = _property_part_cst(call, 0, "fget")
            method = methods.get(getter.value) if isinstance(getter, cst.Name) else None
            if method is not None and _returns_only(method, attr):
                names.add(name)
    return names


def _returns_only(function: cst.FunctionDef, attr: str) -> bool:
    returns = [found for found, _path in find(function.body, (cst.Return,))]
    return bool(returns) and all(r.value is not None and self_attribute(r.value) == attr for r in returns)  # type: ignore[attr-defined]


def _property_assignments(item: cst.CSTNode) -> List[Tuple[str, cst.Call]]:
    found: List[Tuple[str, cst.Call]] = []
    if not isinstance(item, cst.SimpleStatementLine):
        return found
    for statement in item.body:
        if (
            isinstance(statement, cst.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0].target, cst.Name)
            and isinstance(statement.value, cst.Call)
            and isinstance(statement.value.func, cst.Name)
            and statement.value.func.value == "property"
        ):
            found.append((statement.targets[0].target.value, statement.value))
    return found


def _property_part_cst(call: cst.Call, index: int, keyword: str) -> Optional[cst.BaseExpression]:
    positional = [a for a in call.args if a.keyword is None and not a.star]
    if len(positional) > index:
        return positional[index].value
    return next((a.value for a in call.args if a.keyword is not None and a.keyword.value == keyword), None)


def _plain_store_cst(function: cst.FunctionDef) -> Optional[str]:
    params = function.params
    if len(params.params) != 2 or params.star_arg is not cst.MaybeSentinel.DEFAULT and params.star_arg is not None:
        return None
    if params.kwonly_params or params.star_kwarg or params.posonly_params:
        return None
    statements = [s for line in block_of(function.body) for s in _small_statements(line)]
    if statements and isinstance(statements[0], cst.Expr) and isinstance(statements[0].value, (cst.SimpleString, cst.ConcatenatedString)):
        statements = statements[1:]
    if len(statements) != 1:
        return None
    statement = statements[0]
    if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
        target, value = statement.targets[0].target, statement.value
    elif isinstance(statement, cst.AnnAssign) and statement.value is not None:
        target, value = statement.target, statement.value
    else:
        return None
    if not (isinstance(value, cst.Name) and value.value == params.params[1].name.value):
        return None
    if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == params.params[0].name.value:
        return target.attr.value
    return None


def _small_statements(line: cst.CSTNode) -> List[cst.CSTNode]:
    if isinstance(line, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
        return list(line.body)
    return [line]  # a compound statement: not a plain store

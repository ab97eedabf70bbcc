"""Properties over one attribute of ``self`` (MEM004, TUNING-NOTES section 60).

A value assigned through a property whose setter only stores it in one attribute
(``@device.setter def device(self, value): self._device = value``, or the setter of
``file = property(_get_file, _set_file)``) is stored in that attribute: a method that
releases either name releases it. The setter may be defined by the class, by a base in the
module (read here with libcst) or by a project base in another module (read with ``ast`` by
the project index, which passes the fact on as ``Class#setters``). A setter doing anything
else (validation, a copy, a second store) is not followed. The getter side of
``name = property(getter, ...)``: ``getter_properties`` names the properties whose getter
gives the attribute back on every ``return``.
"""

from __future__ import annotations

import ast
from typing import Any, Dict, List, Optional, Set, Tuple

import libcst as cst

from memlint.analysis.names import block_of, self_attribute

# Appended to a project class's name for the fact "assigning these properties stores these
# attributes" (summary ``"device:_device"``), read by the ownership stage.
SETTERS_MARK = "#setters"


def project_setters_of(ctx: Any) -> Dict[str, Dict[str, str]]:
    """Qualified project class name -> property -> attribute its plain setter stores (from the index)."""
    return vars(ctx).setdefault("project_setters", {})


def setter_entries(name: str, chain: List[Tuple[Any, ast.ClassDef]]) -> List[Tuple[str, str]]:
    """The index fact for a project class: the plain setters of it and its project bases, nearest first."""
    merged: Dict[str, Optional[str]] = {}
    for _module, cls in chain:
        setters = plain_setters_ast(cls)
        for defined in _defined_names_ast(cls):  # the nearest definition of a name wins, plain or not
            merged.setdefault(defined, setters.get(defined))
    found = sorted((prop, attr) for prop, attr in merged.items() if attr is not None)
    return [(f"{name}{SETTERS_MARK}", ";".join(f"{p}:{a}" for p, a in found))] if found else []


def add_setter_entry(ctx: Any, name: str, summary: str) -> bool:
    if not name.endswith(SETTERS_MARK):
        return False
    pairs = (pair.partition(":") for pair in summary.split(";"))
    project_setters_of(ctx)[name[: -len(SETTERS_MARK)]] = {prop: attr for prop, _, attr in pairs}
    return True


# -- ast (the project index) -------------------------------------------------------------


def plain_setters_ast(node: ast.ClassDef) -> Dict[str, str]:
    """property -> attribute, for the class's own plain setters."""
    methods = {item.name: item for item in node.body if isinstance(item, ast.FunctionDef)}
    found: Dict[str, str] = {}
    for item in node.body:
        if isinstance(item, ast.FunctionDef):
            for decorator in item.decorator_list:
                if (
                    isinstance(decorator, ast.Attribute)
                    and decorator.attr == "setter"
                    and isinstance(decorator.value, ast.Name)
                    and decorator.value.id == item.name
                ):
                    attr = _plain_store_ast(item)
                    if attr is not None:
                        found[item.name] = attr
        elif isinstance(item, ast.Assign) and len(item.targets) == 1 and isinstance(item.targets[0], ast.Name):
            setter = _property_part_ast(item.value, 1, "fset")
            if isinstance(setter, ast.Name) and setter.id in methods:
                attr = _plain_store_ast(methods[setter.id])
                if attr is not None:
                    found[item.targets[0].id] = attr
    return found


def _defined_names_ast(node: ast.ClassDef) -> Set[str]:
    names: Set[str] = set()
    for item in node.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(item.name)
        targets = item.targets if isinstance(item, ast.Assign) else [item.target] if isinstance(item, ast.AnnAssign) else []
        names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


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


def _property_part_ast(value: ast.AST, index: int, keyword: str) -> Optional[ast.AST]:
    if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "property"):
        return None
    if len(value.args) > index:
        return value.args[index]
    return next((k.value for k in value.keywords if k.arg == keyword), None)


def _plain_store_ast(function: ast.FunctionDef) -> Optional[str]:
    """``attr`` for ``def x(self, value): self.attr = value`` (a docstring aside), else None."""
    args = function.args
    if len(args.args) != 2 or args.vararg or args.kwarg or args.kwonlyargs or getattr(args, "posonlyargs", None):
        return None
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        body = body[1:]
    if len(body) != 1:
        return None
    statement = body[0]
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target, value = statement.targets[0], statement.value
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        target, value = statement.target, statement.value
    else:
        return None
    if not (isinstance(value, ast.Name) and value.id == args.args[1].arg):
        return None
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == args.args[0].arg:
        return target.attr
    return None


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
    from memlint.analysis.walk import find

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

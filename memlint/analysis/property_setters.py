"""The ``ast`` half of ``property_stores`` (MEM004, TUNING-NOTES section 60): the plain
property setters of a project class as the project index records them (``Class#setters``),
and how a module's analysis reads that fact back.

Kept apart from the libcst half so that the project index, which every run builds in the
main process (warm runs and pre-commit runs of a few files included), imports no libcst
(``tests/test_start_cost.py``): the main process of such a run never parses with libcst.
"""

from __future__ import annotations

import ast
from typing import Any, Dict, List, Optional, Set, Tuple

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

"""Tests of the Python version: code that runs only on Python 2 never runs.

memlint checks code run by Python 3. A test that asks for Python 2 is false there, one that
asks for Python 3 is true, whatever the minor version: the first item of the running version
compared with an integer (``sys.version_info[0] < 3``, ``sys.version_info.major == 2``), the
version tuple compared with a tuple whose first item is not 3 (``sys.version_info < (2, 7)``)
or is 3 followed only by zeros (``sys.version_info >= (3,)``, ``< (3, 0)``: every 3.x is past
it), and the flags the knowledge names (``six.PY2``, ``six.PY3``:
``knowledge/python-versions/versions.toml``). A module constant bound once, at the top of the
module, to such a test (``PY2 = sys.version_info[0] == 2``, ``PY3 = not PY2``, ``from six
import PY2``), named by no ``global`` statement, is the same test (not in a function where a
parameter or local of that name shadows it). ``dead_code`` then makes no finding inside the
branch that never runs, and the path interpreter follows no path through it
(``module_flags.module_flag``).
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Callable, Dict, Optional, Set, Tuple

import libcst as cst

from memlint.knowledge.versions import version_knowledge
from memlint.analysis.walk import find

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ModuleContext

_RUNNING_MAJOR = 3
_OPERATORS: Dict[type, Callable[[object, object], bool]] = {
    cst.LessThan: operator.lt, cst.LessThanEqual: operator.le, cst.Equal: operator.eq,
    cst.NotEqual: operator.ne, cst.GreaterThan: operator.gt, cst.GreaterThanEqual: operator.ge,
}
# The operator that asks the same with its sides swapped (``3 > v`` is ``v < 3``).
_SWAPPED = {
    cst.LessThan: cst.GreaterThan, cst.GreaterThan: cst.LessThan, cst.LessThanEqual: cst.GreaterThanEqual,
    cst.GreaterThanEqual: cst.LessThanEqual, cst.Equal: cst.Equal, cst.NotEqual: cst.NotEqual,
}


def version_truth(ctx: "ModuleContext", test: cst.BaseExpression) -> Optional[bool]:
    """The value of ``test`` on every Python 3, or None when it is no version test."""
    return _truth(ctx, test, _constants(ctx))


def _truth(ctx: "ModuleContext", test: cst.BaseExpression, constants: Dict[str, bool]) -> Optional[bool]:
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        inner = _truth(ctx, test.expression, constants)
        return None if inner is None else not inner
    if isinstance(test, cst.Name) and _local_of_the_scope(ctx, test.value):
        return None  # a parameter or local of the function shadows the module's name
    if isinstance(test, cst.Name) and test.value in constants:
        return constants[test.value]
    if isinstance(test, (cst.Name, cst.Attribute)):
        flags = version_knowledge()
        resolved = ctx.resolve(test) or ""
        if resolved in flags["flags.python2"]:
            return False
        if resolved in flags["flags.python3"]:
            return True
        return None
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        compared = test.comparisons[0]
        kind = type(compared.operator)
        if kind not in _OPERATORS:
            return None
        answer = _compare(ctx, test.left, kind, compared.comparator)
        if answer is None:
            answer = _compare(ctx, compared.comparator, _SWAPPED[kind], test.left)
        return answer
    return None


def _local_of_the_scope(ctx: "ModuleContext", name: str) -> bool:
    scope = ctx.scope
    if scope is None or scope.is_module:
        return False
    known = vars(ctx).setdefault("python_version_locals", {})
    names = known.get(id(scope.node))
    if names is None:
        parameters = getattr(scope.node, "params", None)
        names = known[id(scope.node)] = frozenset(
            found.value  # type: ignore[attr-defined]
            for statement in scope.body
            for found, ancestors in find(statement, (cst.Name,))
            if _binds(found, ancestors)  # type: ignore[arg-type]
        ) | frozenset(param.name.value for param, _ in (find(parameters, (cst.Param,)) if parameters is not None else ()))  # type: ignore[attr-defined]
    return name in names


def _compare(ctx: "ModuleContext", left: cst.BaseExpression, kind: type, right: cst.BaseExpression) -> Optional[bool]:
    """``left`` is the running version (or its major), ``right`` what it is compared with."""
    if _is_major(ctx, left) and isinstance(right, cst.Integer):
        return _OPERATORS[kind](_RUNNING_MAJOR, int(right.evaluated_value))
    if _is_version_tuple(ctx, left):
        wanted = _integer_tuple(right)
        if not wanted:
            return None
        if wanted[0] != _RUNNING_MAJOR:
            return _OPERATORS[kind](_RUNNING_MAJOR, wanted[0])
        if any(wanted[1:]):
            return None  # ``(3, 8)``: depends on the minor version
        return _OPERATORS[kind](1, 0)  # every 3.x is past ``(3,)`` / ``(3, 0)`` / ``(3, 0, 0)``
    return None


def _is_version_tuple(ctx: "ModuleContext", node: cst.BaseExpression) -> bool:
    return isinstance(node, (cst.Name, cst.Attribute)) and (ctx.resolve(node) or "") in version_knowledge()["version_info.tuples"]


def _is_major(ctx: "ModuleContext", node: cst.BaseExpression) -> bool:
    """``sys.version_info[0]`` or ``sys.version_info.major``."""
    if isinstance(node, cst.Attribute) and node.attr.value == "major":
        return _is_version_tuple(ctx, node.value)
    if isinstance(node, cst.Subscript) and len(node.slice) == 1:
        index = node.slice[0].slice
        if isinstance(index, cst.Index) and isinstance(index.value, cst.Integer) and index.value.value == "0":
            return _is_version_tuple(ctx, node.value)
    return False


def _integer_tuple(node: cst.BaseExpression) -> Tuple[int, ...]:
    if not isinstance(node, cst.Tuple) or not node.elements:
        return ()
    values = []
    for element in node.elements:
        if not isinstance(element, cst.Element) or not isinstance(element.value, cst.Integer):
            return ()
        values.append(int(element.value.evaluated_value))
    return tuple(values)


def _constants(ctx: "ModuleContext") -> Dict[str, bool]:
    """Module names bound once, by a plain top-level assignment, to a version test."""
    known = vars(ctx).get("python_version_constants")
    if known is None:
        known = vars(ctx)["python_version_constants"] = _read_constants(ctx)
    return known


def _read_constants(ctx: "ModuleContext") -> Dict[str, bool]:
    """The version constants of the module. The walk that counts every binding of the module
    runs only once a top-level assignment is a version test (in most modules none is):
    ``_truth`` reads nothing but the test and what it caches, so asking it first gives the
    same constants."""
    module = ctx.module
    counted: Optional[Tuple[Dict[str, int], Set[str]]] = None
    constants: Dict[str, bool] = {}
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if not (isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name)):
                continue
            name = small.targets[0].target.value
            value = _truth(ctx, small.value, constants)
            if value is None:
                continue
            if counted is None:
                counted = _module_bindings(module)
            bindings, declared = counted
            if bindings.get(name) != 1 or name in declared:
                continue
            constants[name] = value
    return constants


def _module_bindings(module: cst.Module) -> Tuple[Dict[str, int], Set[str]]:
    """How often the module binds each name (anywhere), and the names of its ``global`` statements."""
    bindings: Dict[str, int] = {}
    for found, ancestors in find(module, (cst.Name, cst.FunctionDef, cst.ClassDef)):
        if isinstance(found, (cst.FunctionDef, cst.ClassDef)):
            bindings[found.name.value] = bindings.get(found.name.value, 0) + 1
        elif _binds(found, ancestors):  # type: ignore[arg-type]
            bindings[found.value] = bindings.get(found.value, 0) + 1  # type: ignore[attr-defined]
    declared = {item.name.value for node, _ in find(module, (cst.Global,), stop=()) for item in node.names}  # type: ignore[attr-defined]
    return bindings, declared


def _binds(found: cst.Name, ancestors: Tuple[cst.CSTNode, ...]) -> bool:
    """Whether this occurrence of a name binds it (an assignment, loop, ``as``, ``def``, import)."""
    for ancestor in reversed(ancestors):
        if isinstance(ancestor, (cst.Tuple, cst.List, cst.StarredElement, cst.Element)):
            continue
        if isinstance(ancestor, (cst.AssignTarget, cst.AnnAssign, cst.AugAssign, cst.For, cst.CompFor, cst.NamedExpr, cst.Del)):
            return ancestor.target is not None and any(n is found for n, _ in find(ancestor.target, (cst.Name,), stop=()))
        if isinstance(ancestor, cst.AsName):
            return ancestor.name is found
        if isinstance(ancestor, cst.ImportAlias):
            return ancestor.asname is None and isinstance(ancestor.name, cst.Name) and ancestor.name is found
        return False
    return False

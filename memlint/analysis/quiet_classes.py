"""Constructor calls that cannot raise, for MEM003's raise model (``raises.py``).

``parser = UnhosedConfigParser()`` between opening a file and the ``try`` that closes it is
no exception path when the class (of this module, or of another project module as the
project index reports it) only stores what it is given: the judge is
``project_quiet.constructor_cannot_raise``, run here on the module's own classes. A call of
a parameter whose default is such a class (``formatter=ColorFormatter`` then
``formatter(fmt)``) is judged as a call of its default.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Dict, Optional, Set, Tuple, Union

import libcst as cst

from memlint.analysis.declared_types import declared_class
from memlint.analysis.names import dotted
from memlint.analysis.project_quiet import constructor_cannot_raise, dotted_name
from memlint.analysis.resources import KNOWLEDGE
from memlint.analysis.walk import find

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ModuleContext


def quiet_constructor_call(ctx: "ModuleContext", func: cst.BaseExpression, call: Optional[cst.Call] = None) -> bool:
    """Whether calling ``func`` builds an object of a project class that cannot raise (with
    ``call``'s constant arguments, of a class of this module: ``LogFormatter(color=False)``)."""
    written = dotted(func)
    if written is None:
        return False
    default = _parameter_default(ctx, written)
    if default is not None:
        written = default
    elif ctx.scope is not None and written.split(".", 1)[0] in ctx.scope.params:
        return False
    verdicts: Dict[str, bool] = vars(ctx).setdefault("quiet_constructors", {})
    if written not in verdicts:
        verdicts[written] = False  # a class that builds itself is taken to raise
        verdicts[written] = _judge(ctx, written)
    if verdicts[written] or call is None:
        return verdicts[written]
    found = _lookup(ctx, written)
    return isinstance(found, tuple) and constructor_cannot_raise(
        lambda name: _lookup(ctx, name), found[0], found[1], arguments=_call_constants(call)
    )


def _call_constants(call: cst.Call) -> Tuple[list, dict, bool]:
    """The truth of ``call``'s constant arguments (``project_quiet.CallConstants``)."""
    positional: list = []
    keywords: dict = {}
    unpacks = False
    for arg in call.args:
        if arg.star:
            unpacks = True
        elif arg.keyword is not None:
            keywords[arg.keyword.value] = _truth(arg.value)
        else:
            positional.append(_truth(arg.value))
    return positional, keywords, unpacks


def _truth(node: cst.BaseExpression) -> Optional[bool]:
    if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
        return node.value == "True"
    if isinstance(node, (cst.Integer, cst.Float)):
        return bool(float(node.value.replace("_", ""))) if not node.value.startswith("0x") else int(node.value, 16) != 0
    if isinstance(node, cst.SimpleString):
        return len(node.evaluated_value) > 0 if isinstance(node.evaluated_value, (str, bytes)) else None
    return None


def quiet_method_of_made_object(ctx: "ModuleContext", func: cst.BaseExpression) -> bool:
    """``reader.start()`` where this function made ``reader = threading.Thread(...)``, or
    ``out.setnchannels(1)`` where it made ``out = wave.open(...)``: a method the knowledge
    data says cannot raise on what that constructor makes (``non_raising_methods_of``, or
    the ``non_raising_own_methods`` of the resource's model)."""
    if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)) or ctx.scope is None:
        return False
    made = _made_in_scope(ctx).get(func.value.value)
    if made is None:
        # ``stop.set()`` of a parameter ``stop: threading.Event``: what the methods named in
        # non_raising_methods_of do holds wherever the object was made (``declared_types``)
        declared = declared_class(ctx, ctx.scope, func.value) if func.value.value not in _made_in_scope(ctx) else None
        return declared is not None and func.attr.value in KNOWLEDGE.non_raising_methods_of.get(declared, ())
    method = func.attr.value
    spec = ctx.table.get(made)
    own = KNOWLEDGE.non_raising_own_methods.get(spec.model, ()) if spec is not None and spec.model else ()
    return method in KNOWLEDGE.non_raising_methods_of.get(made, ()) or method in own or _returns_what_it_holds(
        ctx, made, method
    )


def _returns_what_it_holds(ctx: "ModuleContext", made: str, method: str) -> bool:
    """``body.bytes_read()`` where this function made ``body = _SwiftReader(...)``, a class of
    this module whose ``bytes_read`` is only ``return self._actual_read``: a method whose whole
    body returns an attribute of the object runs nothing that can fail (``memlint.regions``
    keeps such getters of a kept class: ``prefilter.returns_what_it_holds``). Not a
    method the class inherits, wraps in a decorator (a property or a wrapper runs instead) or
    that reads an attribute the class computes (a method or property of that name), nor a
    class that intercepts attribute reads (``__getattr__``/``__getattribute__``)."""
    info = ctx.classes.get(made)
    if info is None or "." in made or any(base != "object" for base in info.bases):
        return False
    if "__getattribute__" in info.methods or "__getattr__" in info.methods:
        return False
    function = info.methods.get(method)
    if function is None or function.decorators or isinstance(function.asynchronous, cst.Asynchronous):
        return False
    body = function.body
    statements = list(body.body) if isinstance(body, cst.IndentedBlock) else [body]
    if statements and _is_docstring(statements[0]):
        statements = statements[1:]
    if len(statements) != 1 or not isinstance(statements[0], cst.SimpleStatementLine):
        return False
    line = statements[0].body
    if len(line) != 1 or not isinstance(line[0], cst.Return):
        return False
    value = line[0].value
    return (
        isinstance(value, cst.Attribute) and isinstance(value.value, cst.Name) and value.value.value == "self"
        and value.attr.value not in info.methods and value.attr.value not in _computed_class_attributes(info.node)
    )


def _computed_class_attributes(node: cst.ClassDef) -> set:
    """Names the class body binds to a call (``size = property(_get_size)``)."""
    names = set()
    for statement in node.body.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, (cst.Assign, cst.AnnAssign)) and isinstance(small.value, cst.Call):
                    targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                    names.update(t.value for t in targets if isinstance(t, cst.Name))
    return names


def _is_docstring(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr) and isinstance(statement.body[0].value, cst.SimpleString)
    )


def made_from_resource(ctx: "ModuleContext", name: str, held_names: "Set[str]") -> bool:
    """``cursor`` of ``cursor = connection.cursor()`` while following ``connection``: the
    scope binds the name only to what a method of the resource returned (its cursor, a
    channel), so what that object does is the resource's own work."""
    if ctx.scope is None:
        return False
    maker = _made_in_scope(ctx).get(name)
    if maker is None:
        return False
    if maker.startswith("<local>."):
        maker = maker[len("<local>."):]
    receiver, _, method = maker.rpartition(".")
    return bool(method) and receiver in held_names


def _made_in_scope(ctx: "ModuleContext") -> Dict[str, Optional[str]]:
    """Local name -> the constructor of the scope that binds it (None: bound otherwise too)."""
    node = ctx.scope.node  # type: ignore[union-attr]
    cache: Dict[int, Dict[str, Optional[str]]] = vars(ctx).setdefault("made_in_scope", {})
    if id(node) not in cache:
        made: Dict[str, Optional[str]] = {}
        for found, _path in find(node, (cst.AssignTarget, cst.AugAssign, cst.For, cst.AsName)):
            target = found.target if not isinstance(found, cst.AsName) else found.name  # type: ignore[union-attr]
            if not isinstance(target, cst.Name):
                continue
            parent = _path[-1] if _path else None
            # ``out = wave.open(...)``, or ``with wave.open(...) as out`` (its own object)
            value = parent.value if isinstance(parent, cst.Assign) else parent.item if isinstance(parent, cst.WithItem) else None
            maker = ctx.resolve(value.func) if isinstance(value, cst.Call) else None
            name = target.value
            made[name] = maker if name not in made or made[name] == maker else None
        cache[id(node)] = made
    return cache[id(node)]


def _judge(ctx: "ModuleContext", written: str) -> bool:
    qualified = ctx.imports.resolve(written)
    if qualified in ctx.project_quiet_classes:
        return True
    found = _lookup(ctx, written)
    return isinstance(found, tuple) and constructor_cannot_raise(lambda name: _lookup(ctx, name), found[0], found[1])


def _lookup(ctx: "ModuleContext", name: str) -> Union[None, bool, Tuple[object, ast.AST]]:
    if ctx.imports.resolve(name) in ctx.project_quiet_classes:
        return True
    info = ctx.classes.get(name)
    if info is None or "." in name:
        return None
    # The class's ``ast`` tree, made once per module: printing the class and parsing it
    # again costs more than judging it (the module's classes never change while it is analysed).
    class_trees: Dict[str, Optional[ast.ClassDef]] = vars(ctx).setdefault("quiet_class_trees", {})
    if name not in class_trees:
        class_trees[name] = _class_tree(ctx, info.node)
    node = class_trees[name]
    if node is None:
        return None
    return (lambda expr: _qualify(ctx, expr)), node


def _class_tree(ctx: "ModuleContext", class_node: cst.ClassDef) -> Optional[ast.ClassDef]:
    try:
        node = ast.parse(ctx.module.code_for_node(class_node).strip()).body[0]
    except (SyntaxError, ValueError, IndexError, RecursionError):
        return None
    if not isinstance(node, ast.ClassDef) or _may_be_left_out(node):
        return None
    return node


def _may_be_left_out(node: ast.ClassDef) -> bool:
    """A bare ``pass`` in the class or as a dunder method's whole body: what ``memlint.
    regions`` puts in place of members it did not parse, so what building the class runs is
    unknown here (the regions keep a named class's dunders and class-level statements;
    other methods may be stubs, and building an instance does not run them)."""
    for item in node.body:
        if isinstance(item, ast.Pass):
            return True
        if (
            isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
            and item.name.startswith("__") and item.name.endswith("__")
            and len(item.body) == 1 and isinstance(item.body[0], ast.Pass)
        ):
            return True
    return False


def _qualify(ctx: "ModuleContext", expr: ast.AST) -> Optional[str]:
    written = dotted_name(expr)
    return ctx.imports.resolve(written) if written is not None else None


def _parameter_default(ctx: "ModuleContext", written: str) -> Optional[str]:
    """``formatter`` of ``def setup(..., formatter=ColorFormatter)``: the default's name."""
    function = ctx.scope.node if ctx.scope is not None else None
    if not isinstance(function, cst.FunctionDef):
        return None
    for param in list(function.params.params) + list(function.params.kwonly_params):
        if param.name.value == written and param.default is not None:
            return dotted(param.default)
    return None

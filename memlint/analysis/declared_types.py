"""The class a receiver is declared to be, from the annotations of the code around it.

A method model matched by its name alone (``receiver = "any"``: ``x.makefile("r")`` is
taken for ``socket.makefile``) describes the standard library's object. When the receiver
is declared to be some other class, the call is that class's method: execnet's
``proxy_channel: Channel`` then ``proxy_channel.makefile("r")`` builds a ``ChannelFileRead``
over the channel, not a file over a socket's descriptor. The declaration is read from:

- a parameter of the function with an annotation, not rebound in the function;
- ``self.<attr>`` when every assignment of that attribute in the class's methods stores a
  parameter of that method annotated with the same class.

``Optional[C]``, ``C | None`` and a string annotation ``"C"`` declare ``C``. Anything else
(no annotation, a union of two classes, a rebinding) declares nothing.
"""

from __future__ import annotations

from typing import Any, List, Optional

import libcst as cst

from memlint.analysis.facts import ModuleContext, Scope
from memlint.analysis.names import dotted
from memlint.analysis.walk import find


def declared_class(ctx: ModuleContext, scope: Scope, receiver: cst.BaseExpression) -> Optional[str]:
    """The qualified name of the class ``receiver`` is declared to be, if the code says."""
    if isinstance(receiver, cst.Name) and isinstance(scope.node, cst.FunctionDef):
        return _parameter_class(ctx, scope.node, receiver.value)
    if (
        isinstance(receiver, cst.Attribute)
        and isinstance(receiver.value, cst.Name)
        and receiver.value.value == "self"
        and scope.class_info is not None
    ):
        return _attribute_class(ctx, scope.class_info.node, receiver.attr.value)
    return None


def parameter_annotation(function: cst.FunctionDef, name: str) -> Optional[cst.BaseExpression]:
    """The annotation of ``function``'s named parameter (positional or keyword-only), if any."""
    params = function.params
    for param in list(params.posonly_params) + list(params.params) + list(params.kwonly_params):
        if param.name.value == name and param.annotation is not None:
            return param.annotation.annotation
    return None


def _parameter_class(ctx: ModuleContext, function: cst.FunctionDef, name: str) -> Optional[str]:
    annotation = parameter_annotation(function, name)
    if annotation is None or _rebound(function, name):
        return None
    return _annotation_class(ctx, annotation)


def _attribute_class(ctx: ModuleContext, node: cst.ClassDef, attr: str) -> Optional[str]:
    found: List[Optional[str]] = []
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    methods = [statement for statement in body if isinstance(statement, cst.FunctionDef)]
    if any(not isinstance(s, (cst.FunctionDef, cst.SimpleStatementLine, cst.ClassDef)) for s in body):
        return None  # a method defined under a condition: not read here
    pairs = [(assign, method) for method in methods for assign, _path in find(method.body, (cst.Assign, cst.AnnAssign, cst.AugAssign))]
    for assign, method in pairs:
        targets = [t.target for t in assign.targets] if isinstance(assign, cst.Assign) else [assign.target]  # type: ignore[union-attr]
        if not any(
            isinstance(t, cst.Attribute) and isinstance(t.value, cst.Name) and t.value.value == "self" and t.attr.value == attr
            for t in targets
        ):
            continue
        value = getattr(assign, "value", None)
        if not isinstance(value, cst.Name) or isinstance(assign, cst.AugAssign):
            return None
        found.append(_parameter_class(ctx, method, value.value))
    if not found or any(cls is None for cls in found) or len(set(found)) != 1:
        return None
    return found[0]


def _annotation_class(ctx: ModuleContext, annotation: cst.BaseExpression) -> Optional[str]:
    if isinstance(annotation, cst.SimpleString):
        text = annotation.evaluated_value
        if not isinstance(text, str):
            return None
        try:
            annotation = cst.parse_expression(text)
        except cst.ParserSyntaxError:
            return None
    if isinstance(annotation, cst.Subscript) and dotted(annotation.value) in ("Optional", "typing.Optional"):
        elements = annotation.slice
        if len(elements) != 1 or not isinstance(elements[0].slice, cst.Index):
            return None
        return _annotation_class(ctx, elements[0].slice.value)
    if isinstance(annotation, cst.BinaryOperation) and isinstance(annotation.operator, cst.BitOr):
        if dotted(annotation.right) == "None":
            return _annotation_class(ctx, annotation.left)
        if dotted(annotation.left) == "None":
            return _annotation_class(ctx, annotation.right)
        return None
    if isinstance(annotation, (cst.Name, cst.Attribute)):
        return ctx.resolve(annotation) or dotted(annotation)
    return None


def _rebound(function: cst.FunctionDef, name: str) -> bool:
    for node, _path in find(function.body, (cst.AssignTarget, cst.AnnAssign, cst.AugAssign, cst.For, cst.AsName, cst.NamedExpr)):
        target = node.name if isinstance(node, cst.AsName) else node.target  # type: ignore[attr-defined]
        if any(isinstance(n, cst.Name) and n.value == name for n, _p in find(target, (cst.Name,))) or (
            isinstance(target, cst.Name) and target.value == name
        ):
            return True
    return False


def receiver_is_another_class(ctx: ModuleContext, scope: Scope, model: Any, receiver: cst.BaseExpression) -> bool:
    """Whether a method model matched by name (``makefile``) does not apply to ``receiver``:
    it is declared as a class that is none of the model's ``receiver_classes``, not a known
    resource class (the knowledge's, or a project class the index summarised), and not a
    class of this module built on one."""
    if not model.receiver_classes:
        return False
    declared = declared_class(ctx, scope, receiver)
    if declared is None or declared in model.receiver_classes or declared in ctx.table:
        return False
    if declared.split(".", 1)[0] in {name.split(".", 1)[0] for name in model.receiver_classes}:
        return False  # another class of the socket or ssl module: taken as theirs
    info = ctx.classes.get(declared.rsplit(".", 1)[-1]) if declared.count(".") <= 1 else None
    local = getattr(info, "node", None)
    if isinstance(local, cst.ClassDef):
        return not any((ctx.resolve(base.value) or "") in set(model.receiver_classes) | set(ctx.table) for base in local.bases) and not any(
            (ctx.resolve(base.value) or "").split(".", 1)[0] in ("socket", "ssl") for base in local.bases
        )
    return True

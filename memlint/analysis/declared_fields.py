"""Classes that store their constructor's arguments without an ``__init__`` of their own.

``@dataclass class Profile: path: Path`` (also ``@dataclasses.dataclass(...)``, attrs'
``@attr.s(auto_attribs=True)`` / ``@define`` / ``@frozen``) and ``class Row(NamedTuple)``
generate an ``__init__`` (a ``__new__``) that keeps every declared field on the instance:
``Profile(path=tmp)`` holds ``tmp`` as surely as an ``__init__`` doing ``self.path = path``.
The fields are the annotated names of the class body, in order; a ``ClassVar`` is no field.
Positional arguments are matched to fields only when the class has no base that could add
fields before its own (a plain class, or ``NamedTuple`` itself).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional

import libcst as cst

from memlint.analysis.names import block_of, dotted

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ModuleContext

# Decorators (as the imports resolve them, called or not) that generate a storing ``__init__``.
_GENERATING_DECORATORS = frozenset((
    "dataclasses.dataclass", "attr.s", "attr.attrs", "attr.define", "attr.frozen", "attr.mutable",
    "attr.dataclass", "attrs.define", "attrs.frozen", "attrs.mutable",
))
_NAMED_TUPLE_BASES = frozenset(("typing.NamedTuple", "typing_extensions.NamedTuple"))


def declared_fields(ctx: "ModuleContext", node: cst.ClassDef) -> Optional[List[str]]:
    """The fields a generated constructor stores, in order; None when the class generates no
    constructor (or writes its own ``__init__``)."""
    if any(isinstance(s, cst.FunctionDef) and s.name.value in ("__init__", "__new__") for s in block_of(node.body)):
        return None
    if not (_generates_init(ctx, node) or any(_resolved(ctx, base.value) in _NAMED_TUPLE_BASES for base in node.bases)):
        return None
    fields = []
    for statement in block_of(node.body):
        if type(statement) is not cst.SimpleStatementLine:
            continue  # a method, a nested class, an ``if``: no field of the generated constructor
        for small in statement.body:
            if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                annotation = dotted(_outer(small.annotation.annotation)) or ""
                if annotation.rsplit(".", 1)[-1] != "ClassVar":
                    fields.append(small.target.value)
    return fields


def positional_fields_known(ctx: "ModuleContext", node: cst.ClassDef) -> bool:
    """Whether positional arguments bind the class's own fields in order (no base adds any)."""
    return all(_resolved(ctx, base.value) in _NAMED_TUPLE_BASES | {"object"} for base in node.bases)


def _resolved(ctx: "ModuleContext", node: cst.BaseExpression) -> str:
    return ctx.resolve(node) or dotted(node) or ""


def _generates_init(ctx: "ModuleContext", node: cst.ClassDef) -> bool:
    for decorator in node.decorators:
        target = decorator.decorator
        if isinstance(target, cst.Call):
            if any(arg.keyword is not None and arg.keyword.value == "init" and dotted(arg.value) == "False" for arg in target.args):
                return False
            target = target.func
        if _resolved(ctx, target) in _GENERATING_DECORATORS:
            return True
    return False


def _outer(annotation: cst.BaseExpression) -> cst.BaseExpression:
    """``ClassVar`` of ``ClassVar[int]``."""
    return annotation.value if isinstance(annotation, cst.Subscript) else annotation

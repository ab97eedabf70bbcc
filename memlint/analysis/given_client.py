"""Who owns the HTTP client or pool an object is built on (``not_when_keyword_given``).

``AsyncOpenAI(http_client=client)``: the SDK client sends through ``client``. When the
model says its release closes that given client too (``closes_given_client``: the openai /
anthropic / groq base client's ``close()`` closes its ``_client`` whoever made it), the
given client's origin decides who owns the pair: one made fresh in the same function
(``client = httpx.AsyncClient()``) belongs to the SDK client alone, which is then the owner;
one an attribute of ``self`` that the class makes (``self._http_client = httpx.AsyncClient()``)
is the object's, released with it."""
from __future__ import annotations

from typing import Set

import libcst as cst

from memlint.analysis.facts import ModuleContext, Scope


def _acquiring_call(ctx: ModuleContext, value: cst.BaseExpression) -> bool:
    if isinstance(value, cst.Await):
        value = value.expression
    return isinstance(value, cst.Call) and (ctx.resolve(value.func) or "") in ctx.table


class _Assigned(cst.CSTVisitor):
    """Targets (``name`` or ``self.name``) assigned from a call that acquires something."""

    def __init__(self, ctx: ModuleContext, of_self: bool) -> None:
        self.ctx = ctx
        self.of_self = of_self
        self.names: Set[str] = set()
        # Local names bound to anything but a call (``x if c else None``, a constant, ...).
        self.not_calls: Set[str] = set()
        self.bound: Set[str] = set()

    def _target(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self.bound.add(target.value)
            inner = value.expression if isinstance(value, cst.Await) else value
            if not isinstance(inner, cst.Call):
                self.not_calls.add(target.value)
        if not _acquiring_call(self.ctx, value):
            return
        if not self.of_self and isinstance(target, cst.Name):
            self.names.add(target.value)
        if (self.of_self and isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name)
                and target.value.value == "self"):
            self.names.add(target.attr.value)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._target(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._target(node.target, node.value)


def bound_only_to_calls(ctx: ModuleContext, scope: Scope, name: str) -> bool:
    """Every binding of local ``name`` in the scope is a call (``get_shared_http_client()``),
    none a value that may be None (``make() if endpoint else None``)."""
    visitor = _Assigned(ctx, of_self=False)
    scope.node.visit(visitor)
    return name in visitor.bound and name not in visitor.not_calls and name not in visitor.names


def made_by_its_class(ctx: ModuleContext, scope: Scope, value: cst.BaseExpression) -> bool:
    """``self.attr`` where some method of the class assigns ``self.attr`` an acquisition."""
    if not (isinstance(value, cst.Attribute) and isinstance(value.value, cst.Name) and value.value.value == "self"):
        return False
    if scope.class_info is None:
        return False
    visitor = _Assigned(ctx, of_self=True)
    scope.class_info.node.visit(visitor)
    return value.attr.value in visitor.names

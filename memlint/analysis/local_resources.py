"""Stage 3, module-local resources: functions that return a fresh resource (factories)
and classes that own one and are context managers themselves (resource classes).

Calls to either then count as acquisitions (``classify.acquisition_spec``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Dict, List, Optional, Set

import libcst as cst

from memlint.analysis.classify import acquisition_spec
from memlint.analysis.facts import (
    CONTEXT_MANAGER_DECORATORS,
    SMALL_CONTAINER_TYPES,
    SMALL_CONTAINERS,
    ModuleContext,
    Scope,
    declared_global,
    decorator_names,
    is_generator,
)
from memlint.analysis.enabling_parameters import enabling_parameter
from memlint.analysis.lazy_classes import lazy_methods
from memlint.analysis.names import block_of, dotted, iter_statements, self_attribute
from memlint.analysis.optional_acquisitions import guarding_parameter
from memlint.analysis.resources import (
    ANY_RELEASE_METHODS,
    CLASS_RELEASE_METHODS,
    CLEANUP_REGISTRATIONS,
    KEEPING_METHODS,
    SUBCLASS_BASES,
    ResourceSpec,
)
from memlint.analysis.switched_returns import resource_returns
from memlint.analysis.walk import SCOPES, find


# A property hands out what the object keeps; a cached function hands every caller the same
# object, kept for the life of the process (``@lru_cache(maxsize=1) def _executor()``).
_NOT_FRESH_DECORATORS = frozenset(
    {"property", "functools.cached_property", "functools.lru_cache", "functools.cache", "lru_cache", "cache"}
)


def find_factories(ctx: ModuleContext, scopes: List[Scope]) -> None:
    """Functions and methods that return a fresh resource they created count as creating one."""
    for scope in scopes:
        if scope.class_info is not None:
            _stored_factories(ctx, scope)
    for _round in range(2):
        if _round and not (ctx.factories or any(info.factories for info in ctx.classes.values())):
            break  # a factory of factories needs a factory to begin with
        for scope in scopes:
            function = scope.node
            if not isinstance(function, cst.FunctionDef):
                continue
            spec = _returned_resource(ctx, scope)
            if spec is None or is_generator(function):
                continue
            if decorator_names(ctx, function) & (CONTEXT_MANAGER_DECORATORS | _NOT_FRESH_DECORATORS):
                continue
            name = function.name.value
            spec = _with_switch(ctx, scope, function, spec)
            if scope.class_info is not None:
                scope.class_info.factories.setdefault(name, spec)
            elif name not in ctx.factories:
                ctx.factories[name] = _with_guard(ctx, scope, function, spec)


def _with_guard(ctx: ModuleContext, scope: Scope, function: cst.FunctionDef, spec: ResourceSpec) -> ResourceSpec:
    """The factory's spec, with the parameter that, given, makes it acquire nothing."""
    acquiring = []
    for call, _ in find(function.body, (cst.Call,)):
        made = acquisition_spec(ctx, call, scope)  # type: ignore[arg-type]
        if made is not None and (made == spec or any(part == spec for _, part in made.parts)):
            acquiring.append(call)  # what the factory returns is made here
    guard = guarding_parameter(function, acquiring)  # type: ignore[arg-type]
    return replace(spec, not_when_given=guard) if guard is not None else spec


def _with_switch(ctx: ModuleContext, scope: Scope, function: cst.FunctionDef, spec: ResourceSpec) -> ResourceSpec:
    """The factory's spec, with the parameter that must be turned on for it to acquire
    (``enabling_parameters``): every call in it that acquires anything sits under that test."""
    acquiring = [call for call, _ in find(function.body, (cst.Call,)) if acquisition_spec(ctx, call, scope) is not None]  # type: ignore[arg-type]
    is_method = scope.class_info is not None and not _static(ctx, function)
    switch = enabling_parameter(function, acquiring, is_method=is_method)  # type: ignore[arg-type]
    if switch is None:  # made on every call, but handed back only under the switch
        switch = enabling_parameter(function, resource_returns(ctx, scope, function), is_method=is_method)
    return replace(spec, only_when_given=switch) if switch is not None else spec


def _static(ctx: ModuleContext, function: cst.FunctionDef) -> bool:
    return bool(decorator_names(ctx, function) & {"staticmethod"})


def _stored_factories(ctx: ModuleContext, scope: Scope) -> None:
    """``self._make = lambda: HTTPConnection(host)``: calling ``self._make()`` acquires."""
    assert scope.class_info is not None
    for statement in iter_statements(list(scope.body), into_functions=False):
        if type(statement) not in SMALL_CONTAINER_TYPES:
            continue
        for small in statement.body:
            if not (type(small) is cst.Assign and len(small.targets) == 1 and isinstance(small.value, cst.Lambda)):
                continue
            attr = self_attribute(small.targets[0].target)
            made = small.value.body
            if attr and isinstance(made, cst.Call):
                spec = acquisition_spec(ctx, made, scope)
                if spec is not None and not spec.parts:
                    scope.class_info.factories.setdefault(attr, spec)


def _returned_resource(ctx: ModuleContext, scope: Scope) -> Optional[ResourceSpec]:
    bound: Dict[str, ResourceSpec] = {}
    kept: Set[str] = set()
    function = scope.node
    for statement in iter_statements(list(scope.body), into_functions=False):
        if type(statement) not in SMALL_CONTAINER_TYPES:
            continue
        for small in statement.body:
            # Each of the three asks about a resource bound here: none yet, none of them holds.
            if bound and (
                _keeps_bound_value(small, bound) or _appends_bound_value(small, bound, scope) or _registers_cleanup_of(ctx, small, bound)
            ):
                # ``self._clients[key] = client; return client``: a cached object, not a fresh one.
                return None
            small_type = type(small)  # ``type() is``: see SMALL_CONTAINER_TYPES
            if small_type is cst.Assign and _chained_store(small):
                # ``sock = self.socket = self.bind_socket(sock)``: what the name holds from here
                # on is kept on ``self`` too; returning it hands out the object's own socket.
                for target in small.targets:  # type: ignore[attr-defined]
                    if isinstance(target.target, cst.Name):
                        bound.pop(target.target.value, None)
                        kept.add(target.target.value)
                continue
            if small_type is cst.Assign and len(small.targets) == 1:  # type: ignore[attr-defined]
                target = small.targets[0].target
                value = small.value.expression if isinstance(small.value, cst.Await) else small.value
                if not isinstance(value, cst.Call):
                    continue
                spec = acquisition_spec(ctx, value, scope)
                if spec is None:
                    continue
                if isinstance(target, cst.Name) and not spec.parts:
                    if not (isinstance(function, cst.FunctionDef) and declared_global(function, target.value)):
                        bound[target.value] = spec
                elif isinstance(target, cst.Tuple) and spec.parts:
                    for position, part in spec.parts:
                        if position < len(target.elements):
                            element = target.elements[position].value
                            if isinstance(element, cst.Name):
                                bound[element.value] = part
            elif small_type is cst.Return and small.value is not None:  # type: ignore[attr-defined]
                value = small.value.expression if isinstance(small.value, cst.Await) else small.value
                if isinstance(value, cst.Tuple):
                    tupled = _returned_tuple(ctx, scope, value, bound)
                    if tupled is not None:
                        return tupled
                elif isinstance(value, cst.Call):
                    spec = acquisition_spec(ctx, value, scope)
                    if spec is not None and not spec.parts:
                        return spec
                elif isinstance(value, cst.Name) and value.value in bound:
                    return bound[value.value]
                elif isinstance(value, cst.Name) and value.value in kept:
                    return None
    return None


def _chained_store(small: cst.CSTNode) -> bool:
    """``a = self.b = value``: one value bound to a name and stored on an object at once."""
    if not isinstance(small, cst.Assign) or len(small.targets) < 2:
        return False
    return any(isinstance(t.target, (cst.Attribute, cst.Subscript)) for t in small.targets) and any(
        isinstance(t.target, cst.Name) for t in small.targets
    )


def _keeps_bound_value(small: cst.CSTNode, bound: Dict[str, ResourceSpec]) -> bool:
    """``self.x = conn`` or ``cache[key] = conn`` for a resource bound in the function, or the
    pairwise store ``_local.conn, _local.path = conn, target`` (TUNING-NOTES 64.1)."""
    if not isinstance(small, cst.Assign):
        return False
    if isinstance(small.value, cst.Name):
        return small.value.value in bound and any(isinstance(t.target, (cst.Attribute, cst.Subscript)) for t in small.targets)
    if not isinstance(small.value, (cst.Tuple, cst.List)):
        return False
    values = small.value.elements
    for target in small.targets:
        slots = target.target.elements if isinstance(target.target, (cst.Tuple, cst.List)) else ()
        if len(slots) != len(values) or any(isinstance(e, cst.StarredElement) for e in (*slots, *values)):
            continue
        for slot, item in zip(slots, values):
            if isinstance(slot.value, (cst.Attribute, cst.Subscript)) and isinstance(item.value, cst.Name) and item.value.value in bound:
                return True
    return False


def _appends_bound_value(small: cst.CSTNode, bound: Dict[str, ResourceSpec], scope: Scope) -> bool:
    """``self._expanded.append(path)`` or ``_REGISTRY.append(conn)`` for a resource bound in
    the function: a container of the object or of the module keeps it (and its owner
    releases it), so what the function returns is not the caller's alone."""
    if not isinstance(small, cst.Expr) or not isinstance(small.value, cst.Call):
        return False
    func = small.value.func
    if not (isinstance(func, cst.Attribute) and func.attr.value in KEEPING_METHODS):
        return False
    holder = func.value
    if self_attribute(holder) is None and not (isinstance(holder, cst.Name) and _module_level(holder.value, scope)):
        return False
    return any(isinstance(arg.value, cst.Name) and arg.value.value in bound for arg in small.value.args)


def _registers_cleanup_of(ctx: ModuleContext, small: cst.CSTNode, bound: Dict[str, ResourceSpec]) -> bool:
    """``self.addCleanup(rmtree, tmpdir)`` or ``atexit.register(f.close)`` for a resource bound
    in the function: its release is registered to run later (``calls.toml`` [handing-off]
    cleanup_registrations), so what the function returns is no fresh resource of the caller's."""
    if not isinstance(small, cst.Expr) or not isinstance(small.value, cst.Call):
        return False
    func = small.value.func
    last = func.attr.value if isinstance(func, cst.Attribute) else ""
    if last not in CLEANUP_REGISTRATIONS and (ctx.resolve(func) or "") not in CLEANUP_REGISTRATIONS:
        return False
    for arg in small.value.args:
        for name, _ in find(arg.value, (cst.Name,)):
            if name.value in bound:  # type: ignore[attr-defined]
                return True
    return False


def _module_level(name: str, scope: Scope) -> bool:
    """A name the function neither receives nor binds: the module's (or a closure's)."""
    if name in scope.params or scope.is_module:
        return False
    # Statement by statement (a nested def or class binds nothing here): the walks of the
    # scope's own statements are remembered per module (``walk.find``), a block made
    # anew here would be walked again for every name asked.
    for statement in scope.body:
        if isinstance(statement, SCOPES):
            continue
        for target, _ in find(statement, _BINDERS):
            bound = getattr(target, "target", None) or getattr(target, "name", None)
            if isinstance(bound, cst.Name) and bound.value == name:
                return False
    return True


_BINDERS = (cst.AssignTarget, cst.AnnAssign, cst.For, cst.AsName)


def _returned_tuple(
    ctx: ModuleContext, scope: Scope, value: cst.Tuple, bound: Dict[str, ResourceSpec]
) -> Optional[ResourceSpec]:
    """``return buf, len(data)``: a tuple whose items include fresh resources."""
    parts = []
    for position, element in enumerate(value.elements):
        if isinstance(element, cst.StarredElement):
            return None
        item = element.value
        spec: Optional[ResourceSpec] = None
        if isinstance(item, cst.Name):
            spec = bound.get(item.value)
        elif isinstance(item, cst.Call):
            spec = acquisition_spec(ctx, item, scope)
        if spec is not None and not spec.parts:
            parts.append((position, spec))
    if not parts:
        return None
    first = parts[0][1]
    return ResourceSpec(first.kind, parts=tuple(parts), verb=first.verb)


def find_resource_classes(ctx: ModuleContext, scopes: List[Scope]) -> None:
    """Classes of this module that own a resource and are context managers themselves, and
    subclasses of a known resource type (``class TextSocket(socket.socket)``)."""
    _find_resource_subclasses(ctx)
    for name, info in ctx.classes.items():
        if name in ctx.resource_classes:
            continue
        methods = set(info.methods)
        releases = methods & set(CLASS_RELEASE_METHODS)
        if not releases or not ({"__enter__", "__exit__"} <= methods or {"__aenter__", "__aexit__"} <= methods):
            continue
        owns = False
        for method in info.methods.values():
            scope = Scope(method, tuple(block_of(method.body)), info)
            for statement in iter_statements(list(scope.body), into_functions=False):
                if isinstance(statement, SMALL_CONTAINERS):
                    for small in statement.body:
                        if (
                            isinstance(small, cst.Assign)
                            and any(self_attribute(t.target) for t in small.targets)
                            and isinstance(small.value, cst.Call)
                            and acquisition_spec(ctx, small.value, scope) is not None
                        ):
                            owns = True
        if owns:
            ctx.resource_classes[name] = ResourceSpec(
                f"`{name}` object", frozenset((methods & ANY_RELEASE_METHODS) | {"__exit__", "__aexit__"}), long_lived=True,
                held_after=lazy_methods(ctx, info),
            )


def _find_resource_subclasses(ctx: ModuleContext) -> None:
    """``class TextSocket(socket.socket)``: its objects are sockets (and so are those of a
    subclass of it in the same module)."""
    for _round in range(2):
        for name, info in ctx.classes.items():
            if name in ctx.resource_classes:
                continue
            for base in info.node.bases:
                qualified = ctx.resolve(base.value) or dotted(base.value) or ""
                spec = SUBCLASS_BASES.get(qualified) or ctx.resource_classes.get(qualified)
                if spec is not None:
                    ctx.resource_classes[name] = spec
                    break

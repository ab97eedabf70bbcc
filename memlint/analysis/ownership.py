"""Stage 5, ownership: which methods of a class release what it keeps on ``self``, what a
module-local callee does with the argument it is given, and the ``OwnerClass`` facts.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Dict, FrozenSet, List, Optional, Sequence, Set, Tuple

import libcst as cst

from memlint.analysis.abstract_owners import released_by_implementations
from memlint.analysis.attribute_aliases import self_attrs_held_by
from memlint.analysis.closed_with_receiver import receiver_attribute
from memlint.analysis.facts import SMALL_CONTAINERS, ClassInfo, ModuleContext, Scope, last_name
from memlint.analysis.flow import Tracker
from memlint.analysis.holder_releases import released_by_holders
from memlint.analysis.idle_attributes import never_given_work
from memlint.analysis.own_releases import own_release_callers
from memlint.analysis.model import Acquisition, OwnedResource, OwnerClass
from memlint.analysis.names import block_of, dotted, is_binding_target, iter_statements, self_attribute
from memlint.analysis.property_setters import project_setters_of
from memlint.analysis.property_stores import class_defines, getter_properties, plain_setters_cst
from memlint.analysis.resources import (
    ANY_RELEASE_FUNCS,
    ANY_RELEASE_METHODS,
    BORROWER_PREFIXES,
    BORROWERS,
    HANDOFF_CALLS,
    HANDOFF_METHODS,
    INHERITED_RELEASES,
)
from memlint.analysis.walk import find

# Bases that bring no ``__enter__``/``__exit__`` of their own.
HARMLESS_BASES = frozenset({"object", "ABC", "abc.ABC", "Generic", "typing.Generic", "Protocol", "typing.Protocol"})

# ``pool.closeall()``, ``conn.close_connection()``, ``lock.release_all()``: a method named for
# closing or releasing releases what it is called on, whatever kind of object that is.
RELEASE_PREFIXES = ("close", "release")

# ``__del__`` runs when (and if) the garbage collector gets to it: no release one can count on.
NOT_RELEASERS = frozenset({"__del__"})


def releasers_of(
    ctx: ModuleContext, class_name: Optional[str], attr: str, below: Tuple["ClassInfo", ...] = ()
) -> Set[str]:
    """The methods of ``class_name`` (or of its bases in the module) that release ``self.attr``.
    ``below``: the module's subclasses the search came through."""
    info = ctx.classes.get(class_name or "")
    if info is None:
        return set()
    find_releasers(ctx, info)
    found: Set[str] = set(info.releasers.get(attr, ()))
    for prop in property_names_of(info, attr):
        found |= info.releasers.get(prop, set())  # ``self.driver.quit()``, ``driver`` returning ``self._driver``
    stored = _stored_through_setter(ctx, class_name or "", attr) if not below else None
    if stored is not None and stored != attr:
        found |= releasers_of(ctx, class_name, stored)  # ``self.device = sock``, a setter storing ``self._device``
    for base in info.bases:
        if base in ctx.classes and base != class_name:
            found |= releasers_of(ctx, base, attr, below + (info,))
        elif base not in ctx.classes:
            # A base from elsewhere whose own release method closes this attribute
            # (calls.toml [inherited-releases]: HTTPConnection.close() closes self.sock),
            # unless a subclass redefines that method without calling the base's.
            inherited = {
                name: method
                for name, method in _inherited_releases(ctx, base).items()
                if not any(_overrides_without_base_call(sub, method) for sub in below + (info,))
            }
            if attr in inherited:
                found.add(inherited[attr])
            for prop in property_names_of(info, attr) & set(inherited):
                found.add(inherited[prop])  # the base closes ``self.connection``, our property for it
    return found


def _stored_through_setter(ctx: ModuleContext, class_name: str, attr: str) -> Optional[str]:
    """The attribute a plain property setter of the class or of a base (in the module or the
    project) stores ``self.<attr> = value`` in (property_stores.py)."""
    seen: Set[str] = set()
    todo = [class_name]
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.add(name)
        info = ctx.classes.get(name)
        if info is None:
            setters = project_setters_of(ctx).get(ctx.imports.resolve(name) or name, {})
            if attr in setters:
                return setters[attr]
            continue
        if class_defines(info.node, attr):  # the nearest definition wins, plain setter or not
            return plain_setters_cst(info.node).get(attr)
        todo.extend(info.bases)
    return None


def wrapping_methods(ctx: ModuleContext, class_name: Optional[str], attr: str) -> Set[str]:
    """The methods of ``class_name`` (or of its bases in the module) whose only release of
    ``self.attr`` is a wrapper they keep on ``self`` (``ClassInfo.wrapped_on_self``)."""
    found: Set[str] = set()
    defined: Set[str] = set()  # by a subclass already walked: its version is the one that runs
    seen: Set[str] = set()
    todo = [class_name or ""]
    while todo:
        name = todo.pop(0)
        info = ctx.classes.get(name)
        if info is None or name in seen:
            continue
        seen.add(name)
        find_releasers(ctx, info)
        found |= info.wrapped_on_self.get(attr, set()) - defined
        defined |= set(info.methods)
        todo.extend(info.bases)
    return found


def _inherited_releases(ctx: ModuleContext, base: str) -> Dict[str, str]:
    """attribute -> releasing method, for a base class from elsewhere (knowledge or project index)."""
    qualified = ctx.imports.resolve(base) or base
    parts = qualified.split(".")
    # ``from pkg.compat import httplib``: a compatibility alias keeps the last two parts;
    # ``from six.moves.http_client import HTTPConnection``: the module is a re-exported name.
    candidates = [qualified, ".".join(parts[-2:])]
    if len(parts) >= 2 and parts[-2] in ctx.imports.reexports:
        candidates.append(f"{ctx.imports.reexports[parts[-2]]}.{parts[-1]}")
    for candidate in candidates:
        if candidate in INHERITED_RELEASES:
            return INHERITED_RELEASES[candidate]
    return ctx.project_releases.get(qualified, {})  # a project base (project index)


def _overrides_without_base_call(info: "ClassInfo", name: str) -> bool:
    """Whether the class defines ``name`` without calling a base's (``super().close()``,
    ``Base.close(self)``): the base's version of it then no longer runs."""
    method = info.methods.get(name)
    if method is None:
        return False
    for call, _ in find(method.body, (cst.Call,), stop=()):
        func = call.func  # type: ignore[attr-defined]
        if isinstance(func, cst.Attribute) and func.attr.value == name:
            if isinstance(func.value, cst.Call) and dotted(func.value.func) == "super":
                return False
            if dotted(func.value) in info.bases:
                return False
    return True


def property_names_of(info: "ClassInfo", attr: str) -> Set[str]:
    """The class's own ``@property`` methods that return ``self.<attr>``."""
    names = set()
    # From the class body, not ``info.methods``: a ``@name.setter`` takes the getter's name there.
    methods = [(m.name.value, m) for m in block_of(info.node.body) if isinstance(m, cst.FunctionDef)]
    for name, method in methods:
        if not any(isinstance(d.decorator, cst.Name) and d.decorator.value == "property" for d in method.decorators):
            continue
        for found, _path in find(method.body, (cst.Return,)):
            value = found.value  # type: ignore[attr-defined]
            if value is not None and self_attribute(value) == attr:
                names.add(name)
    return names | getter_properties(info.node, attr)  # ``file = property(_get_file, _set_file)``


def parameter_behaviour(ctx: ModuleContext, qualified: str, call: cst.Call, path: Tuple[cst.CSTNode, ...]) -> Optional[str]:
    """"escape" if the module-local callee releases or keeps the argument, "use" if it
    only uses it, None if the callee is not defined here."""
    function: Optional[cst.FunctionDef] = None
    if qualified in ctx.functions:
        function = ctx.functions[qualified]
    elif qualified.startswith("self.") and ctx.scope and ctx.scope.class_info:
        function = ctx.scope.class_info.methods.get(qualified[5:])
    if function is None:
        return None
    arg = path[-1] if path else None
    params = [p.name.value for p in function.params.params]
    if params and params[0] in ("self", "cls") and qualified.startswith("self."):
        params = params[1:]
    param: Optional[str] = None
    if isinstance(arg, cst.Arg):
        if arg.keyword is not None:
            param = arg.keyword.value
        else:
            positional = [a for a in call.args if a.keyword is None]
            index = next((i for i, a in enumerate(positional) if a is arg), -1)
            if 0 <= index < len(params):
                param = params[index]
    if param is None:
        return "escape"
    given = frozenset(a.keyword.value for a in call.args if a.keyword is not None) | frozenset(
        params[: sum(1 for a in call.args if a.keyword is None)]
    )
    if any(a.star for a in call.args):  # ``*args``/``**kwargs`` may pass any parameter
        given = frozenset(p.name.value for p in (*function.params.params, *function.params.kwonly_params))
    key = (id(function), param, given)
    if key not in ctx.param_cache:
        ctx.param_cache[key] = "escape" if _consumes(function, param, ctx, given) else "use"
    return ctx.param_cache[key]


def _consumes(function: cst.FunctionDef, param: str, ctx: ModuleContext, given: FrozenSet[str] = frozenset()) -> bool:
    """True when ``function`` releases, returns or stores its parameter ``param``, under its
    own name or a local name that copies it (``result = file_obj; ...; return result``), hands
    its release method on (``Thread(target=process.wait).start()``), or gives it to a
    hand-off through a parameter the call leaves at its default (``with closer(stream):``
    with ``closer=closing``; ``given``: the parameters the call passes)."""
    names = _copies_of(function, param)
    defaults = _handoff_defaults(function, ctx, given)
    for found, path in find(function.body, (cst.Name,), stop=()):
        if found.value not in names or not path:  # type: ignore[attr-defined]
            continue
        parent = path[-1]
        grand = path[-2] if len(path) > 1 else None
        if isinstance(parent, cst.Attribute) and parent.value is found:
            if parent.attr.value in ANY_RELEASE_METHODS and isinstance(grand, (cst.Call, cst.Arg)):
                return True  # ``process.wait()``, or ``process.wait`` given on to run later
        elif isinstance(parent, (cst.Return, cst.Yield, cst.WithItem, cst.Element, cst.DictElement)):
            return True
        elif any(isinstance(node, (cst.Return, cst.Yield)) for node in path):
            return True  # ``return Wrapper(sock)``: what is returned holds it
        elif isinstance(parent, cst.Assign) and any(not isinstance(t.target, cst.Name) for t in parent.targets):
            return True
        elif isinstance(parent, cst.Arg) and isinstance(grand, cst.Call):
            qualified = ctx.resolve(grand.func) or ""
            last = qualified.rsplit(".", 1)[-1]
            if qualified in ANY_RELEASE_FUNCS or last in HANDOFF_METHODS or qualified in HANDOFF_CALLS:
                return True
            if isinstance(grand.func, cst.Name) and grand.func.value in defaults:
                return True
            if last.lstrip("_")[:1].isupper():
                return True
    return False


def _handoff_defaults(function: cst.FunctionDef, ctx: ModuleContext, given: FrozenSet[str]) -> Set[str]:
    """Parameters the call leaves at a default that is a hand-off (``closer=closing``)."""
    found: Set[str] = set()
    params = function.params
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        if param.default is None or param.name.value in given:
            continue
        default = dotted(param.default)
        if default is not None and (ctx.imports.resolve(default) or default) in HANDOFF_CALLS:
            found.add(param.name.value)
    return found


def _copies_of(function: cst.FunctionDef, param: str) -> Set[str]:
    """``param`` and the local names that can only hold it (``result = file_obj``): an
    assignment copies the reference, so what the function does with such a copy it does with
    the argument. A name counts only when every binding of it in the body is a copy of the
    argument or of another copy, or a constructor given one (``result = io.BufferedWriter(result)``,
    an object that holds the argument); a name bound to anything else at all (a loop target,
    ``x = len(file_obj)``, another value) is not followed."""
    bindings: Dict[str, List[Optional[cst.BaseExpression]]] = defaultdict(list)
    for node, path in find(function.body, (cst.Name,), stop=()):
        if path and is_binding_target(node, path):
            parent = path[-1]  # a whole ``name = value``, or a loop, ``as``, unpacking: not a copy
            whole = isinstance(parent, cst.AssignTarget) and len(path) > 1 and isinstance(path[-2], cst.Assign)
            bindings[node.value].append(path[-2].value if whole else None)  # type: ignore[attr-defined]
    names = {param}
    grew = True
    while grew:
        grew = False
        for name, values in bindings.items():
            # Inductively: a binding built from the name itself (``result = Wrapper(result)``)
            # holds what the name held before it.
            if name in names or not any(value is not None and _holds_one_of(value, names) for value in values):
                continue
            if all(value is not None and _holds_one_of(value, names | {name}) for value in values):
                names.add(name)
                grew = True
    return names


def _holds_one_of(value: cst.BaseExpression, names: Set[str]) -> bool:
    """``value`` is one of ``names``, or a constructor call given one of them."""
    if isinstance(value, cst.Name):
        return value.value in names
    if isinstance(value, cst.Call):
        last = (dotted(value.func) or "").rsplit(".", 1)[-1]
        return last.lstrip("_")[:1].isupper() and any(
            isinstance(arg.value, cst.Name) and arg.value.value in names for arg in value.args
        )
    return False


def _self_attrs_in(node: cst.CSTNode) -> Set[str]:
    found = set()
    if self_attribute(node):
        found.add(self_attribute(node))
    for attribute, _ in find(node, (cst.Attribute,), stop=()):
        name = self_attribute(attribute)
        if name:
            found.add(name)
    for call, _ in find(node, (cst.Call,), stop=()):
        # ``client = getattr(self, "client", None)``: the attribute read defensively.
        args = call.args  # type: ignore[attr-defined]
        if dotted(call.func) == "getattr" and len(args) >= 2 and dotted(args[0].value) == "self":  # type: ignore[attr-defined]
            if isinstance(args[1].value, cst.SimpleString) and isinstance(args[1].value.evaluated_value, str):
                found.add(args[1].value.evaluated_value)
    return found  # type: ignore[return-value]


def find_releasers(ctx: ModuleContext, info: "ClassInfo") -> None:
    """For one class, which methods release (or hand out) what each attribute holds."""
    if info.releasers_known:
        return
    info.releasers_known = True
    if True:
        calls_of: Dict[str, Set[str]] = {}
        getters = _attribute_getters(info)
        for method_name, method in info.methods.items():
            if method_name in NOT_RELEASERS:
                continue
            aliases: Dict[str, Set[str]] = defaultdict(set)
            calls_of[method_name] = set()
            wrapped: Set[str] = set()  # attributes handed only to a wrapper kept on self
            for statement in iter_statements(list(block_of(method.body)), into_functions=True):
                if isinstance(statement, cst.For):
                    attrs = self_attrs_held_by(statement.iter)
                    for name_node, _ in find(statement.target, (cst.Name,)):
                        aliases[name_node.value] |= attrs  # type: ignore[attr-defined]
                elif isinstance(statement, SMALL_CONTAINERS):
                    for small in statement.body:
                        if isinstance(small, cst.Assign):
                            attrs = self_attrs_held_by(small.value) | _named_attrs(small.value, aliases, getters)
                            for target in small.targets:
                                for name_node, _ in find(target.target, (cst.Name,)):
                                    aliases[name_node.value] |= attrs  # type: ignore[attr-defined]
                elif isinstance(statement, cst.With):
                    for item in statement.items:
                        for attr in _entered_attrs(item.item, aliases, getters):
                            info.releasers[attr].add(method_name)

            def attrs_of(expr: cst.CSTNode) -> Set[str]:
                attrs = set(_self_attrs_in(expr)) | _named_attrs(expr, {}, getters)
                for name_node, _ in find(expr, (cst.Name,)):
                    attrs |= aliases.get(name_node.value, set())  # type: ignore[attr-defined]
                return attrs

            for call, call_path in find(method.body, (cst.Call,), stop=()):
                func = call.func  # type: ignore[attr-defined]
                if isinstance(func, cst.Attribute):
                    if isinstance(func.value, cst.Name) and func.value.value == "self":
                        calls_of[method_name].add(func.attr.value)
                    if func.attr.value in ANY_RELEASE_METHODS or func.attr.value.startswith(RELEASE_PREFIXES):
                        for attr in attrs_of(func.value):
                            info.releasers[attr].add(method_name)
                qualified = ctx.resolve(func) or ""
                if qualified in BORROWERS or qualified.startswith(BORROWER_PREFIXES):
                    continue
                for arg in call.args:  # type: ignore[attr-defined]
                    value = arg.value
                    if isinstance(value, cst.Attribute) and value.attr.value in ANY_RELEASE_METHODS:
                        value = value.value
                    if (
                        isinstance(value, cst.Call)
                        and isinstance(value.func, cst.Attribute)
                        and value.func.attr.value in ("pop", "popleft", "popitem")
                    ):
                        # ``shutil.rmtree(self._dirs.pop())``: each item taken out is released.
                        value = value.func.value
                    attr = self_attribute(value)
                    attrs = {attr} if attr else set()
                    if isinstance(value, cst.Name):
                        attrs |= aliases.get(value.value, set())
                    if _result_kept_on_self(call_path):
                        wrapped |= attrs
                        continue
                    for name in attrs:
                        info.releasers[name].add(method_name)
            for name in wrapped:
                if method_name not in info.releasers[name]:  # no other release of it here
                    info.wrapped_on_self.setdefault(name, set()).add(method_name)
                info.releasers[name].add(method_name)
        # A method that calls a releasing method releases too (close() -> self._cleanup()).
        for _round in range(3):
            for attr, releasers in list(info.releasers.items()):
                for method_name, called in calls_of.items():
                    if called & releasers:
                        releasers.add(method_name)


def _result_kept_on_self(path: Sequence[cst.CSTNode]) -> bool:
    """The call (whose ancestors are ``path``) is an argument, at any depth, of a value stored
    only on ``self``: ``self.rfile = Reader(SocketIO(self.connection, "rb"))``."""
    for node in reversed(path):
        if isinstance(node, (cst.Arg, cst.Call)):
            continue
        return isinstance(node, cst.Assign) and all(self_attribute(t.target) is not None for t in node.targets)
    return False


def _attribute_getters(info: "ClassInfo") -> Dict[str, Set[str]]:
    """Methods that hand out one attribute of ``self``: every ``return`` of theirs returns
    ``self.x`` (a lazy ``get_client()`` that builds ``self._client`` on first use). Calling
    one is reading that attribute, so ``self.get_client().close()`` closes ``self._client``."""
    getters: Dict[str, Set[str]] = {}
    for name, method in info.methods.items():
        returned = {self_attribute(node.value) if node.value is not None else None for node, _ in find(method.body, (cst.Return,))}  # type: ignore[attr-defined]
        if len(returned) == 1 and None not in returned:
            getters[name] = returned  # type: ignore[assignment]
    return getters


def _entered_attrs(item: cst.BaseExpression, aliases: Dict[str, Set[str]], getters: Dict[str, Set[str]]) -> Set[str]:
    """The attributes of ``self`` that a ``with`` item ends: the object it enters, named
    directly (``with self.conn:``), defensively (``getattr(self, "conn")``), through a local
    alias or a getter. ``with self.conn.cursor() as cur:`` or ``with open(self.path):``
    enters a new object made from the attribute; leaving it closes that object, not the
    attribute's."""
    if isinstance(item, cst.Await):
        item = item.expression
    direct = self_attribute(item)
    if direct:
        return {direct}
    if isinstance(item, cst.Call) and dotted(item.func) == "getattr" and len(item.args) >= 2:
        named = item.args[1].value
        if dotted(item.args[0].value) == "self" and isinstance(named, cst.SimpleString):
            value = named.evaluated_value
            return {value} if isinstance(value, str) else set()
    return _named_attrs(item, aliases, getters)


def _named_attrs(value: cst.CSTNode, aliases: Dict[str, Set[str]], getters: Dict[str, Set[str]]) -> Set[str]:
    """The attributes of ``self`` that ``value`` is, read through a local alias
    (``client = self._client``), a getter method (``self.get_client()``) or a bound method
    looked up by name (``close = getattr(client, "close", None)``, run later)."""
    if isinstance(value, cst.Await):
        value = value.expression
    if isinstance(value, cst.Call) and dotted(value.func) == "getattr" and len(value.args) >= 2:
        looked_up = value.args[1].value
        if not (isinstance(looked_up, cst.SimpleString) and _is_release_name(looked_up.evaluated_value)):
            return set()  # ``getattr(result, "usage", None)``: some other attribute, no release
        value = value.args[0].value
    if isinstance(value, cst.Name):
        return set(aliases.get(value.value, set()))
    func = value.func if isinstance(value, cst.Call) else None
    if isinstance(func, cst.Attribute) and dotted(func.value) == "self":
        return set(getters.get(func.attr.value, set()))
    return set()


def _is_release_name(name: object) -> bool:
    return isinstance(name, str) and (name in ANY_RELEASE_METHODS or name.startswith(RELEASE_PREFIXES))


def stored_attrs(ctx: ModuleContext, scope: Scope, tracker: Tracker) -> Set[str]:
    """Attributes of ``self`` that a tracked resource was stored in."""
    attrs: Set[str] = set()
    names = set(tracker.names)
    for mention, path in find(ctx.module if scope.is_module else scope.node, (cst.Name,)):
        if mention.value in names and any(isinstance(p, cst.Arg) for p in path[-3:]):  # type: ignore[attr-defined]
            handed = next((p for p in reversed(path) if isinstance(p, cst.Call)), None)
            if handed is not None and (
                last_name(handed.func) not in HANDOFF_METHODS or _finalizer_of_self(ctx, handed)  # type: ignore[attr-defined]
            ):
                # Also handed to something else (``Finalize(self, close_fds, (r, w))``), or
                # registered for release when the object dies (``weakref.finalize(self,
                # remove_tree, path)``): the class is not its only owner.
                return set()
    for statement in iter_statements(list(scope.body), into_functions=False):
        if not isinstance(statement, SMALL_CONTAINERS):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign) and isinstance(small.value, cst.Name) and small.value.value in names:
                for target in small.targets:
                    attr = self_attribute(target.target)
                    if attr:
                        attrs.add(attr)
            elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
                func = small.value.func
                if isinstance(func, cst.Attribute) and func.attr.value in HANDOFF_METHODS:
                    attr = self_attribute(func.value)
                    if attr and any(isinstance(a.value, cst.Name) and a.value.value in names for a in small.value.args):
                        attrs.add(attr)
    return attrs


def _finalizer_of_self(ctx: ModuleContext, call: cst.Call) -> bool:
    """``weakref.finalize(self, ...)``: a release registered for the object's end."""
    first = call.args[0].value if call.args and call.args[0].keyword is None else None
    return (
        (ctx.resolve(call.func) or "") == "weakref.finalize"
        and isinstance(first, cst.Name) and first.value == "self"
    )


def _receiver_releasers(ctx: ModuleContext, class_name: str, acquisition: "Acquisition") -> Set[str]:
    """What releases the attribute the resource was made from, when it ends with it."""
    receiver = receiver_attribute(acquisition)
    return releasers_of(ctx, class_name, receiver) if receiver else set()


def owner_classes(ctx: ModuleContext) -> List[OwnerClass]:
    """One fact per class that keeps a resource on ``self``, in the order of the module."""
    facts = []
    for name, info in ctx.classes.items():
        if not info.owned:
            continue
        owned = tuple(
            OwnedResource(attr, node, acquisition, frozenset(
                releasers_of(ctx, name, attr) or _receiver_releasers(ctx, name, acquisition)
                or own_release_callers(info, attr, acquisition.spec.release)
                or released_by_implementations(ctx, name, attr, releasers_of)
                or released_by_holders(ctx, name, attr)
            ))
            for attr, (node, acquisition) in info.owned.items()
        )
        # A private executor nothing is submitted to holds nothing: no release to ask for (a
        # class that has one still lacks `with`, MEM042's to say).
        owned = tuple(o for o in owned if o.releasing_methods or not never_given_work(ctx, o.attr, o.acquisition))
        if not owned:
            continue
        facts.append(
            OwnerClass(
                name,
                info.node.name,
                owned,
                frozenset(_all_methods(ctx, name)),
                _has_external_base(ctx, name),
                frozenset(_async_methods(ctx, name)),
            )
        )
    return facts


def _all_methods(ctx: ModuleContext, class_name: str, seen: Optional[Set[str]] = None) -> Set[str]:
    seen = seen if seen is not None else set()
    if class_name in seen or class_name not in ctx.classes:
        return set()
    seen.add(class_name)
    info = ctx.classes[class_name]
    methods = set(info.methods)
    for base in info.bases:
        methods |= _all_methods(ctx, base, seen)
    return methods


def _async_methods(ctx: ModuleContext, class_name: str, seen: Optional[Set[str]] = None) -> Set[str]:
    """Methods defined with ``async def`` in the class or the bases it inherits them from in
    the module (a method the class overrides takes the class's own kind)."""
    seen = seen if seen is not None else set()
    if class_name in seen or class_name not in ctx.classes:
        return set()
    seen.add(class_name)
    info = ctx.classes[class_name]
    found = {method for method, node in info.methods.items() if node.asynchronous is not None}
    for base in info.bases:
        found |= _async_methods(ctx, base, seen) - set(info.methods)
    return found


def _has_external_base(ctx: ModuleContext, class_name: str, seen: Optional[Set[str]] = None) -> bool:
    seen = seen if seen is not None else set()
    if class_name in seen:
        return False
    seen.add(class_name)
    for base in ctx.classes[class_name].bases:
        if base in HARMLESS_BASES or base.startswith("typing."):
            continue
        if base in ctx.classes:
            if _has_external_base(ctx, base, seen):
                return True
            continue
        return True
    return False

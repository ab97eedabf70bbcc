"""Resources known only by how they are released: ``conn = database.connect()`` followed,
in the same scope, by ``conn.close()`` makes ``conn`` a resource even when nothing is known
about ``database`` (the release methods: ``memlint/knowledge/inferred.toml``).

Only a value that came from a call and was bound to a plain local name counts, and only
when a method call on that same name releases it in the same scope (not in a nested
function). What happens in between is the path interpreter's business: handing the value
on before the release ends the caller's responsibility there, as for any resource.
"""

from __future__ import annotations

from typing import Dict, FrozenSet, List, Optional, Set, Tuple

import libcst as cst

from memlint.analysis.facts import ModuleContext, Scope
from memlint.analysis.identity_returns import returns_its_argument
from memlint.analysis.non_resource_makers import made_by_in_memory_class, returns_only_non_resources
from memlint.analysis.project_inert import inert_release_methods_of
from memlint.analysis.resources import KNOWLEDGE, ResourceSpec
from memlint.analysis.walk import find

VERBS = KNOWLEDGE.inferred_release_verbs
RELEASES = frozenset(VERBS) | frozenset({"__exit__", "__aexit__"})


def released_names(calls: List[Tuple[cst.Call, Tuple[cst.CSTNode, ...]]]) -> Dict[str, Tuple[str, int]]:
    """Local name -> (the last release method called on it in this scope's own body, the
    position of that call in ``calls``); no entry for a name that is also ``.acquire()``d
    (a lock, paired by the lock stage)."""
    found: Dict[str, Tuple[str, int]] = {}
    excluded = set()
    for position, (call, _path) in enumerate(calls):
        func = call.func
        if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)):
            continue
        method = func.attr.value
        if method in KNOWLEDGE.inferred_not_with_methods:
            excluded.add(func.value.value)
        elif method in VERBS and not call.args:
            found[func.value.value] = (method, position)
    return {name: found[name] for name in found if name not in excluded and name != "self"}


def inferred_spec(
    ctx: ModuleContext,
    scope: Scope,
    call: cst.Call,
    path: Tuple[cst.CSTNode, ...],
    position: int,
    released: Dict[str, Tuple[str, int]],
) -> Optional[ResourceSpec]:
    """The spec of a resource known by its release, when ``call`` (at ``position`` among the
    scope's calls) is bound to a plain local name that this scope releases later; else None."""
    if not released:
        return None
    node: cst.CSTNode = call
    index = len(path) - 1
    while index >= 0 and isinstance(path[index], cst.Await):
        node = path[index]
        index -= 1
    if index < 0:
        return None
    parent = path[index]
    if not isinstance(parent, (cst.Assign, cst.AnnAssign)) or parent.value is not node:
        return None
    targets = [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else [parent.target]
    if len(targets) != 1 or not isinstance(targets[0], cst.Name):
        return None
    name = targets[0].value
    if name not in released or name in scope.params:
        return None
    method, release_position = released[name]
    if release_position <= position:
        return None  # closes an earlier value of the name, not this one
    if (ctx.resolve(call.func) or "") in KNOWLEDGE.inferred_not_from or _holds_nothing_without_its_keyword(ctx, call):
        return None
    if made_by_in_memory_class(ctx, scope, call.func) or returns_only_non_resources(ctx, call.func):
        return None  # ``self._Parser()`` built on ``HTMLParser``; a helper returning ``tqdm(...)``
    if (ctx.resolve(call.func) or "") in ctx.table:
        # The knowledge models this call, and its model already decided (``ZipFile`` over a
        # ``BytesIO``, ``open(fd, closefd=False)``): a release seen later adds nothing.
        return None
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value in KNOWLEDGE.inferred_not_from_methods:
        return None
    if isinstance(func, cst.Name) and func.value in ctx.classes:
        # A class of this module: its close() is in plain sight, and the stage that finds
        # resource classes already decided whether it releases anything.
        return None
    if _made_by_a_managed_owner(func, path):
        return None
    if method in inert_release_methods_of(ctx).get(ctx.resolve(func) or "", ()):
        return None  # a project class whose close() only finishes an in-memory object
    if returns_its_argument(ctx, call) or (ctx.resolve(func) or "") in KNOWLEDGE.inferred_identity_callables:
        return None  # ``page = self.process_iframes(page)``, ``cast(IO, src)`` give back what they were given
    given = _given_what_it_holds_later(ctx, scope, name, call)
    if not given and _never_given_anything(ctx, scope, name, call):
        return None  # ``PyCdlib()`` never ``open()``ed: it only ever holds memory
    started = _started_later(scope, name, call) | given
    return ResourceSpec("resource", RELEASES, verb=VERBS[method], inferred=True, held_after=started)


def _holds_nothing_without_its_keyword(ctx: ModuleContext, call: cst.Call) -> bool:
    """``openpyxl.load_workbook(path)`` without ``read_only=True`` (``inferred.toml``
    ``held_only_with_keyword``): the call closed what it opened before returning. A keyword
    given a value that is not the literal ``False`` may be true: the value is followed."""
    keyword = KNOWLEDGE.inferred_held_only_with_keyword.get(ctx.resolve(call.func) or "")
    if keyword is None:
        return False
    if any(arg.star for arg in call.args) or sum(arg.keyword is None for arg in call.args) > 1:
        return False  # ``**options`` or a second positional (load_workbook's read_only) may set it
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return isinstance(arg.value, cst.Name) and arg.value.value == "False"
    return True


def _started_later(scope: Scope, name: str, call: cst.Call) -> FrozenSet[str]:
    """The starting methods (``inferred.toml``) this scope calls on ``name`` after ``call``,
    with no positional argument (``scheduler.start()``, ``start(paused=True)``; not
    ``builder.start(tag, attrs)``): a lifecycle object holds nothing before it is started,
    so the path interpreter follows it as a lazy object (``ResourceSpec.held_after``)."""
    starting = KNOWLEDGE.inferred_starting_methods
    if not starting:
        return frozenset()
    after = False
    found: Set[str] = set()
    for node, _path in find(cst.IndentedBlock(body=tuple(scope.body)), (cst.Call,)):  # type: ignore[arg-type]
        if node is call:
            after = True
            continue
        func = node.func  # type: ignore[attr-defined]
        if (
            after
            and isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value == name
            and func.attr.value in starting
            and not any(arg.keyword is None for arg in node.args)  # type: ignore[attr-defined]
        ):
            found.add(func.attr.value)
    return frozenset(found)


def _given_what_it_holds_later(ctx: ModuleContext, scope: Scope, name: str, call: cst.Call) -> FrozenSet[str]:
    """The methods this scope calls on ``name`` after ``call`` that give an object holding
    nothing of its own what it then holds (``inferred.toml`` ``held_after_calls``:
    ``provider.add_span_processor(processor)`` after ``TracerProvider()``)."""
    methods = KNOWLEDGE.inferred_held_after_calls.get(ctx.resolve(call.func) or "", frozenset())
    if not methods:
        return frozenset()
    found: Set[str] = set()
    after = False
    for node, _path in find(cst.IndentedBlock(body=tuple(scope.body)), (cst.Call,)):  # type: ignore[arg-type]
        if node is call:
            after = True
            continue
        func = node.func  # type: ignore[attr-defined]
        if after and isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == name:
            if func.attr.value in methods:
                found.add(func.attr.value)
    return frozenset(found)


def _never_given_anything(ctx: ModuleContext, scope: Scope, name: str, call: cst.Call) -> bool:
    """Whether ``call`` makes an object that holds nothing until given something to own
    (``held_after_calls``) and no code of the scope, nested functions included, ever calls one
    of those methods on ``name``: it then holds nothing at all (a ``PyCdlib()`` only ``new()``ed)."""
    methods = KNOWLEDGE.inferred_held_after_calls.get(ctx.resolve(call.func) or "", frozenset())
    if not methods:
        return False
    for node, _path in find(cst.IndentedBlock(body=tuple(scope.body)), (cst.Attribute,), stop=()):  # type: ignore[arg-type]
        if node.attr.value in methods:  # type: ignore[attr-defined]
            return False  # on this name or any other: a helper or alias may give it something
    return True


def _made_by_a_managed_owner(func: cst.BaseExpression, path: Tuple[cst.CSTNode, ...]) -> bool:
    """``with Connection() as conn: queue = conn.SimpleQueue()``, ``async with
    async_playwright() as p: browser = await p.chromium.launch()``: what the managed owner
    made is released with it."""
    while isinstance(func, cst.Attribute):
        func = func.value
    if isinstance(func, cst.Call):
        return False
    if not isinstance(func, cst.Name):
        return False
    for node in path:
        if isinstance(node, cst.With):
            for item in node.items:
                if item.asname is not None and isinstance(item.asname.name, cst.Name) and item.asname.name.value == func.value:
                    return True
    return False


def _own_method(witness: Optional[cst.CSTNode], names: Set[str]) -> Optional[str]:
    """The method a raising call runs on the object itself (``conn.execute()``: "execute")."""
    if isinstance(witness, cst.Await):
        witness = witness.expression
    if not isinstance(witness, cst.Call) or not isinstance(witness.func, cst.Attribute):
        return None
    owner = witness.func.value
    return witness.func.attr.value if isinstance(owner, cst.Name) and owner.value in names else None


def is_set_up_call(witness: Optional[cst.CSTNode], names: Set[str]) -> bool:
    """Whether the call that raises is the object's own set-up (``client.connect()``,
    ``server.start()``): an unknown object whose set-up failed is taken to hold nothing."""
    return _own_method(witness, names) in KNOWLEDGE.inferred_set_up_methods


def is_own_work_call(witness: Optional[cst.CSTNode], names: Set[str]) -> bool:
    """Whether the call that raises is work done by the object itself (``conn.execute()``)
    and not its set-up. Of an object known only by its release, nothing says what other
    calls raise; judged on real code, only its own work realistically leaves it open."""
    if isinstance(witness, cst.Yield):
        return True  # the consumer may close the generator there, whatever the object is
    call = witness.expression if isinstance(witness, cst.Await) else witness
    if isinstance(call, cst.Call) and isinstance(call.func, cst.Name) and call.func.value in _PROTOCOL_BUILTINS:
        # ``next(gen)`` is the object's own ``__next__``.
        first = call.args[0].value if call.args else None
        return isinstance(first, cst.Name) and first.value in names
    method = _own_method(witness, names)
    return method is not None and method not in KNOWLEDGE.inferred_set_up_methods


# Builtins that run a method of their first argument.
_PROTOCOL_BUILTINS = frozenset({"next", "anext"})

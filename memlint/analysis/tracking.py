"""Stage 6, tracking: per scope, find the acquisitions, classify their sites, and run the
path interpreter (``lifetime``) on every resource bound to a name.

Produces the acquisition facts: ``UnnamedUse``, ``Lifetime``, ``UnboundInFinally`` (and,
through ``locks``, the lock facts). Deciding which of them are findings is the rules' job.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Set, Tuple

import libcst as cst

from memlint.analysis import lifetime
from memlint.analysis.classify import acquisition_spec, fill_scope_names, keeps_file
from memlint.analysis.flow import Outcome, Tracker
from memlint.analysis.inferred import inferred_spec, released_names
from memlint.analysis.facts import (
    SMALL_CONTAINERS,
    TRY_TYPES,
    ModuleContext,
    Scope,
    declared_global,
    is_constant_name,
    last_name,
)
from memlint.analysis.locks import analyze_lock
from memlint.analysis.model import Acquisition, ModuleAnalysis, UnboundInFinally, UnnamedUse
from memlint.analysis.names import dotted, iter_statements
from memlint.analysis.ownership import stored_attrs
from memlint.analysis.resources import ANY_RELEASE_FUNCS, ANY_RELEASE_METHODS, KEPT_FILE_PATH, KNOWLEDGE, ResourceSpec
from memlint.analysis.sites import Site, classify_site, enclosing_statement
from memlint.analysis.walk import find


def analyze_scope(ctx: ModuleContext, scope: Scope, analysis: ModuleAnalysis) -> None:
    """Every acquisition in one scope's own body (nested functions are scopes of their own),
    with the facts about what becomes of each."""
    ctx.scope = scope
    root_nodes = scope.body
    calls: List[Tuple[cst.Call, Tuple[cst.CSTNode, ...]]] = []
    for statement in root_nodes:
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            continue
        for found, path in find(statement, (cst.Call,)):
            calls.append((found, path))  # type: ignore[arg-type]
    candidates = ctx.candidates
    interesting = [
        (call, path)
        for call, path in calls
        if last_name(call.func) in candidates
        or last_name(call.func) in ctx.factories
        or last_name(call.func) in ctx.resource_classes
        or (scope.class_info is not None and last_name(call.func) in scope.class_info.factories)
    ]
    released = released_names(calls)
    positions = {id(call): position for position, (call, _path) in enumerate(calls)}
    if released:
        # Values known only by the release this scope makes (``conn.close()`` later).
        seen = {id(call) for call, _path in interesting}
        interesting += [(call, path) for call, path in calls if id(call) not in seen and _bound_to(call, path, released)]
        interesting.sort(key=lambda item: positions[id(item[0])])
    if not interesting:
        return
    fill_scope_names(ctx, scope)
    ctx.self_calls_in_scope = {
        call.func.attr.value
        for call, _ in calls
        if isinstance(call.func, cst.Attribute) and isinstance(call.func.value, cst.Name) and call.func.value.value == "self"
    }
    class_name = scope.class_info.node.name.value if scope.class_info else None
    for call, path in interesting:
        if last_name(call.func) in KNOWLEDGE.lock_methods:
            analyze_lock(ctx, scope, call, path, analysis)
            continue
        spec = acquisition_spec(ctx, call, scope) or inferred_spec(ctx, scope, call, path, positions[id(call)], released)
        if spec is None:
            continue
        label = ctx.label(call.func)
        site = classify_site(ctx, call, path, spec)
        acquisition = Acquisition(call, spec, label, site.statement, tuple(n for n, _ in site.names), scope.node)
        analysis.acquisitions.append(acquisition)
        if keeps_file(ctx, call):
            _track_kept_path(ctx, scope, call, path, site, class_name, analysis, acquisition)
        if site.kind in ("inline", "dropped"):
            analysis.facts.append(UnnamedUse(acquisition, site.kind, site.use, site.use_name))
        elif site.kind == "store-self":
            if scope.class_info is not None:
                scope.class_info.owned.setdefault(site.attr, (call, acquisition))
        elif site.kind == "track":
            for name, part in site.names:
                # Module constants, long-lived objects and globals the functions use live as
                # long as the program: not followed at all (following them is what costs).
                if scope.is_module and (is_constant_name(name) or part.long_lived or name in ctx.global_uses()):
                    continue
                _track(ctx, scope, call, path, site, name, part, class_name, analysis, acquisition)


def _bound_to(call: cst.Call, path: Tuple[cst.CSTNode, ...], names: Dict[str, Tuple[str, int]]) -> bool:
    """A cheap first look: ``name = call()`` (or ``name = await call()``) with ``name`` among ``names``."""
    parent = path[-1] if path else None
    if isinstance(parent, cst.Await) and len(path) > 1:
        parent = path[-2]
    if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
        target = parent.targets[0].target
        return isinstance(target, cst.Name) and target.value in names
    if isinstance(parent, cst.AnnAssign):
        return isinstance(parent.target, cst.Name) and parent.target.value in names
    return False


def _track_kept_path(
    ctx: ModuleContext,
    scope: Scope,
    call: cst.Call,
    path: Tuple[cst.CSTNode, ...],
    site: Site,
    class_name: Optional[str],
    analysis: ModuleAnalysis,
    acquisition: Acquisition,
) -> None:
    """Follow ``tmp.name`` of a temporary file kept on disk until it is removed or handed on."""
    holder: Optional[str] = None
    statement: Optional[cst.CSTNode] = None
    if site.kind == "track" and site.names:
        holder, statement = site.names[0][0], site.statement
    elif site.kind == "managed":
        item = next((p for p in reversed(path) if isinstance(p, cst.WithItem)), None)
        with_node = next((p for p in reversed(path) if isinstance(p, cst.With)), None)
        if item is not None and item.asname is not None and isinstance(item.asname.name, cst.Name):
            holder, statement = item.asname.name.value, with_node
    if holder is None or statement is None:
        return
    _statement, loops = enclosing_statement(path)
    name = f"{holder}.name"
    tracker = Tracker({name}, KEPT_FILE_PATH, call, statement, enclosing_loops=loops)
    tracker.holders = {holder}
    outcome = lifetime.run(ctx, tracker, scope.body, class_name, yields_raise=not scope.is_context_manager)
    _record(ctx, name, KEPT_FILE_PATH, outcome, analysis, acquisition)


def _track(
    ctx: ModuleContext,
    scope: Scope,
    call: cst.Call,
    path: Tuple[cst.CSTNode, ...],
    site: Site,
    name: str,
    spec: ResourceSpec,
    class_name: Optional[str],
    analysis: ModuleAnalysis,
    acquisition: Acquisition,
) -> None:
    if isinstance(scope.node, cst.FunctionDef) and declared_global(scope.node, name):
        return
    _statement, loops = enclosing_statement(path)
    tracker = Tracker({name}, spec, call, site.statement, enclosing_loops=loops)  # type: ignore[arg-type]
    tracker.container = name in scope.containers
    tracker.guards = _guard_flags(site.statement, path)
    outcome = lifetime.run(ctx, tracker, scope.body, class_name, yields_raise=not scope.is_context_manager)
    if scope.class_info is not None:
        for attr in stored_attrs(ctx, scope, tracker):
            scope.class_info.owned.setdefault(attr, (call, acquisition))
    _unbound_in_finally(ctx, scope, path, name, analysis, acquisition)
    chosen = spec.is_path and any(arg.keyword is not None and arg.keyword.value == "dir" for arg in call.args)
    _record(ctx, name, spec, outcome, analysis, acquisition, in_chosen_directory=chosen)


def _guard_flags(statement: Optional[cst.CSTNode], path: Tuple[cst.CSTNode, ...]) -> Set[str]:
    """``flag = True`` (or ``closed = False``, kept as ``!closed``) right after the
    acquisition in the same block."""
    flags: Set[str] = set()
    for index in range(len(path) - 1, -1, -1):
        block = path[index]
        if not isinstance(block, (cst.IndentedBlock, cst.Module)):
            continue
        line = path[index + 1] if index + 1 < len(path) else None
        statements = list(block.body)
        position = next((i for i, s in enumerate(statements) if s is line), None)
        if position is None:
            break
        for following in statements[position : position + 3]:
            for small in _smalls(following):
                if (
                    isinstance(small, cst.Assign)
                    and len(small.targets) == 1
                    and isinstance(small.targets[0].target, cst.Name)
                    and dotted(small.value) in ("True", "False")
                ):
                    # ``close_source = True`` holds while the resource is held;
                    # ``fd_closed = False`` holds until it is released.
                    prefix = "" if dotted(small.value) == "True" else "!"
                    flags.add(prefix + small.targets[0].target.value)
        break
    return flags


def _smalls(statement: cst.CSTNode) -> Tuple[cst.CSTNode, ...]:
    if isinstance(statement, SMALL_CONTAINERS):
        return tuple(statement.body)
    return (statement,) if isinstance(statement, cst.BaseSmallStatement) else ()


def _record(
    ctx: ModuleContext, name: str, spec: ResourceSpec, outcome: Outcome, analysis: ModuleAnalysis, acquisition: Acquisition,
    in_chosen_directory: bool = False,
) -> None:
    """Keep the interpreter's verdict on one named resource as a ``Lifetime`` fact."""
    analysis.facts.append(lifetime.lifetime_fact(ctx, acquisition, name, spec, outcome, in_chosen_directory=in_chosen_directory))


def _unbound_in_finally(
    ctx: ModuleContext,
    scope: Scope,
    path: Tuple[cst.CSTNode, ...],
    name: str,
    analysis: ModuleAnalysis,
    acquisition: Acquisition,
) -> None:
    """A ``finally`` that releases a name its ``try`` may not have bound yet."""
    for index, node in enumerate(path):
        if not isinstance(node, TRY_TYPES) or node.finalbody is None:  # type: ignore[attr-defined]
            continue
        if index + 1 >= len(path) or path[index + 1] is not node.body:  # type: ignore[attr-defined]
            continue
        release = _releases_name(ctx, node.finalbody, name)  # type: ignore[attr-defined]
        if release is None or _bound_before(scope, node, name):
            continue
        analysis.facts.append(UnboundInFinally(acquisition, name, release))
        return


def _releases_name(ctx: ModuleContext, final: cst.BaseSuite, name: str) -> Optional[cst.CSTNode]:
    for found, path in find(final, (cst.Call,)):
        func = found.func  # type: ignore[attr-defined]
        guarded = any(isinstance(p, cst.If) and _locals_guard(p.test, name) for p in path)
        if guarded:
            continue
        if isinstance(func, cst.Attribute) and func.attr.value in ANY_RELEASE_METHODS and dotted(func.value) == name:
            return found
        if (ctx.resolve(func) or "") in ANY_RELEASE_FUNCS and any(dotted(a.value) == name for a in found.args):  # type: ignore[attr-defined]
            return found
    return None


def _locals_guard(test: cst.BaseExpression, name: str) -> bool:
    for comparison, _ in find(test, (cst.Comparison,)):
        left = comparison.left  # type: ignore[attr-defined]
        if isinstance(left, cst.SimpleString) and left.evaluated_value == name:
            return True
    return False


def _bound_before(scope: Scope, try_node: cst.CSTNode, name: str) -> bool:
    if isinstance(scope.node, cst.FunctionDef):
        params = scope.node.params
        every = list(params.params) + list(params.posonly_params) + list(params.kwonly_params)
        if any(p.name.value == name for p in every):
            return True
    for statement in iter_statements(list(scope.body), into_functions=False):
        if statement is try_node:
            return False
        if isinstance(statement, SMALL_CONTAINERS):
            for small in statement.body:
                targets: List[cst.CSTNode] = []
                if isinstance(small, cst.Assign):
                    targets = [t.target for t in small.targets]
                elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                    targets = [small.target]
                for target in targets:
                    if any(n.value == name for n, _ in find(target, (cst.Name,))):  # type: ignore[attr-defined]
                        return True
        elif isinstance(statement, (cst.For,)) and any(n.value == name for n, _ in find(statement.target, (cst.Name,))):  # type: ignore[attr-defined]
            return True
    return False

"""Stage 6, tracking: per scope, find the acquisitions, classify their sites, and run the
path interpreter (``lifetime``) on every resource bound to a name.

Produces the acquisition facts: ``UnnamedUse``, ``Lifetime``, ``UnboundInFinally`` (and,
through ``locks``, the lock facts). Deciding which of them are findings is the rules' job.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Set, Tuple

import libcst as cst

from memlint.analysis import lifetime
from memlint.analysis.dropped_directories import removed_later
from memlint.analysis.branch_flags import branch_flags, else_branch_guards, flags_saying, holder_guards, with_opposite_guards
from memlint.analysis.classify import acquisition_spec, fill_scope_names, keeps_file
from memlint.analysis.flow import Outcome, Tracker
from memlint.analysis.borrowed_aliases import released_in_a_later_finally
from memlint.analysis.inferred import inferred_spec, released_names
from memlint.analysis.kept_outputs import kept_as_output
from memlint.analysis.released_with_parent import closed_with_parent, made_in_removed_directory
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
from memlint.analysis.exit_stacks import EXIT_STACK_MODEL, FirstEntry
from memlint.analysis.closing_factories import closes_before_return
from memlint.analysis.dead_code import never_runs
from memlint.analysis.model import Acquisition, Lifetime, ModuleAnalysis, UnboundInFinally, UnnamedUse
from memlint.analysis.names import dotted, guard_flags, iter_statements
from memlint.analysis.ownership import releasers_of, stored_attrs
from memlint.analysis.pipes import piped_streams
from memlint.analysis.registered import REGISTERED, registered_values
from memlint.analysis.returned_releasers import partner_releasers
from memlint.analysis.resources import ANY_RELEASE_FUNCS, ANY_RELEASE_METHODS, KEPT_FILE_PATH, KNOWLEDGE, ResourceSpec
from memlint.analysis.sites import Site, classify_site, enclosing_statement
from memlint.analysis.standard_streams import opened_as_standard_stream
from memlint.analysis.steady_tests import steady_guards
from memlint.analysis.unbound_guards import bound_by_the_finally, guarded_against_unbound, made_flag_guard
from memlint.analysis.walk import find

NESTED_SCOPES = (cst.FunctionDef, cst.ClassDef)


def analyze_scope(ctx: ModuleContext, scope: Scope, analysis: ModuleAnalysis) -> None:
    """Every acquisition in one scope's own body (nested functions are scopes of their own),
    with the facts about what becomes of each."""
    ctx.scope = scope
    root_nodes = scope.body
    calls: List[Tuple[cst.Call, Tuple[cst.CSTNode, ...]]] = []
    for statement in root_nodes:
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            continue
        # A lambda is no scope of its own here: what it acquires, the scope acquires.
        for found, path in find(statement, (cst.Call,), stop=NESTED_SCOPES):
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
    self_calls = {
        call.func.attr.value
        for call, _ in calls
        if isinstance(call.func, cst.Attribute) and isinstance(call.func.value, cst.Name) and call.func.value.value == "self"
    }
    ctx.self_calls_in_scope = self_calls
    registered = registered_values(ctx, scope) if scope.class_info is not None and self_calls else set()
    if registered:
        seen = {id(call) for call, _path in interesting}
        interesting += [(call, path) for call, path in calls if id(call) in registered and id(call) not in seen]
    if released or registered:
        interesting.sort(key=lambda item: positions[id(item[0])])
    if interesting:
        # ``if False: open(p).read()``: written, but never run (dead_code).
        body_block = (cst.IndentedBlock(body=tuple(scope.body)),)  # type: ignore[arg-type]
        interesting = [(call, path) for call, path in interesting if not never_runs(ctx, body_block + path)]
        # ``probe_tcp(msg)`` whose ``finally`` closes what it returns (``close=True``).
        interesting = [(call, path) for call, path in interesting if not closes_before_return(ctx, call)]
    if not interesting:
        return
    fill_scope_names(ctx, scope)
    ctx.self_calls_in_scope = self_calls
    class_name = scope.class_info.node.name.value if scope.class_info else None
    for call, path in interesting:
        if last_name(call.func) in KNOWLEDGE.lock_methods:
            analyze_lock(ctx, scope, call, path, analysis)
            continue
        spec = (
            REGISTERED
            if id(call) in registered
            else acquisition_spec(ctx, call, scope) or inferred_spec(ctx, scope, call, path, positions[id(call)], released)
        )
        if spec is None:
            continue
        label = ctx.label(call.func)
        site = classify_site(ctx, call, path, spec)
        acquisition = Acquisition(call, spec, label, site.statement, tuple(n for n, _ in site.names), scope.node)
        analysis.acquisitions.append(acquisition)
        if keeps_file(ctx, call):
            _track_kept_path(ctx, scope, call, path, site, class_name, analysis, acquisition)
        if opened_as_standard_stream(ctx, spec.model, path, scope.body):
            continue  # the new stdin, kept for the life of the process
        if site.kind in ("inline", "dropped"):
            if site.kind == "inline" and removed_later(ctx, call, path, spec, scope.body):
                continue  # ``d = Path(TemporaryDirectory().name)`` ... ``shutil.rmtree(d)``
            analysis.facts.append(UnnamedUse(acquisition, site.kind, site.use, site.use_name))
        elif site.kind == "store-self":
            if scope.class_info is not None:
                scope.class_info.owned.setdefault(site.attr, (call, acquisition))
                if isinstance(scope.node, cst.FunctionDef) and scope.node.name.value == "__init__":
                    _raise_in_init(ctx, scope, call, path, site, spec, class_name, analysis, acquisition)
        elif site.kind == "track":
            for name, part in site.names:
                # Module constants, long-lived objects and globals the functions use live as
                # long as the program: not followed at all (following them is what costs).
                if scope.is_module and (is_constant_name(name) or part.long_lived or name in ctx.global_uses()):
                    continue
                _track(ctx, scope, call, path, site, name, part, class_name, analysis, acquisition)
            if len(site.names) == 1:
                _track_pipes(ctx, scope, call, path, site, class_name, analysis, acquisition)


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
    if holder is None or statement is None or kept_as_output(ctx, scope.body, holder):
        return
    if made_in_removed_directory(ctx, call, path):
        return  # made in a ``with TemporaryDirectory() as d`` that removes it
    _statement, loops = enclosing_statement(path)
    name = f"{holder}.name"
    tracker = Tracker({name}, KEPT_FILE_PATH, call, statement, enclosing_loops=loops)
    tracker.holders = {holder}
    # The path is held from the acquisition on, as any resource is: a flag set right after it
    # (``keep = False`` ... ``finally: if not keep: os.unlink(path)``) guards its release too.
    tracker.guards = guard_flags(_from_scope_body(scope, path)) | site.guards | branch_flags(ctx, path, scope.body)
    tracker.guards |= steady_guards(scope, path)
    tracker.guards = with_opposite_guards(tracker.guards | else_branch_guards(path, scope.body) | holder_guards(holder))
    outcome = lifetime.run(ctx, tracker, scope.body, class_name, yields_raise=not scope.is_context_manager)
    _record(ctx, name, KEPT_FILE_PATH, outcome, analysis, acquisition)


def _track_pipes(
    ctx: ModuleContext,
    scope: Scope,
    call: cst.Call,
    path: Tuple[cst.CSTNode, ...],
    site: Site,
    class_name: Optional[str],
    analysis: ModuleAnalysis,
    acquisition: Acquisition,
) -> None:
    """Follow ``proc.stdout`` of ``proc = Popen(..., stdout=PIPE)`` until it is closed (``pipes``)."""
    streams, pipe, closed_by = piped_streams(ctx, scope, call)
    if not streams or pipe is None:
        return
    holder = site.names[0][0]
    verdict = next(
        (f for f in reversed(analysis.facts) if isinstance(f, Lifetime) and f.acquisition is acquisition and f.name == holder),
        None,
    )
    if verdict is None or verdict.category not in ("ok", "error"):
        return  # the process itself is reported (never waited for): one finding, one fix
    _statement, loops = enclosing_statement(path)
    for stream in streams:
        name = f"{holder}.{stream}"
        tracker = Tracker({name}, pipe, call, site.statement, enclosing_loops=loops)  # type: ignore[arg-type]
        tracker.holders = {holder}
        tracker.holder_releases = closed_by | {"__exit__", "__aexit__"}
        tracker.container = holder in scope.containers or site.container  # a list of processes
        outcome = lifetime.run(ctx, tracker, scope.body, class_name, yields_raise=not scope.is_context_manager)
        fact = lifetime.lifetime_fact(ctx, acquisition, name, pipe, outcome)
        if verdict.category == "error" and fact.category == "error":
            continue  # the same raise leaves both: the process's finding and fix cover the pipe
        analysis.facts.append(fact)


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
    if closed_with_parent(ctx, call, path, spec):
        return  # a channel of a client this function closes on every way out
    _statement, loops = enclosing_statement(path)
    tracker = Tracker({name}, spec, call, site.statement, enclosing_loops=loops)  # type: ignore[arg-type]
    tracker.container = name in scope.containers or site.container
    tracker.guards = guard_flags(_from_scope_body(scope, path)) | site.guards | _choice_flags(ctx, site, path, scope.body)
    tracker.guards |= branch_flags(ctx, path, scope.body) | else_branch_guards(path, scope.body) | steady_guards(scope, path)
    tracker.guards = with_opposite_guards(tracker.guards)
    tracker.release_calls = partner_releasers(ctx, call, site.statement, name, spec.release)
    outcome = lifetime.run(ctx, tracker, scope.body, class_name, yields_raise=not scope.is_context_manager)
    if scope.class_info is not None and not released_in_a_later_finally(scope.body, call, tracker.names, spec.release):
        for attr in stored_attrs(ctx, scope, tracker):
            scope.class_info.owned.setdefault(attr, (call, acquisition))
    _unbound_in_finally(ctx, scope, path, name, analysis, acquisition)
    chosen = spec.is_path and any(arg.keyword is not None and arg.keyword.value == "dir" for arg in call.args)
    _record(ctx, name, spec, outcome, analysis, acquisition, in_chosen_directory=chosen, in_container=site.container)


def _from_scope_body(scope: Scope, path: Tuple[cst.CSTNode, ...]) -> Tuple[cst.CSTNode, ...]:
    """``path`` starts at a statement of the scope's own body; the flag finder needs the block
    around it too (``closed = False`` right after ``fd = os.open(p)`` at the top level)."""
    if not path or not isinstance(path[0], cst.BaseStatement):
        return path
    return (cst.IndentedBlock(body=tuple(scope.body)),) + path  # type: ignore[arg-type]


def _raise_in_init(
    ctx: ModuleContext,
    scope: Scope,
    call: cst.Call,
    path: Tuple[cst.CSTNode, ...],
    site: Site,
    spec: ResourceSpec,
    class_name: Optional[str],
    analysis: ModuleAnalysis,
    acquisition: Acquisition,
) -> None:
    """``self.conn = connect(); ...; raise``: ``__init__`` gives up the half-built object and
    with it the only way to the connection. Kept on ``self`` at the end is the class's business."""
    if spec.parts or site.statement is None:
        return
    name = f"self.{site.attr}"
    _statement, loops = enclosing_statement(path)
    tracker = Tracker({name}, spec, call, site.statement, enclosing_loops=loops)
    tracker.release_self_methods = releasers_of(ctx, class_name, site.attr)
    explicit = lifetime.explicit_raises(ctx, tracker, scope.body, class_name)
    if spec.held_after or spec.model == EXIT_STACK_MODEL:  # nothing entered before the raise: nothing held
        explicit = FirstEntry(spec.held_after, spec.release, loops, spec.model, ctx).raises_after(scope.body, {name}, explicit)
    if explicit:
        outcome = Outcome("raise", explicit[0], "raise", tuple(tracker.release_nodes))
        _record(ctx, name, spec, outcome, analysis, acquisition)


def _choice_flags(
    ctx: ModuleContext, site: Site, path: Tuple[cst.CSTNode, ...], scope_body: Tuple[cst.CSTNode, ...]
) -> Set[str]:
    """``close_session = session is None`` just before ``session = session if session is not
    None else ClientSession()``: the flag says whether the new session was chosen."""
    if not site.choices or not path:
        return set()
    flags: Set[str] = set()
    # The innermost block around the acquisition; the scope's own body when it sits there.
    statements, line = list(scope_body), path[0]
    for index in range(len(path) - 1, -1, -1):
        if isinstance(path[index], cst.IndentedBlock) and index + 1 < len(path):
            statements, line = list(path[index].body), path[index + 1]  # type: ignore[attr-defined]
            break
    position = next((i for i, s in enumerate(statements) if s is line), None)
    if position is not None:
        for test, chosen_when_true in site.choices:
            for flag, says_the_test in flags_saying(ctx, statements[max(0, position - 3) : position], test):
                flags.add(flag if says_the_test == chosen_when_true else "!" + flag)
    return flags


def _record(
    ctx: ModuleContext, name: str, spec: ResourceSpec, outcome: Outcome, analysis: ModuleAnalysis, acquisition: Acquisition,
    **extra: bool,
) -> None:
    """Keep the interpreter's verdict on one named resource as a ``Lifetime`` fact."""
    analysis.facts.append(lifetime.lifetime_fact(ctx, acquisition, name, spec, outcome, **extra))


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
        release = _releases_name(ctx, node.finalbody, name, scope, node)  # type: ignore[attr-defined]
        if release is None or _bound_before(scope, node, name) or _bound_first_in_try(node, name):
            continue
        if _bound_on_the_way(path[index + 1 :], name):
            continue
        analysis.facts.append(UnboundInFinally(acquisition, name, release))
        return


def _releases_name(
    ctx: ModuleContext, final: cst.BaseSuite, name: str, scope: Scope, try_node: cst.CSTNode
) -> Optional[cst.CSTNode]:
    for found, path in find(final, (cst.Call,)):
        func = found.func  # type: ignore[attr-defined]
        guarded = any(isinstance(p, cst.If) and _locals_guard(p.test, name) for p in path) or guarded_against_unbound(path)
        # ``if created and client is not None:`` with ``created`` set only once ``client`` is bound.
        guarded = guarded or any(_bound_before(scope, try_node, flag) for flag in made_flag_guard(path, name, scope.body))
        # ``finally: for item in items: conn = pool[item]; conn.close()``: the finally's own binding.
        guarded = guarded or bound_by_the_finally(path + (found,), name) or _bound_on_the_way(path + (found,), name)
        if guarded:
            continue
        if isinstance(func, cst.Attribute) and func.attr.value in ANY_RELEASE_METHODS and dotted(func.value) == name:
            return found
        if (ctx.resolve(func) or "") in ANY_RELEASE_FUNCS and any(dotted(a.value) == name for a in found.args):  # type: ignore[attr-defined]
            return found
    return None


def _bound_on_the_way(path: Tuple[cst.CSTNode, ...], name: str) -> bool:
    """``prov = None`` written earlier in one of the blocks that lead from the ``try`` body
    to the acquisition (``if args.provenance: try: prov = setup()``): every way to the
    acquiring call binds the name first, so when that call raises the ``finally`` finds it
    bound."""
    for depth, node in enumerate(path[:-1]):
        if not isinstance(node, cst.IndentedBlock):
            continue
        holder = path[depth + 1]
        for statement in node.body:
            if statement is holder:
                break
            if isinstance(statement, SMALL_CONTAINERS) and any(
                isinstance(small, (cst.Assign, cst.AnnAssign))
                and any(
                    isinstance(target, cst.Name) and target.value == name
                    for target in ([t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target])
                )
                and (not isinstance(small, cst.AnnAssign) or small.value is not None)
                for small in statement.body
            ):
                return True
    return False


def _locals_guard(test: cst.BaseExpression, name: str) -> bool:
    for comparison, _ in find(test, (cst.Comparison,)):
        left = comparison.left  # type: ignore[attr-defined]
        if isinstance(left, cst.SimpleString) and left.evaluated_value == name:
            return True
    return False


def _bound_first_in_try(try_node: cst.CSTNode, name: str) -> bool:
    """``try: conn = None; conn = connect()``: a binding to a literal, first in the ``try``,
    cannot fail, so the ``finally`` always finds the name bound."""
    body = list(try_node.body.body)  # type: ignore[attr-defined]
    first = body[0] if body else None
    if not isinstance(first, SMALL_CONTAINERS) or not first.body:
        return False
    small = first.body[0]
    return (
        isinstance(small, cst.Assign)
        and all(isinstance(t.target, cst.Name) for t in small.targets)
        and any(t.target.value == name for t in small.targets)  # type: ignore[attr-defined]
        and (dotted(small.value) in ("None", "True", "False") or isinstance(small.value, (cst.SimpleString, cst.Integer, cst.Float)))
    )


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

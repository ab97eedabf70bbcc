"""The analysis of one module: the stages in order, each reading what the earlier ones
established (docs/architecture.md draws it).

1. ``facts``: imports, functions, classes, scopes (statements only);
2. ``local_resources``: module-local factories and resource classes;
3. per scope, ``tracking``: acquisitions (``classify``), where their values go
   (``sites``), each named resource followed by the path interpreter (``lifetime``),
   locks (``locks``);
4. ``ownership``: the classes that keep resources on ``self`` and what releases them;
5. ``context_managers``: ``@contextmanager`` bodies and ``__exit__`` methods;
6. ``try_finally``: releases written by hand where ``with`` would do;
7. ``growth``: caches, long-lived containers and logging handlers (memory that only grows);
8. ``tasks``: asyncio tasks nothing keeps a reference to (only in a module that names a
   task-creating callable).

The result is a list of facts; the rules (``memlint/rules``) turn facts into findings.
"""

from __future__ import annotations

import ast
from typing import Optional

import libcst as cst

from memlint.analysis.context_managers import context_manager_facts
from memlint.analysis.facts import ModuleContext, mark_quiet_functions, scan
from memlint.analysis.growth import growth_facts
from memlint.analysis.local_resources import find_factories, find_resource_classes
from memlint.analysis.model import ModuleAnalysis
from memlint.analysis.ownership import owner_classes
from memlint.analysis.project_index import add_project_resources, inherit_local_factories, inherit_project_methods
from memlint.analysis.tasks import might_create_tasks, task_facts
from memlint.analysis.tracking import analyze_scope
from memlint.analysis.try_finally import hand_written_releases
from memlint.analysis.walk import memo_per_module
from memlint.knowledge.overlay import knowledge_in_use
from memlint.options import RuleOptions


def analyze_module(
    module: cst.Module, source: str, options: RuleOptions, tree: Optional[ast.Module] = None, growth: bool = True
) -> ModuleAnalysis:
    """Every fact about one parsed module. With the ``ast`` tree of the same source,
    functions whose text names no resource are skipped unread. The knowledge read is the
    shipped one plus the resources ``options`` declares."""
    with knowledge_in_use(options.resources), memo_per_module():
        return _analyze_module(module, source, options, tree, growth)


def _analyze_module(
    module: cst.Module, source: str, options: RuleOptions, tree: Optional[ast.Module], growth: bool
) -> ModuleAnalysis:
    ctx = ModuleContext(module, options)
    add_project_resources(ctx, options.project_resources)
    analysis = ModuleAnalysis()
    scopes = scan(ctx)
    # ``from gzip import open as gzopen``: the local alias is a candidate name too.
    ctx.candidates = ctx.candidates | {
        local for local, qualified in ctx.imports.aliases.items() if qualified.rsplit(".", 1)[-1] in ctx.candidates
    }
    inherit_project_methods(ctx)
    find_factories(ctx, scopes)
    inherit_local_factories(ctx)
    find_resource_classes(ctx, scopes)
    if tree is not None:
        mark_quiet_functions(ctx, scopes, tree, source, options)
    for scope in scopes:
        if not scope.quiet:
            analyze_scope(ctx, scope, analysis)
    ctx.scope = None
    analysis.facts.extend(owner_classes(ctx))
    analysis.facts.extend(context_manager_facts(ctx, scopes))
    analysis.facts.extend(hand_written_releases(ctx, analysis.acquisitions))
    if growth:  # only when a growth rule runs: its walk is the stage's whole cost
        analysis.facts.extend(growth_facts(ctx, tree))  # type: ignore[arg-type]
    if might_create_tasks(source):
        analysis.facts.extend(task_facts(ctx))  # type: ignore[arg-type]
    return analysis

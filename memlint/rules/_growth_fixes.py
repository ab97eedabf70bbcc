"""The fixes of MEM051 and MEM053, built per defect (``memlint.fixes.growth`` does the work).

What the builders need about the module (its imports, its ``addHandler`` statements) is
computed once per file, on the first defect that needs it, and kept in ``ctx.cache``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

from memlint.rules.base import FileContext

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.model import Defect

_NAMES_KEY = "memlint.growth.names"
_STATEMENTS_KEY = "memlint.growth.add_handler_statements"


def cache_bound_fix(ctx: FileContext, defect: "Defect") -> Optional[object]:
    """MEM051: an unbounded cache on a function gets a bound (unsafe); a cache on a method none."""
    if defect.category != "unbounded-cache":
        return None
    from memlint.fixes.growth import bounded_cache_rewrite

    return _guarded(lambda: bounded_cache_rewrite(ctx.module, defect.node, _names(ctx)), ctx)  # type: ignore[arg-type]


def handler_guard_fix(ctx: FileContext, defect: "Defect") -> Optional[object]:
    """MEM053: the addition under a guard that lets it run once per logger."""
    from memlint.fixes.growth import AddHandlerStatements, handler_guard_rewrite

    def build() -> Optional[object]:
        statements = ctx.cache.get(_STATEMENTS_KEY)
        if statements is None:
            statements = ctx.cache[_STATEMENTS_KEY] = AddHandlerStatements(ctx.module)
        return handler_guard_rewrite(ctx.module, defect.node, _names(ctx), ctx.path, statements)  # type: ignore[arg-type]

    return _guarded(build, ctx)


def _names(ctx: FileContext) -> Any:
    from memlint.fixes.growth import ModuleNames

    names = ctx.cache.get(_NAMES_KEY)
    if names is None:
        names = ctx.cache[_NAMES_KEY] = ModuleNames(ctx.module)
    return names


def _guarded(build: Callable[[], Optional[object]], ctx: FileContext) -> Optional[object]:
    try:
        return build()
    except RecursionError:  # pragma: no cover - absurdly deep code: no fix, still a finding
        return None
    except Exception as error:  # noqa: BLE001 - a fixer bug must not cost the finding
        ctx.cache["memlint.fixes.error"] = f"{type(error).__name__}: {error}"
        return None

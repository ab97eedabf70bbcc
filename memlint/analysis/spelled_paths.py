"""Two ways real code hands a temporary path to a viewer that the mention classifier needs
spelled out (study set tuning-3, scrapy's ``open_in_browser``):

- the path formatted into an f-string argument, ``webbrowser.open(f"file://{fname}")``: the
  same path as ``"file://" + fname``, which the classifier already follows into the call;
- the call made through a parameter whose default is the known callee,
  ``def show(body, _openfunc=webbrowser.open): ... _openfunc(url)``: the function is written
  for its default, so the call is read as a call of the default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Tuple

import libcst as cst

from memlint.analysis.names import dotted

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ModuleContext


def formatted_argument_call(path: Tuple[cst.CSTNode, ...]) -> Optional[cst.Call]:
    """The call whose argument is the f-string the mention is a placeholder of, if any
    (``open_viewer(f"file://{tmp}")``); ``None`` for a mention anywhere else."""
    if len(path) < 4:
        return None
    expression, string, argument, call = path[-1], path[-2], path[-3], path[-4]
    if (
        isinstance(expression, cst.FormattedStringExpression)
        and isinstance(string, cst.FormattedString)
        and isinstance(argument, cst.Arg)
        and argument.value is string
        and isinstance(call, cst.Call)
        and _spells_a_location(string)
    ):
        return call
    return None


def _spells_a_location(string: cst.FormattedString) -> bool:
    """An f-string that is a path or URL around its placeholders (``f"file://{tmp}"``,
    ``f"{folder}/{name}"``): no whitespace in its literal text. A sentence that mentions the
    path (``f"wrote {tmp}"``) is a message, not the path handed on."""
    return not any(
        isinstance(part, cst.FormattedStringText) and any(ch.isspace() for ch in part.value)
        for part in string.parts
    )


def parameter_default_callee(ctx: "ModuleContext", func: cst.BaseExpression) -> Optional[str]:
    """The qualified name of the default of the parameter ``func`` calls, when ``func`` is a
    parameter of the function being analysed whose default is a (dotted) name."""
    scope = ctx.scope
    if not isinstance(func, cst.Name) or scope is None or not isinstance(scope.node, cst.FunctionDef):
        return None
    params = scope.node.params
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        if param.name.value != func.value or param.default is None:
            continue
        default = dotted(param.default)
        if default is None:
            return None
        return ctx.imports.resolve(default)
    return None

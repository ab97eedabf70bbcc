"""The ``inline`` fix: ``data = open(p).read()`` -> ``with open(p) as f: data = f.read()``."""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import libcst as cst

from memlint.fixes._analysis_view import Defect, block_of, dotted, find
from memlint.fixes.bound import EFFECTS, is_quiet
from memlint.fixes.context import SMALL, FixContext
from memlint.fixes.model import WithItemPlan, WithRewrite
from memlint.fixes.table import CURSOR_METHODS, DRAINING_CONSUMERS, LAZY_READERS
from memlint.fixes.uses import is_detached, lent_by_keyword

CONDITIONAL = (cst.BooleanOperation, cst.IfExp, cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
# Builtins that do not look at a file: calling them after a consumer cannot observe when
# it is closed (an inline fix closes at the end of the statement instead of at once).
PURE_CALLS = frozenset(
    {
        "len", "str", "int", "float", "bool", "list", "tuple", "dict", "set", "frozenset", "sorted",
        "strip", "rstrip", "lstrip", "split", "splitlines", "rsplit", "decode", "encode", "lower",
        "upper", "startswith", "endswith", "replace", "partition", "rpartition", "count", "get",
        "keys", "values", "items", "format", "join", "find", "index", "casefold", "title",
    }
)


def inline_rewrite(fx: FixContext, defect: Defect) -> Optional[WithRewrite]:
    """``data = open(p).read()`` -> ``with open(p) as f: data = f.read()``."""
    acquisition = defect.acquisition
    if acquisition is None or defect.category != "inline" or not isinstance(acquisition.call, cst.Call):
        return None
    call = acquisition.call
    manageable = fx.manageable(acquisition)
    scope = acquisition.scope
    if manageable is None or manageable.is_async or scope is None:
        return None
    holder = _holder(scope, call)
    if holder is None:
        return None
    statement, path = holder
    located = fx.block_of_statement(scope, statement)
    if located is None:
        return None
    block, index = located
    line = block.statements[index]
    if isinstance(line, SMALL) and len(line.body) != 1:
        return None
    comprehension = _outer_iterable_of(call, path)
    if any((isinstance(p, CONDITIONAL) and p is not comprehension) or isinstance(p, cst.Await) for p in path):
        return None
    safe = manageable.safe and not manageable.holds_exits
    if isinstance(statement, cst.For):
        in_iterable = statement.iter is call or any(p is statement.iter for p in path)
        if statement.orelse is not None or not in_iterable:
            return None
        evaluated = statement.iter
    elif isinstance(statement, (cst.Assign, cst.AnnAssign, cst.AugAssign, cst.Return, cst.Expr)):
        evaluated = statement.value
        if evaluated is None:
            return None
        if isinstance(statement, cst.AugAssign) and _effects_before(statement.target, None):
            return None
    else:
        return None
    yielded = _yielded_from(statement, call)
    if yielded:
        # ``yield from open(p)``: nothing but the resource is evaluated, and the statement
        # iterates it to the end (or the generator is closed there, closing it as well).
        evaluated = call
    if _effects_before(evaluated, call):
        return None
    drained = _drained_reader(fx, call, path)
    consumer = comprehension or drained or _consumer(call, path)
    if not isinstance(statement, cst.For):
        # ``csv.reader(open(p))`` keeps reading the file after the statement: no fix, unless
        # ``list(...)`` (or the like) reads it to the end within the statement.
        eager = comprehension is not None or drained is not None or yielded
        if consumer is None and not yielded:
            return None
        lent = lent_by_keyword(call, path, fx)
        if not (eager or lent or is_detached(call, path, fx, manageable.detaching)):
            return None
        if lent:
            # ``api.upload(file=open(p))``: borrowed while the call runs, unless the callee
            # keeps it, which nothing here can rule out.
            safe = False
        if safe:
            # The ``with`` closes at the end of the statement, not right after the consumer:
            # invisible when the rest of the statement calls nothing, or when it was only read.
            cursor = _cursor_of(consumer) if manageable.closing else None
            safe = is_quiet(manageable, call) or _only_pure_calls(evaluated, call, consumer, cursor)
    if isinstance(scope, cst.Module) or _introspects(scope):
        # The fresh name becomes a new attribute of the module, or shows in ``locals()``.
        safe = False
    name = fx.fresh_name(scope, manageable.stem)
    found = fx.wrapper_for(manageable)
    if found is None:
        return None
    wrapper, needs_import = found
    rewrite = WithRewrite(
        message=f"use `with` and name the {acquisition.spec.kind} `{name}`",
        safe=safe,
        first=line,
        last=line,
        items=(WithItemPlan(call, name, wrapper),),
        substitutions=((call, name),),
        comment_to_header=False,
        indent_step=block.step,
    )
    return fx.with_import(rewrite) if needs_import else rewrite


def _introspects(scope: cst.CSTNode) -> bool:
    """The scope reads its own local names: ``locals()``, ``vars()``, ``dir()``, or
    ``exec``/``eval`` without an explicit namespace."""
    for found, _ in find(scope, (cst.Call,)):
        name = dotted(found.func) or ""  # type: ignore[attr-defined]
        arguments = len(found.args)  # type: ignore[attr-defined]
        if name in ("locals", "vars", "dir") and arguments == 0:
            return True
        if name in ("exec", "eval") and arguments < 2:
            return True
    return False


def _holder(scope: cst.CSTNode, call: cst.CSTNode) -> Optional[Tuple[cst.CSTNode, Tuple[cst.CSTNode, ...]]]:
    """The statement holding ``call`` (a small statement, or a ``for``), with the path below it."""
    body: Sequence[cst.CSTNode]
    if isinstance(scope, cst.Module):
        body = scope.body
    elif isinstance(scope, cst.FunctionDef):
        body = block_of(scope.body)
    else:
        return None
    for statement in body:
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            continue
        for found, path in find(statement, (cst.Call,)):
            if found is not call:
                continue
            for depth in range(len(path) - 1, -1, -1):
                node = path[depth]
                if isinstance(node, cst.BaseSmallStatement):
                    return node, path[depth + 1 :]
                if isinstance(node, cst.BaseCompoundStatement):
                    return node, path[depth + 1 :]
            return None
    return None


def _effects_before(expression: cst.CSTNode, call: Optional[cst.CSTNode]) -> bool:
    """Whether anything with side effects is evaluated in ``expression`` before ``call``."""
    for found, path in find(expression, EFFECTS + (cst.Subscript,), stop=()):
        if found is call:
            return False
        if call is not None and any(p is call for p in path):
            continue
        if call is not None and _is_ancestor(found, call):
            continue
        return True
    return False


def _is_ancestor(node: cst.CSTNode, descendant: cst.CSTNode) -> bool:
    return any(found is descendant for found, _ in find(node, (type(descendant),), stop=()))


def _consumer(call: cst.CSTNode, path: Tuple[cst.CSTNode, ...]) -> Optional[cst.CSTNode]:
    """The call that uses the inline resource: ``open(p).read()`` or ``json.load(open(p))``."""
    if len(path) >= 2 and isinstance(path[-1], cst.Attribute) and isinstance(path[-2], cst.Call):
        return path[-2]
    if len(path) >= 2 and isinstance(path[-1], cst.Arg) and isinstance(path[-2], cst.Call):
        return path[-2]
    return None


def _outer_iterable_of(call: cst.CSTNode, path: Tuple[cst.CSTNode, ...]) -> Optional[cst.CSTNode]:
    """The list, set or dict comprehension whose first ``for`` iterates over ``call``: that
    iterable is evaluated at once, and the comprehension consumes it before it ends."""
    if len(path) >= 2 and isinstance(path[-1], cst.CompFor) and path[-1].iter is call:
        owner = path[-2]
        if isinstance(owner, (cst.ListComp, cst.SetComp, cst.DictComp)) and owner.for_in is path[-1]:
            return owner
    return None


def _yielded_from(statement: cst.CSTNode, call: cst.CSTNode) -> bool:
    """Whether ``statement`` is ``yield from call`` and nothing else."""
    if not isinstance(statement, cst.Expr) or not isinstance(statement.value, cst.Yield):
        return False
    source = statement.value.value
    return isinstance(source, cst.From) and source.item is call


def _drained_reader(fx: FixContext, call: cst.CSTNode, path: Tuple[cst.CSTNode, ...]) -> Optional[cst.CSTNode]:
    """For ``list(csv.reader(open(p)))``: the draining call (``list(...)``) whose only
    argument is a lazy reader of the resource, its first argument; else None."""
    if len(path) < 4:
        return None
    inner_arg, reader, outer_arg, drain = path[-1], path[-2], path[-3], path[-4]
    if not (isinstance(inner_arg, cst.Arg) and isinstance(reader, cst.Call) and reader.args and reader.args[0] is inner_arg):
        return None
    if inner_arg.keyword is not None or inner_arg.star or fx.resolve(reader.func) not in LAZY_READERS:
        return None
    if not (isinstance(outer_arg, cst.Arg) and isinstance(drain, cst.Call) and len(drain.args) == 1):
        return None
    if drain.args[0] is not outer_arg or outer_arg.keyword is not None or outer_arg.star or outer_arg.value is not reader:
        return None
    return drain if fx.resolve(drain.func) in DRAINING_CONSUMERS else None


def _cursor_of(consumer: Optional[cst.CSTNode]) -> Optional[cst.CSTNode]:
    """``connect(p).execute(q)``: the consumer itself when its result is a cursor that holds
    the connection (``memlint.fixes.table.CURSOR_METHODS``)."""
    if isinstance(consumer, cst.Call) and isinstance(consumer.func, cst.Attribute):
        return consumer if consumer.func.attr.value in CURSOR_METHODS else None
    return None


def _only_pure_calls(
    expression: cst.CSTNode, call: cst.CSTNode, consumer: Optional[cst.CSTNode], cursor: Optional[cst.CSTNode] = None
) -> bool:
    """Whether every call of ``expression`` after the consumer is one that cannot observe the
    resource closed later than the code closed it: a pure builtin, or a method called on
    ``cursor`` (``connect(p).execute(q).fetchone()``), which ran with it open all the same."""
    for found, path in find(expression, EFFECTS, stop=()):
        if found is call or (found is consumer and isinstance(found, cst.Call)) or any(p is call for p in path):
            continue
        if cursor is not None and isinstance(found, cst.Call) and isinstance(found.func, cst.Attribute):
            if found.func.value is cursor and not any(_effects_before(arg.value, None) for arg in found.args):
                continue
        if isinstance(found, cst.Call):
            name = dotted(found.func) or ""
            if name.rsplit(".", 1)[-1] in PURE_CALLS:
                continue
        return False
    return True

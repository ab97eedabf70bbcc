"""Stage 4, acquisition sites: where the value of one acquiring call goes.

Managed by ``with``, bound to names (then followed path by path: ``tracking``), stored
on ``self`` (its class then owns it: ``ownership``), handed on, used without a name
(``inline``), thrown away (``dropped``), or of no interest (``skip``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import FrozenSet, List, Optional, Set, Tuple

import libcst as cst

from memlint.analysis.facts import COMPOUND, ModuleContext, last_name
from memlint.analysis.returned_instances import handed_to_returned_instance
from memlint.analysis.names import dotted, self_attribute
from memlint.analysis.resources import (
    BORROWED_PARAMS,
    BORROWER_PREFIXES,
    BORROWERS,
    BORROWING_KEYWORDS,
    CLOSES_WHEN_EXHAUSTED,
    CONSUMERS,
    HANDOFF_CALLS,
    HANDOFF_METHODS,
    KNOWLEDGE,
    PATH_CONSTRUCTORS,
    SAME_PATH_METHODS,
    SCOPED_BORROWING_KEYWORDS,
    ResourceSpec,
)
from memlint.analysis.walk import find

COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.GeneratorExp)


@dataclass
class Site:
    """Where one acquisition's value goes."""

    kind: str  # "track", "store-self", "inline", "dropped", "escape", "managed", "skip"
    statement: Optional[cst.CSTNode] = None
    # For "track": the names (and the spec of what each holds) to follow.
    names: Tuple[Tuple[str, ResourceSpec], ...] = ()
    # For "inline", how the value is used: "passed-to" (``use_name`` is the callee),
    # "method-call"/"attribute" (``use_name`` is the method or attribute), "indexed",
    # "discarded" (a tuple result thrown away), "iterated", "iterated-stoppable".
    use: str = ""
    use_name: str = ""
    # For "store-self": the attribute of ``self``.
    attr: str = ""
    # For "track": flags true exactly when the name holds the resource (``p`` for
    # ``f = open(p) if p else sys.stdout``), and whether the name holds many of them.
    guards: FrozenSet[str] = frozenset()
    container: bool = False
    # The tests of the conditional expressions that chose the resource (their code), each
    # with whether the resource is chosen when it holds.
    choices: Tuple[Tuple[str, bool], ...] = ()


def enclosing_statement(path: Tuple[cst.CSTNode, ...]) -> Tuple[Optional[cst.CSTNode], Tuple[cst.CSTNode, ...]]:
    loops = tuple(node for node in path if isinstance(node, (cst.For, cst.While)))
    for node in reversed(path):
        if isinstance(node, cst.BaseSmallStatement):
            return node, loops
        if isinstance(node, COMPOUND):
            return node, loops
    return None, loops


def classify_site(ctx: ModuleContext, call: cst.Call, path: Tuple[cst.CSTNode, ...], spec: ResourceSpec) -> Site:
    """Where the value of an acquiring call goes."""
    node: cst.CSTNode = call
    index = len(path) - 1
    guards: Set[str] = set()
    choices: List[Tuple[str, bool]] = []
    gathered = False
    while index >= 0:
        outer = path[index]
        if isinstance(outer, cst.IfExp) and outer.test is not node:
            # ``open(p) if p else sys.stdout``: the name holds the resource only when the
            # test chose it, so the test guards its release like a flag would.
            guards |= _chosen_when(outer, node)
            choices.append((" ".join(ctx.module.code_for_node(outer.test).split()), outer.body is node))
        elif isinstance(outer, COMPREHENSIONS) and outer.elt is node and not gathered:
            gathered = True  # ``[open(p) for p in paths]``: a container of resources
        elif _same_path_again(ctx, spec, path, index, node):
            # ``Path(tempfile.mkdtemp())``: the same directory, as a Path object.
            node = path[index - 1]
            index -= 2
            continue
        elif _same_path_by_method(spec, path, index, node):
            # ``Path(tempfile.mkdtemp()).resolve()``: the same directory, spelled absolute.
            node = path[index - 1]
            index -= 2
            continue
        elif given_back(ctx, spec, path, index):
            # ``lines = iter(open(p))``: a file is its own iterator; the name holds the file.
            node = path[index - 1]
            index -= 2
            continue
        elif _result_of_yield_from(path, index, node):
            # ``conn = yield from connect()``: the old spelling of ``await``; the name holds
            # what the coroutine returned, followed like ``conn = await connect()``.
            node = path[index - 1]
            index -= 2
            continue
        elif not isinstance(outer, cst.Await):
            break
        node = outer
        index -= 1
    if index < 0:
        return Site("skip")
    if any(isinstance(p, cst.Lambda) for p in path[: index + 1]) and isinstance(path[index], (cst.Assign, cst.NamedExpr)):
        return Site("skip")
    if gathered:
        return _gathered_site(ctx, node, path, index, spec)
    site = _site_of_value(ctx, call, node, path, index, spec)
    site.guards = frozenset(guards)
    site.choices = tuple(choices)
    return site


def given_back(ctx: ModuleContext, spec: ResourceSpec, path: Tuple[cst.CSTNode, ...], index: int) -> bool:
    """Whether ``path[index]`` is the only argument of a call that returns the resource itself
    (the model's ``given_back_by``: ``iter(f)`` on a file is ``f``)."""
    arg, call = path[index], path[index - 1] if index > 0 else None
    if not (isinstance(arg, cst.Arg) and isinstance(call, cst.Call) and spec.model):
        return False
    return arg.keyword is None and not arg.star and gives_back(ctx, spec.model, call)


def gives_back(ctx: ModuleContext, model: str, call: cst.Call) -> bool:
    """Whether ``call``, of one argument, returns that argument when it is a resource of
    ``model`` (``given_back_by``: ``iter(f)``)."""
    return len(call.args) == 1 and (ctx.resolve(call.func) or "") in KNOWLEDGE.given_back_by.get(model, ())


def _result_of_yield_from(path: Tuple[cst.CSTNode, ...], index: int, node: cst.CSTNode) -> bool:
    """``node`` is delegated to by a ``yield from`` whose value is used (bound, passed on):
    that value is what the coroutine returned, not its items. A bare ``yield from open(p)``
    statement iterates instead and stays a use of its own."""
    outer = path[index]
    if not isinstance(outer, cst.From) or outer.item is not node or index < 2:
        return False
    delegation = path[index - 1]
    return isinstance(delegation, cst.Yield) and not isinstance(path[index - 2], cst.Expr)


def _same_path_again(
    ctx: ModuleContext, spec: ResourceSpec, path: Tuple[cst.CSTNode, ...], index: int, node: cst.CSTNode
) -> bool:
    """``node`` is the only argument of a path constructor (``Path(p)``): the same path."""
    if not spec.is_path or index < 1 or not isinstance(path[index], cst.Arg) or path[index].value is not node:
        return False
    wrapper = path[index - 1]
    return (
        isinstance(wrapper, cst.Call)
        and len(wrapper.args) == 1
        and (ctx.resolve(wrapper.func) or "") in PATH_CONSTRUCTORS
    )


def _same_path_by_method(spec: ResourceSpec, path: Tuple[cst.CSTNode, ...], index: int, node: cst.CSTNode) -> bool:
    """``node.resolve()`` with no argument on a path being followed."""
    if not spec.is_path or index < 1:
        return False
    attribute, call = path[index], path[index - 1]
    return (
        isinstance(attribute, cst.Attribute) and attribute.value is node and attribute.attr.value in SAME_PATH_METHODS
        and isinstance(call, cst.Call) and call.func is attribute and not call.args
    )


def _chosen_when(choice: cst.IfExp, node: cst.CSTNode) -> Set[str]:
    """The flag (``p`` or ``!p``) true exactly when ``choice`` picks ``node``."""
    test = choice.test
    negated = False
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        test, negated = test.expression, True
    name = dotted(test) if isinstance(test, (cst.Name, cst.Attribute)) else None
    if name is None:
        return set()
    if choice.orelse is node:
        negated = not negated
    return {("!" if negated else "") + name}


def _literal_name(node: cst.CSTNode) -> str:
    """``"cache"`` for the string literal ``"cache"`` that is an identifier, else ``""``."""
    value = node.evaluated_value if isinstance(node, cst.SimpleString) else None
    return value if isinstance(value, str) and value.isidentifier() else ""


def _gathered_site(
    ctx: ModuleContext, comprehension: cst.CSTNode, path: Tuple[cst.CSTNode, ...], index: int, spec: ResourceSpec
) -> Site:
    """A comprehension whose items are resources: a bound name is a container of them."""
    parent = path[index]
    if isinstance(parent, (cst.Return, cst.Yield)):
        return Site("escape")
    if not isinstance(parent, (cst.Assign, cst.AnnAssign)) or parent.value is not comprehension or spec.parts:
        return Site("skip")
    statement, _loops = enclosing_statement(path[: index + 1])
    targets = [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else [parent.target]
    if len(targets) != 1:
        return Site("skip")
    if isinstance(targets[0], cst.Name):
        return Site("track", statement, ((targets[0].value, spec),), container=True)
    attr = self_attribute(targets[0])
    if attr:
        return Site("store-self", statement, attr=attr)
    return Site("escape")


def _site_of_value(
    ctx: ModuleContext, call: cst.Call, node: cst.CSTNode, path: Tuple[cst.CSTNode, ...], index: int, spec: ResourceSpec
) -> Site:
    parent = path[index]
    grand = path[index - 1] if index > 0 else None
    qualified = ctx.resolve(call.func) or ""
    if isinstance(parent, cst.WithItem):
        if spec.exit == "commits-only" and isinstance(parent.asname, cst.AsName) and isinstance(parent.asname.name, cst.Name):
            # ``with sqlite3.connect(p) as conn:`` commits at the end; conn stays open.
            with_node = grand if isinstance(grand, cst.With) else None
            if with_node is not None:
                return Site("track", with_node, ((parent.asname.name.value, spec),))
        return Site("managed")
    if isinstance(parent, cst.Arg) and isinstance(grand, cst.Call):
        outer = ctx.resolve(grand.func) or ""
        last = outer.rsplit(".", 1)[-1]
        if outer == "setattr" and len(grand.args) == 3 and grand.args[2] is parent and not any(a.star for a in grand.args):
            # ``setattr(obj, name, r)`` stores ``r`` on ``obj`` as ``obj.name = r`` does.
            owner = grand.args[0].value
            attr = _literal_name(grand.args[1].value) if isinstance(owner, cst.Name) and owner.value == "self" else ""
            return Site("store-self", enclosing_statement(path[:index])[0], attr=attr) if attr else Site("escape")
        if isinstance(grand.func, cst.Attribute) and last in HANDOFF_METHODS:
            holder = grand.func.value
            attr = self_attribute(holder)
            statement, _loops = enclosing_statement(path[:index])
            if attr:
                return Site("store-self", statement, attr=attr)
            if isinstance(holder, cst.Name) and ctx.scope is not None and holder.value in ctx.scope.containers:
                return Site("track", statement, ((holder.value, spec),))
        if ctx.scope is not None and handed_to_returned_instance(ctx.scope.body, grand, parent, path[:index - 1]):
            return Site("escape")  # ``return Writer(file=open(p))``: the instance keeps it
        if borrowed_argument(outer, grand, parent, index > 1 and isinstance(path[index - 2], cst.WithItem)):
            # ``gzip.GzipFile(fileobj=open(p))``: the wrapper never closes what it is given.
            return Site("inline", use="passed-to", use_name=outer.replace("<local>.", "", 1))
        if outer in ctx.table or last in HANDOFF_METHODS or outer in HANDOFF_CALLS:
            return Site("escape")
        if outer in BORROWERS or outer.startswith(BORROWER_PREFIXES):
            if qualified in CLOSES_WHEN_EXHAUSTED and outer in CONSUMERS:
                return Site("skip")
            if spec.is_path and outer in ("pathlib.Path", "Path", "str", "os.fspath"):
                return Site("skip")  # the same path in another form: followed no further
            if outer in ("print",) or outer.startswith(BORROWER_PREFIXES):
                return Site("skip")
            return Site("inline", use="passed-to", use_name=outer)
        return Site("escape")
    if isinstance(parent, cst.Attribute) and parent.value is node:
        method = parent.attr.value
        if isinstance(grand, cst.Call) and grand.func is parent:
            if method in spec.release or method in ("__enter__", "__exit__", "__aenter__", "__aexit__"):
                return Site("skip")
            return Site("inline", use="method-call", use_name=method)
        if spec.model and method in KNOWLEDGE.released_by_reading.get(spec.model, ()):
            # ``requests.post(url, stream=True).text`` reads the body to the end, which hands
            # the connection back: what a named response does with ``response.text`` too.
            return Site("skip")
        return Site("inline", use="attribute", use_name=method)
    if isinstance(parent, cst.Subscript) and parent.value is node and spec.parts:
        kept = _kept_part(parent, grand, spec)
        if kept is not None:
            # ``conn = listener.accept()[0]``: the rest is the address, not a resource.
            statement, _loops = enclosing_statement(path[:index])
            return Site("track", statement, kept)
        return Site("inline", use="indexed")
    statement, _loops = enclosing_statement(path[: index + 1])
    if isinstance(parent, (cst.Assign, cst.AnnAssign)) and parent.value is node:
        targets = [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else [parent.target]
        if all(isinstance(t, cst.Name) for t in targets):
            if spec.parts:
                return Site("skip")
            return Site("track", statement, tuple((t.value, spec) for t in targets))  # type: ignore[attr-defined]
        if len(targets) == 1 and isinstance(targets[0], cst.Tuple) and spec.parts:
            names = []
            elements = targets[0].elements
            for position, part in spec.parts:
                if position < len(elements) and isinstance(elements[position].value, cst.Name):
                    names.append((elements[position].value.value, part))  # type: ignore[attr-defined]
            return Site("track", statement, tuple(names)) if names else Site("escape")
        attr = self_attribute(targets[0]) if len(targets) == 1 else None
        if attr:
            return Site("store-self", statement, attr=attr)
        target = targets[0]
        if (
            len(targets) == 1
            and isinstance(target, cst.Subscript)
            and isinstance(target.value, cst.Name)
            and ctx.scope is not None
            and target.value.value in ctx.scope.containers
        ):
            # Stored in a local dict or list: the container now holds it.
            return Site("track", statement, ((target.value.value, spec),))
        return Site("escape")
    if isinstance(parent, cst.NamedExpr) and parent.value is node and isinstance(parent.target, cst.Name):
        if spec.parts:
            return Site("skip")
        return Site("track", statement, ((parent.target.value, spec),))
    if isinstance(parent, cst.Expr) and parent.value is node:
        if _expected_to_raise(ctx, path):
            # ``with self.assertRaises(...): open(missing)``: the call is meant to fail.
            return Site("skip")
        if spec.model and KNOWLEDGE.models[spec.model].not_a_resource_when_discarded:
            # A method named accept() whose value is thrown away is not socket.accept().
            return Site("skip")
        if spec.parts:
            return Site("inline", use="discarded")
        return Site("dropped", statement)
    if isinstance(parent, (cst.For, cst.CompFor)) and parent.iter is node:
        if qualified in CLOSES_WHEN_EXHAUSTED:
            if isinstance(parent, cst.For) and _can_stop_early(parent):
                return Site("inline", use="iterated-stoppable")
            return Site("skip")
        return Site("inline", use="iterated")
    if isinstance(parent, (cst.Return, cst.Yield, cst.Element, cst.DictElement, cst.StarredElement, cst.Lambda)):
        return Site("escape")
    if isinstance(parent, cst.From) and isinstance(grand, cst.Yield):
        # ``yield from open(p)``: the generator reads it to the end and never closes it.
        if qualified in CLOSES_WHEN_EXHAUSTED:
            return Site("skip")
        return Site("inline", use="yielded-from")
    return Site("skip")


def _kept_part(
    subscript: cst.Subscript, holder: Optional[cst.CSTNode], spec: ResourceSpec
) -> Optional[Tuple[Tuple[str, ResourceSpec], ...]]:
    """``name = call()[i]`` where part ``i`` is the only resource of the tuple: that part,
    followed under ``name``; else None."""
    if len(subscript.slice) != 1 or not isinstance(subscript.slice[0].slice, cst.Index):
        return None
    index = subscript.slice[0].slice.value
    if not isinstance(index, cst.Integer) or len(spec.parts) != 1 or spec.parts[0][0] != int(index.value):
        return None
    if not (isinstance(holder, cst.Assign) and holder.value is subscript and len(holder.targets) == 1):
        return None
    target = holder.targets[0].target
    if not isinstance(target, cst.Name):
        return None
    return ((target.value, spec.parts[0][1]),)


def borrowed_argument(qualified: str, call: cst.Call, arg: cst.Arg, in_with: bool = False) -> bool:
    """Whether ``arg`` of ``call`` goes to a parameter that only borrows what it is given
    (``borrowed_params`` of the knowledge: ``gzip.GzipFile(fileobj=f)`` never closes ``f``;
    a ``file=`` keyword of any call; ``http_client=`` of a call that is a ``with`` item)."""
    if arg.keyword is not None and arg.keyword.value in BORROWING_KEYWORDS:
        return True
    if arg.keyword is not None and arg.keyword.value in SCOPED_BORROWING_KEYWORDS and in_with:
        return True
    params = BORROWED_PARAMS.get(qualified)
    if not params:
        return False
    if arg.keyword is not None:
        return any(arg.keyword.value == name for name, _position in params)
    positional = [a for a in call.args if a.keyword is None and a.star == ""]
    index = next((i for i, a in enumerate(positional) if a is arg), -1)
    return index >= 0 and any(position == index for _name, position in params)


def _expected_to_raise(ctx: "ModuleContext", path: Tuple[cst.CSTNode, ...]) -> bool:
    for node in reversed(path):
        if isinstance(node, cst.With):
            for item in node.items:
                expr = item.item
                if isinstance(expr, cst.Call):
                    last = last_name(expr.func)
                    if last.startswith("assertRaises") or last in ("raises", "assertWarns", "suppress"):
                        return True
            return False
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            return False
    return False


def _can_stop_early(loop: cst.For) -> bool:
    """A ``return`` or ``raise`` in the loop, or a ``break`` of this loop itself."""
    for found, path in find(loop.body, (cst.Return, cst.Break, cst.Raise)):
        if isinstance(found, cst.Break) and any(isinstance(p, (cst.For, cst.While)) for p in path):
            continue
        return True
    return False

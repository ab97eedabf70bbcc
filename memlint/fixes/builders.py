"""Fix builders: from one defect of the analysis to a ``WithRewrite``, or to nothing.

Every builder answers "would ``with`` do exactly what the code does now on the normal
path, and release the resource on the other paths too?" and returns ``None`` whenever it
cannot show that. Refusing is always allowed; a wrong rewrite never is. The cases:

- ``bound``: ``x = acquire()`` followed in the same block by the statements that use ``x``
  and, optionally, one plain ``x.close()`` after the last use (MEM001/MEM003);
- ``inline``: ``data = open(p).read()``, ``for line in open(p):`` (MEM001);
- ``try_finally``: ``x = acquire()`` then ``try: ... finally: x.close()`` (MEM041).

Several bound resources acquired one after the other whose ranges nest and end together
become one ``with a as x, b as y:`` (``merge``).
"""

from __future__ import annotations

import builtins
import keyword
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple

import libcst as cst

from memlint.analysis.model import Acquisition, Defect
from memlint.analysis.names import ImportTable, block_of, child_blocks, dotted, is_binding_target, iter_statements
from memlint.analysis.resources import ANY_RELEASE_FUNCS, BORROWER_PREFIXES, BORROWERS, LOGGING_METHODS, RESOURCE_CALLS
from memlint.analysis.walk import find
from memlint.fixes.model import Manageable, WithItemPlan, WithRewrite
from memlint.fixes.table import (
    DETACHING_ATTRIBUTES,
    DETACHING_METHODS,
    EAGER_CONSUMERS,
    MANAGEABLE,
    MANAGEABLE_METHODS,
)

SMALL = (cst.SimpleStatementLine,)
# The longest header merged into one ``with a as x, b as y:`` line.
MAX_HEADER = 80
NESTED_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda, cst.GeneratorExp)
CONDITIONAL = (cst.BooleanOperation, cst.IfExp, cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
EFFECTS = (cst.Call, cst.Await, cst.Yield)
# Categories where the release, if any, sits in the acquisition's own block.
BOUND_CATEGORIES = frozenset({"never", "return", "raise", "loop-exit", "error", "branch"})
# What ``with`` itself does, besides the kind's release methods: never a plain use.
ALWAYS_RELEASES = frozenset({"close", "aclose", "__exit__", "__aexit__", "detach", "release", "cleanup"})
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


@dataclass
class Block:
    """A sequence of statements (a function, module or compound-statement body)."""

    statements: Sequence[cst.CSTNode]
    # True for the scope's own body (a function's or the module's top level).
    top: bool


@dataclass
class BoundPlan:
    """A range of one block that a ``with`` can cover for one named resource."""

    defect: Defect
    block: Block
    start: int
    end: int
    name: str
    call: cst.CSTNode
    manageable: Manageable
    release: Optional[cst.CSTNode]
    safe: bool
    # Statements at indexes inside the range that the rewrite removes.
    drops: Set[int] = field(default_factory=set)


class FixContext:
    """What the builders share for one module: imports, blocks, names in use."""

    def __init__(self, module: cst.Module, custom: Iterable[str] = ()) -> None:
        self.module = module
        # Calls named in ``[tool.memlint.resources]``: resources, but of no known kind.
        self.custom = frozenset(custom)
        self.imports = ImportTable()
        for statement in iter_statements(list(module.body), into_functions=True):
            if isinstance(statement, SMALL):
                for small in statement.body:
                    self.imports.add(small)
        # Module-level functions by name: factories whose result a ``with`` can manage.
        self.functions: Dict[str, cst.FunctionDef] = {
            statement.name.value: statement for statement in module.body if isinstance(statement, cst.FunctionDef)
        }
        # Names in use per scope (by id), grown by the fresh names handed out.
        self._names: Dict[int, Set[str]] = {}

    # -- lookups ------------------------------------------------------------------

    def manageable(self, acquisition: Acquisition) -> Optional[Manageable]:
        """How a ``with`` can manage what ``acquisition`` creates, or None."""
        call = acquisition.call
        if isinstance(call, cst.Await):
            call = call.expression
        if not isinstance(call, cst.Call) or acquisition.spec.inferred:
            return None  # known only by its release: what its ``with`` does is unknown
        name = dotted(call.func)
        if name is not None:
            qualified = self.imports.resolve(name)
            if qualified in MANAGEABLE:
                return MANAGEABLE[qualified]
            if qualified in RESOURCE_CALLS or qualified in self.custom or name.startswith(("self.", "cls.")):
                # Known to the analysis under this name, but with no equivalent ``with``
                # (or a method of this class whose result is not checked here).
                return None
        if isinstance(call.func, cst.Name):
            function = self.functions.get(call.func.value)
            return self._factory(function, depth=0) if function is not None else None
        # ``Path(p).open()``, ``zf.open(member)``, ``ctx.wrap_socket(s)``: the analysis
        # only calls these acquisitions when it knows the receiver's kind.
        if isinstance(call.func, cst.Attribute):
            return MANAGEABLE_METHODS.get(call.func.attr.value)
        return None

    def _factory(self, function: cst.FunctionDef, depth: int) -> Optional[Manageable]:
        """The kind a module-level factory returns, when every ``return`` hands back a fresh
        acquisition of one and the same manageable kind (``return sqlite3.connect(db)``)."""
        if depth > 3:
            return None
        kinds = set()
        for found, _ in find(function.body, (cst.Return, cst.Yield)):
            value = getattr(found, "value", None)
            if isinstance(value, cst.Name):
                value = _only_binding(function, value.value)
            if isinstance(found, cst.Yield) or not isinstance(value, cst.Call):
                return None
            name = dotted(value.func)
            kind = MANAGEABLE.get(self.imports.resolve(name)) if name else None
            if kind is None and isinstance(value.func, cst.Name) and value.func.value in self.functions:
                kind = self._factory(self.functions[value.func.value], depth + 1)
            if kind is None or kind.is_async:
                return None
            kinds.add(kind)
        if len(kinds) != 1:
            return None
        kind = kinds.pop()
        # What the caller passed decides the mode: the factory's own arguments are not seen.
        return replace(kind, quiet=kind.quiet and not kind.mode_args)

    def block_of_statement(self, scope: cst.CSTNode, statement: cst.CSTNode) -> Optional[Tuple[Block, int]]:
        """The block (of an indented body or the module) whose statement is or holds ``statement``."""
        if isinstance(scope, cst.Module):
            body: Sequence[cst.CSTNode] = scope.body
        elif isinstance(scope, cst.FunctionDef) and isinstance(scope.body, cst.IndentedBlock):
            body = scope.body.body
        else:
            return None
        stack: List[Tuple[Sequence[cst.CSTNode], bool]] = [(body, True)]
        while stack:
            statements, top = stack.pop()
            for index, item in enumerate(statements):
                if item is statement or (isinstance(item, SMALL) and statement in item.body):
                    return Block(statements, top), index
                if isinstance(item, (cst.FunctionDef, cst.ClassDef)):
                    continue
                for child in _indented_blocks(item):
                    stack.append((child, False))
        return None

    def fresh_name(self, scope: cst.CSTNode, stem: str) -> str:
        """A name that nothing in ``scope`` uses (nested functions included), so binding it
        there shadows and clashes with nothing; at module level, nothing in the module."""
        key = id(scope)
        names = self._names.get(key)
        if names is None:
            names = {node.value for node, _ in find(scope, (cst.Name,), stop=())}  # type: ignore[attr-defined]
            self._names[key] = names
        candidates = [stem, stem + "_"] + [f"{stem}{n}" for n in range(1, 100)]
        for candidate in candidates:
            if candidate not in names and not keyword.iskeyword(candidate) and not hasattr(builtins, candidate):
                names.add(candidate)
                return candidate
        raise ValueError(f"no free name for {stem!r}")  # pragma: no cover - 100 names in use

    def closing_reference(self) -> Optional[Tuple[str, bool]]:
        """How this module spells ``contextlib.closing``, and whether an import must be added
        for it; None when ``contextlib`` means something else here."""
        top = ImportTable()
        for statement in self.module.body:
            if isinstance(statement, SMALL):
                for small in statement.body:
                    if isinstance(small, cst.Import):
                        top.add_import(small)
                    elif isinstance(small, cst.ImportFrom):
                        top.add_import_from(small)
        for local, qualified in sorted(top.aliases.items()):
            if qualified == "contextlib.closing":
                return local, False
        for local, qualified in sorted(top.aliases.items()):
            if qualified == "contextlib":
                return f"{local}.closing", False
        if any(node.value == "contextlib" for node, _ in find(self.module, (cst.Name,), stop=())):  # type: ignore[attr-defined]
            return None
        return "contextlib.closing", True

    def import_anchor(self) -> Tuple[Optional[cst.CSTNode], Optional[cst.CSTNode]]:
        """Where a new import goes: after the module's leading docstring and imports, or
        before its first statement when it has none."""
        after: Optional[cst.CSTNode] = None
        for index, statement in enumerate(self.module.body):
            if not isinstance(statement, SMALL) or len(statement.body) != 1:
                break
            small = statement.body[0]
            if isinstance(small, (cst.Import, cst.ImportFrom)):
                after = statement
            elif index == 0 and isinstance(small, cst.Expr) and isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString)):
                after = statement
            else:
                break
        if after is not None:
            return after, None
        return None, self.module.body[0]

    def resolve(self, node: cst.BaseExpression) -> str:
        name = dotted(node)
        return self.imports.resolve(name) if name else ""


def _only_binding(function: cst.FunctionDef, name: str) -> Optional[cst.CSTNode]:
    """The value of the one plain assignment ``name = value`` in ``function``, if that is
    the only place that binds ``name``; else None."""
    values = []
    for found, path in _mentions(function.body, {name}):
        if not _is_store(found, path):
            continue
        parent = path[-1] if path else None
        grand = path[-2] if len(path) > 1 else None
        if not (isinstance(parent, cst.AssignTarget) and isinstance(grand, cst.Assign) and len(grand.targets) == 1):
            return None
        values.append(grand.value)
    return values[0] if len(values) == 1 else None


def _indented_blocks(statement: cst.CSTNode) -> List[Sequence[cst.CSTNode]]:
    """Child blocks that are indented bodies (``if x: y`` on one line is left alone)."""
    blocks: List[Sequence[cst.CSTNode]] = []
    for block in child_blocks(statement, into_functions=False):
        if block and not isinstance(block[0], cst.SimpleStatementSuite):
            blocks.append(block)
    return blocks


# -- mentions of a name ------------------------------------------------------------


def _is_reference(found: cst.CSTNode, path: Tuple[cst.CSTNode, ...]) -> bool:
    """False for the ``b`` of ``a.b``, keyword argument names, and definitions' names."""
    if not path:
        return True
    parent = path[-1]
    if isinstance(parent, cst.Attribute) and parent.attr is found:
        return False
    if isinstance(parent, cst.Arg) and parent.keyword is found:
        return False
    if isinstance(parent, (cst.ImportAlias, cst.AsName)) and isinstance(path[-2] if len(path) > 1 else None, (cst.ImportAlias, cst.Import, cst.ImportFrom)):
        return False
    return True


def _mentions(root: cst.CSTNode, names: Set[str]) -> List[Tuple[cst.CSTNode, Tuple[cst.CSTNode, ...]]]:
    """References to any of ``names`` (plain or dotted, like ``self._lock``) under ``root``."""
    dotted_names = {name for name in names if "." in name}
    found = []
    for node, path in find(root, (cst.Name, cst.Attribute) if dotted_names else (cst.Name,), stop=()):
        if isinstance(node, cst.Name):
            if node.value in names and _is_reference(node, path):
                found.append((node, path))
        elif dotted(node) in dotted_names:  # type: ignore[arg-type]
            found.append((node, path))
    return found


def _count(roots: Sequence[cst.CSTNode], name: str) -> int:
    return sum(len(_mentions(root, {name})) for root in roots)


def _is_store(found: cst.CSTNode, path: Tuple[cst.CSTNode, ...]) -> bool:
    if is_binding_target(found, path):
        return True
    index = len(path) - 1
    while index >= 0 and isinstance(path[index], (cst.Element, cst.StarredElement, cst.Tuple, cst.List)):
        index -= 1
    stores = (cst.Del, cst.Global, cst.Nonlocal, cst.NameItem, cst.Param, cst.FunctionDef, cst.ClassDef)
    return index >= 0 and isinstance(path[index], stores)


def _is_release_call(found: cst.CSTNode, path: Tuple[cst.CSTNode, ...], releases: Set[str], fx: FixContext) -> bool:
    parent = path[-1] if path else None
    grand = path[-2] if len(path) > 1 else None
    if isinstance(parent, cst.Attribute) and parent.value is found and parent.attr.value in releases:
        return True
    if isinstance(parent, cst.Arg) and isinstance(grand, cst.Call):
        qualified = fx.resolve(grand.func)
        last = qualified.rsplit(".", 1)[-1]
        if qualified in ANY_RELEASE_FUNCS or last in ("closing", "aclosing", "enter_context", "enter_async_context", "callback", "register", "finalize"):
            return True
    return isinstance(parent, cst.WithItem)


def _is_detached(
    found: cst.CSTNode, path: Tuple[cst.CSTNode, ...], fx: FixContext, extra: FrozenSet[str] = frozenset()
) -> bool:
    """The value of the expression around this mention holds no reference to the resource:
    ``f.read()``, ``conn.execute(q).fetchall()``, ``json.load(f)``, ``db[key]``, ``s.name``."""
    parent = path[-1] if path else None
    grand = path[-2] if len(path) > 1 else None
    if isinstance(parent, cst.Attribute) and parent.value is found:
        current: cst.CSTNode = found
        depth = len(path)
        # Walk up a chain of method calls: one detaching call makes the rest plain data.
        while depth >= 2:
            attribute, call = path[depth - 1], path[depth - 2]
            if not (isinstance(attribute, cst.Attribute) and attribute.value is current):
                break
            if not (isinstance(call, cst.Call) and call.func is attribute):
                if current is found and attribute.attr.value in DETACHING_ATTRIBUTES:
                    return True
                # ``proc.stdout.readline()``: step over a plain attribute.
                current = attribute
                depth -= 1
                continue
            method = attribute.attr.value
            if (method in DETACHING_METHODS or method in extra) and not _streams(call):
                return True
            current = call
            depth -= 2
        return False
    if isinstance(parent, cst.Arg) and isinstance(grand, cst.Call) and parent.value is found:
        return fx.resolve(grand.func) in EAGER_CONSUMERS
    if isinstance(parent, cst.Subscript) and parent.value is found:
        return True
    if isinstance(parent, cst.For) and parent.iter is found:
        return True
    if isinstance(parent, (cst.Comparison, cst.ComparisonTarget)):
        return True
    if isinstance(parent, (cst.If, cst.While)) and parent.test is found:
        return True
    return False


def _handed_to_unknown_call(found: cst.CSTNode, path: Tuple[cst.CSTNode, ...], fx: FixContext) -> bool:
    """``register(x)``, ``self.set_socket(x)``: a call that may keep ``x`` after the ``with``
    closed it. Readers that only borrow it (``json.load``, ``shutil.copyfileobj``,
    ``print(file=x)``, logging) are fine; a lazy one (``csv.reader``) taints its result."""
    parent = path[-1] if path else None
    grand = path[-2] if len(path) > 1 else None
    if not (isinstance(parent, cst.Arg) and parent.value is found and isinstance(grand, cst.Call)):
        return False
    qualified = fx.resolve(grand.func)
    last = qualified.rsplit(".", 1)[-1] if qualified else ""
    if qualified in EAGER_CONSUMERS or qualified in BORROWERS or qualified.startswith(BORROWER_PREFIXES):
        return False
    return last not in LOGGING_METHODS


def _streams(call: cst.Call) -> bool:
    """``session.get(url, stream=True)``: the response reads from the session later."""
    return any(arg.keyword is not None and arg.keyword.value == "stream" for arg in call.args)


def _small_of(path: Tuple[cst.CSTNode, ...]) -> Optional[cst.CSTNode]:
    for node in reversed(path):
        if isinstance(node, cst.BaseSmallStatement):
            return node
    return None


def _bound_targets(small: cst.CSTNode) -> Optional[List[str]]:
    """Plain names bound by an assignment; None if some target is not a plain name."""
    if isinstance(small, cst.Assign):
        targets = [t.target for t in small.targets]
    elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
        targets = [small.target]
    else:
        return None
    names: List[str] = []
    for target in targets:
        if isinstance(target, cst.Name):
            names.append(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)) and all(isinstance(e.value, cst.Name) for e in target.elements):
            names.extend(e.value.value for e in target.elements)  # type: ignore[attr-defined]
        else:
            return None
    return names


class _Refused(Exception):
    """The range cannot be covered by ``with`` without changing behaviour."""


def _follow(
    statement: cst.CSTNode, tainted: Set[str], name: str, fx: FixContext, extra: FrozenSet[str]
) -> Tuple[bool, Set[str]]:
    """Whether ``statement`` mentions the resource (or what holds it), and the names that
    hold it after the statement. Raises ``_Refused`` for a use ``with`` cannot keep."""
    grown = set(tainted)
    seen: Set[int] = set()
    mentioned = False
    # What a statement binds from the resource may be used later in the same statement (a
    # loop body, the next iteration): repeat until no new name holds it.
    while True:
        before = len(grown)
        for found, path in _mentions(statement, set(grown)):
            if id(found) in seen:
                continue
            seen.add(id(found))
            mentioned = True
            _check_use(statement, found, path, name, grown, fx, extra)
        if len(grown) == before:
            return mentioned, grown


def _check_use(
    statement: cst.CSTNode,
    found: cst.CSTNode,
    path: Tuple[cst.CSTNode, ...],
    name: str,
    grown: Set[str],
    fx: FixContext,
    extra: FrozenSet[str],
) -> None:
    """Check one use of the resource (or of a name holding it); add the names it binds."""
    if any(isinstance(p, NESTED_SCOPES) for p in path):
        raise _Refused("used in a nested function, class or generator")
    if _is_store(found, path):
        if dotted(found) == name:  # type: ignore[arg-type]
            raise _Refused("rebound")
        # A name holding something derived from it, (re)bound: it stays held, to be safe.
        return
    if _is_detached(found, path, fx, extra):
        return
    small = _small_of(path)
    if isinstance(small, (cst.Return,)) or any(isinstance(p, (cst.Yield, cst.Return)) for p in path):
        raise _Refused("returned or yielded while it may still be needed")
    if _handed_to_unknown_call(found, path, fx):
        raise _Refused("passed to a call that may keep it")
    with_item = next((p for p in reversed(path) if isinstance(p, cst.WithItem)), None)
    if with_item is not None:
        if with_item.asname is None or not isinstance(with_item.asname.name, cst.Name):
            raise _Refused("managed by another with")
        grown.add(with_item.asname.name.value)
        return
    named = next((p for p in reversed(path) if isinstance(p, cst.NamedExpr)), None)
    if named is not None:
        raise _Refused("bound by a walrus")
    if isinstance(small, cst.Expr):
        return
    if small is None:
        # A compound statement's header: ``if``/``while`` tests and ``for`` iterables are
        # consumed by the statement itself.
        header = next((p for p in reversed(path) if isinstance(p, cst.BaseCompoundStatement)), None)
        if isinstance(header, cst.For) and any(p is header.iter for p in path):
            return
        if isinstance(header, (cst.If, cst.While)) and any(p is header.test for p in path):
            return
        raise _Refused("used in a statement header")
    targets = _bound_targets(small)
    if targets is None:
        raise _Refused("stored somewhere the fixer cannot follow")
    grown.update(targets)


def bound_plan(fx: FixContext, defect: Defect) -> Optional[BoundPlan]:
    """The range a ``with`` covers for ``x = acquire()`` (or ``lock.acquire()``), or None."""
    acquisition = defect.acquisition
    if acquisition is None or defect.category not in BOUND_CATEGORIES or len(acquisition.names) != 1:
        return None
    scope = acquisition.scope
    statement = acquisition.statement
    if scope is None or statement is None:
        return None
    name = acquisition.names[0]
    header = _lock_header(acquisition, statement, name)
    if header is not None:
        call, manageable = header, LOCK
    else:
        found = _assigned_call(fx, acquisition, statement, name)
        if found is None:
            return None
        call, manageable = found
    if manageable.is_async and not (isinstance(scope, cst.FunctionDef) and scope.asynchronous is not None):
        return None
    located = fx.block_of_statement(scope, statement)
    if located is None:
        return None
    block, start = located
    line = block.statements[start]
    if not isinstance(line, SMALL) or len(line.body) != 1:
        return None
    releases = set(manageable.releases) | set(acquisition.spec.release) | ALWAYS_RELEASES
    if manageable is LOCK:
        releases |= {"acquire"}
    tainted = {name}
    end = start
    release_index: Optional[int] = None
    release_node: Optional[cst.CSTNode] = None
    try:
        for index in range(start + 1, len(block.statements)):
            item = block.statements[index]
            if _deletes(item, name) and tainted == {name}:
                # ``del f``: the last reference goes, and CPython closes the file right there.
                release_node, release_index, end = item, index, index
                break
            own = _mentions(item, {name})
            if any(_is_release_call(m[0], m[1], releases, fx) for m in own):
                release_node = _plain_release(item, name, manageable)
                if release_node is None or len(own) != 1:
                    return None
                release_index = end = index
                break
            mentions, tainted = _follow(item, tainted, name, fx, manageable.detaching)
            if mentions:
                end = index
    except _Refused:
        return None
    if end == start or (release_index is not None and release_index == start + 1):
        # Nothing between acquiring and releasing (``o = BZ2File(p); del o`` in a test of
        # ``__del__``): a ``with ...: pass`` would say something else.
        return None
    in_range = list(block.statements[start : end + 1])
    for held in tainted if release_index is None else {name}:
        if _count([scope], held) != _count(in_range, held):
            return None
    # A lock never released was held on purpose, or is a bug whose fix is a decision.
    explicit = release_index is not None
    safe = manageable.safe and (
        explicit or _quiet(manageable, call) or (manageable is not LOCK and _nothing_observes_after(block, end))
    )
    drops = {start} | ({release_index} if release_index is not None else set())
    return BoundPlan(defect, block, start, end, name, call, manageable, release_node, safe, drops)


# ``lock.acquire()`` ... ``lock.release()`` -> ``with lock:``.
LOCK = Manageable(frozenset({"release"}), stem="lock")


def _lock_header(acquisition: Acquisition, statement: cst.CSTNode, name: str) -> Optional[cst.CSTNode]:
    """The lock expression of a blocking ``lock.acquire()`` statement, or None."""
    if acquisition.spec.kind != "lock" or not isinstance(statement, cst.Expr):
        return None
    call = statement.value
    if not isinstance(call, cst.Call) or call.args or not isinstance(call.func, cst.Attribute):
        return None
    if call.func.attr.value != "acquire" or dotted(call.func.value) != name:
        return None
    return call.func.value


def _assigned_call(
    fx: FixContext, acquisition: Acquisition, statement: cst.CSTNode, name: str
) -> Optional[Tuple[cst.CSTNode, Manageable]]:
    """For ``x = call()`` (or ``x = await call()``) of a manageable kind: the call and its kind."""
    if not isinstance(statement, cst.Assign) or len(statement.targets) != 1:
        return None
    target = statement.targets[0].target
    if not isinstance(target, cst.Name) or target.value != name:
        return None
    manageable = fx.manageable(acquisition)
    if manageable is None:
        return None
    value = statement.value
    if manageable.awaited != isinstance(value, cst.Await):
        return None
    call = value.expression if isinstance(value, cst.Await) else value
    if call is not acquisition.call and value is not acquisition.call:
        return None
    return call, manageable


def _plain_release(statement: cst.CSTNode, name: str, manageable: Manageable) -> Optional[cst.CSTNode]:
    """``x.close()`` alone on its line, with no argument and its value unused."""
    if not isinstance(statement, SMALL) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if not isinstance(small, cst.Expr):
        return None
    value = small.value
    if manageable.is_async:
        if not isinstance(value, cst.Await):
            return None
        value = value.expression
    if not isinstance(value, cst.Call) or value.args or not isinstance(value.func, cst.Attribute):
        return None
    func = value.func
    if dotted(func.value) != name or func.attr.value not in manageable.releases:
        return None
    return statement


def _deletes(statement: cst.CSTNode, name: str) -> bool:
    """``del name`` alone on its line."""
    if not isinstance(statement, SMALL) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    return isinstance(small, cst.Del) and isinstance(small.target, cst.Name) and small.target.value == name


def _quiet(manageable: Manageable, call: cst.CSTNode) -> bool:
    """Whether closing this resource earlier than the code did is invisible to later code."""
    if not manageable.quiet or not isinstance(call, cst.Call):
        return False
    positional = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
    modes = [positional[i] for i in manageable.mode_args if i < len(positional)]
    modes += [arg.value for arg in call.args if arg.keyword is not None and arg.keyword.value == "mode"]
    if any(arg.star for arg in call.args) and manageable.mode_args:
        return False
    for mode in modes:
        if not isinstance(mode, cst.SimpleString):
            return False
        if set(str(mode.evaluated_value)) & set("wax+"):
            return False
    return True


def _nothing_observes_after(block: Block, end: int) -> bool:
    """With no release call to stand in for, ``with`` closes at the end of the range where the
    code closed at the end of the function (or never). Only when nothing that runs later
    can look (no call at all) is that the same behaviour."""
    if not block.top:
        return False
    for statement in block.statements[end + 1 :]:
        if any(True for _ in find(statement, EFFECTS, stop=())):
            return False
    return True


def rewrite_for_plans(fx: FixContext, plans: Sequence[BoundPlan]) -> Optional[WithRewrite]:
    """One ``with`` for one plan, or for several plans whose ranges nest and end together."""
    outer = plans[0]
    drops: Set[int] = set()
    items: List[WithItemPlan] = []
    needs_import = False
    for plan in plans:
        drops |= plan.drops
        wrapper = ""
        if plan.manageable.closing:
            found = fx.closing_reference()
            if found is None:
                return None
            wrapper, added = found
            needs_import = needs_import or added
        items.append(WithItemPlan(plan.call, "" if plan.manageable is LOCK else plan.name, wrapper))
    names = ", ".join(f"`{plan.name}`" for plan in plans)
    statements = outer.block.statements
    rewrite = WithRewrite(
        message=f"use `{'async ' if outer.manageable.is_async else ''}with` for {names}",
        safe=all(plan.safe for plan in plans),
        first=statements[outer.start],
        last=statements[outer.end],
        items=tuple(items),
        is_async=outer.manageable.is_async,
        drop=tuple(statements[index] for index in sorted(drops) if index != outer.start),
    )
    return _with_import(fx, rewrite) if needs_import else rewrite


def merge(plans: List[BoundPlan], code: Callable[[cst.CSTNode], str]) -> List[List[BoundPlan]]:
    """Group plans of one block acquired back to back whose ranges end together.

    ``fin = open(a)`` / ``fout = open(b)`` / ... / ``fout.close()`` / ``fin.close()``
    becomes ``with open(a) as fin, open(b) as fout:``; the closes must come in reverse
    order of acquisition, as ``with`` releases them.
    """
    by_start = {plan.start: plan for plan in plans}
    groups: List[List[BoundPlan]] = []
    used: Set[int] = set()
    for plan in sorted(plans, key=lambda p: p.start):
        if id(plan) in used:
            continue
        group = [plan]
        used.add(id(plan))
        while True:
            follower = by_start.get(group[-1].start + 1)
            if follower is None or id(follower) in used or follower.manageable.is_async != plan.manageable.is_async:
                break
            dropped = _drops(group)
            # Only the releases of the outer ones may follow the inner range.
            if follower.end > plan.end or any(i not in dropped for i in range(follower.end + 1, plan.end + 1)):
                break
            if sum(len(code(p.call)) + len(p.name) + 6 for p in group + [follower]) > MAX_HEADER:
                # One long line reads worse than nested withs (and 3.9 has no parentheses).
                break
            group.append(follower)
            used.add(id(follower))
        groups.append(group)
    return groups


def _drops(group: List[BoundPlan]) -> Set[int]:
    found: Set[int] = set()
    for plan in group:
        found |= plan.drops
    return found


# -- inline acquisitions -------------------------------------------------------------


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
    safe = manageable.safe
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
    if _effects_before(evaluated, call):
        return None
    consumer = comprehension or _consumer(call, path)
    if not isinstance(statement, cst.For):
        # ``csv.reader(open(p))`` keeps reading the file after the statement: no fix.
        if consumer is None or not (comprehension is not None or _is_detached(call, path, fx, manageable.detaching)):
            return None
        if safe:
            # The ``with`` closes at the end of the statement, not right after the consumer:
            # invisible when the rest of the statement calls nothing, or when it was only read.
            safe = _quiet(manageable, call) or _only_pure_calls(evaluated, call, consumer)
    if isinstance(scope, cst.Module) or _introspects(scope):
        # The fresh name becomes a new attribute of the module, or shows in ``locals()``.
        safe = False
    name = fx.fresh_name(scope, manageable.stem)
    wrapper, needs_import = "", False
    if manageable.closing:
        # A DB-API connection's own ``with`` only ends a transaction: ``closing()`` closes.
        found = fx.closing_reference()
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
    )
    return _with_import(fx, rewrite) if needs_import else rewrite


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


def _only_pure_calls(expression: cst.CSTNode, call: cst.CSTNode, consumer: Optional[cst.CSTNode]) -> bool:
    for found, path in find(expression, EFFECTS, stop=()):
        if found is call or (found is consumer and isinstance(found, cst.Call)) or any(p is call for p in path):
            continue
        if isinstance(found, cst.Call):
            name = dotted(found.func) or ""
            if name.rsplit(".", 1)[-1] in PURE_CALLS:
                continue
        return False
    return True


# -- try/finally (MEM041) ----------------------------------------------------------


def try_finally_rewrite(fx: FixContext, defect: Defect) -> Optional[WithRewrite]:
    """``x = acquire()`` + ``try: body finally: x.close()`` -> ``with acquire() as x: body``."""
    acquisition = defect.acquisition
    if acquisition is None or defect.category != "prefer-with" or len(acquisition.names) != 1:
        return None
    statement = acquisition.statement
    manageable = fx.manageable(acquisition)
    scope = acquisition.scope
    if not isinstance(statement, cst.Assign) or manageable is None or scope is None:
        return None
    if manageable.awaited != isinstance(statement.value, cst.Await):
        return None
    if manageable.is_async and not (isinstance(scope, cst.FunctionDef) and scope.asynchronous is not None):
        return None
    name = acquisition.names[0]
    located = fx.block_of_statement(scope, statement)
    if located is None:
        return None
    block, start = located
    if start + 1 >= len(block.statements):
        return None
    line, follower = block.statements[start], block.statements[start + 1]
    if not isinstance(line, SMALL) or len(line.body) != 1 or not isinstance(follower, cst.Try):
        return None
    if follower.handlers or follower.orelse is not None or follower.finalbody is None:
        return None
    if not isinstance(follower.body, cst.IndentedBlock) or not isinstance(follower.finalbody.body, cst.IndentedBlock):
        return None
    final = follower.finalbody.body.body
    if len(final) != 1 or _plain_release(final[0], name, manageable) is None:
        return None
    # ``finally`` closes whatever ``x`` holds by then; ``with`` closes what it acquired.
    for found, path in _mentions(follower.body, {name}):
        if _is_store(found, path):
            return None
    value = statement.value
    call = value.expression if isinstance(value, cst.Await) else value
    wrapper, needs_import = "", False
    if manageable.closing:
        found = fx.closing_reference()
        if found is None:
            return None
        wrapper, needs_import = found
    rewrite = WithRewrite(
        message=f"replace the `try`/`finally` with `{'async ' if manageable.is_async else ''}with` for `{name}`",
        safe=manageable.safe,
        first=line,
        last=follower,
        items=(WithItemPlan(call, name, wrapper),),
        is_async=manageable.is_async,
        unwrap=follower,
    )
    return _with_import(fx, rewrite) if needs_import else rewrite


def _with_import(fx: FixContext, rewrite: WithRewrite) -> WithRewrite:
    after, before = fx.import_anchor()
    return replace(rewrite, import_text="import contextlib", import_after=after, import_before=before)


# -- the entry point -----------------------------------------------------------------


def build_fixes(module: cst.Module, defects: Sequence[Defect], custom: Iterable[str] = ()) -> Dict[int, WithRewrite]:
    """Fixes for the defects that have one, keyed by ``id(defect)``. ``custom`` names the
    calls configured as resources (never fixed: their ``with`` is unknown)."""
    fx = FixContext(module, custom)
    rewrites: Dict[int, WithRewrite] = {}
    plans: Dict[int, List[BoundPlan]] = {}
    for defect in defects:
        if defect.code not in ("MEM001", "MEM003", "MEM041"):
            continue
        try:
            if defect.category == "inline":
                rewrite = inline_rewrite(fx, defect)
                if rewrite is not None:
                    rewrites[id(defect)] = rewrite
            elif defect.category == "prefer-with":
                rewrite = try_finally_rewrite(fx, defect)
                if rewrite is not None:
                    rewrites[id(defect)] = rewrite
            else:
                plan = bound_plan(fx, defect)
                if plan is not None:
                    plans.setdefault(id(plan.block.statements), []).append(plan)
        except RecursionError:  # pragma: no cover - absurdly deep code: no fix, still a finding
            continue
    for block_plans in plans.values():
        for group in merge(block_plans, module.code_for_node):
            rewrite = rewrite_for_plans(fx, group)
            if rewrite is None:
                continue
            for plan in group:
                rewrites[id(plan.defect)] = rewrite
    return rewrites

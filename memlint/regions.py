"""Parse with libcst only the statements that can hold a finding.

The resource analysis starts from a few kinds of place (``memlint.prefilter.trigger_names``:
the knowledge's resource-creating callables, release verbs, context-manager words, and
``[tool.memlint.resources]``). A statement whose code names none of them, and that no such
place depends on, cannot change a finding. ``ast`` (already run to validate the file, in
C) says where each top-level statement, and each statement of a top-level class body,
starts and ends; the ones left out are replaced by empty lines (a class left with no
statement gets a ``pass``), so libcst parses a text with the file's lines and columns and
every position found in it is already the file's.

A *unit* is a top-level statement, a top-level class's header, or one statement of its
body. Which units are kept is decided on names, never on a list of constructs, so that a
new stage or a new knowledge entry is followed without change here:

- seeds: a unit whose code names a trigger (an identifier, not a word in a string or a
  comment), a name that an import binds to one (``import sqlite3 as db``, ``from sqlite3
  import connect``), or registers a value on ``self`` (``analysis.facts.MAY_REGISTER``);
- what seeds make: a unit naming a function or class a seed defines (a module-local
  factory, a resource class), or a name or attribute a seed's acquiring statement binds
  (``self._sock = socket.socket()``: every method using ``_sock``), is a seed too, to a
  fixed point;
- what kept units read: a unit defining a name or attribute that a kept unit mentions (a
  helper it calls, a base class, a constant), transitively;
- module context: the docstrings, and every top-level statement up to the last top-level
  import (the fixer places ``import contextlib`` among them).

A method of a kept class that is left out keeps its header over a ``pass`` (the rules
read a class's method names and kinds). The whole file is parsed for the growth rules and
any rule that ``reads_whole_module`` (the engine decides), after a star import from a
trigger module, when the first indentation libcst would detect changes, and when most of
the file is kept anyway.
``benchmarks/bench_speed.py --verify-regions`` and ``tests/test_regions.py`` check that
findings and fixes are the same either way.
"""

from __future__ import annotations

import ast
import copy
import re
from typing import Callable, Dict, FrozenSet, Iterable, List, Mapping, NamedTuple, Optional, Set, Tuple

from memlint.prefilter import CONTEXT_MANAGER_NAMES, TreeNodes, ast_nodes, returns_what_it_holds

# Lines as ``ast`` and libcst count them: only \r\n, \r and \n end a line (str.splitlines
# also splits on form feeds and other separators that real files contain).
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_ENDING = re.compile(r"(?:\r\n|\r|\n)\Z")
# Below this share of lines left out, the second tokenizer pass costs more than it saves.
MIN_SHARE_LEFT_OUT = 0.1
# Names the fixer looks for anywhere in the module: where ``contextlib`` means something
# else, it will not spell ``contextlib.closing`` (``fixes.context.closing_reference``).
_FIXER_READS = frozenset({"contextlib"})
# The container methods by which a method may register a value on self for a helper to
# release: those of ``analysis.facts.MAY_REGISTER`` (``tests/test_regions.py`` checks).
_REGISTERING = frozenset({"append", "add", "extend", "insert"})
_LIFESPAN = "lifespan="
_NO_INDENT = "    "  # libcst's default indentation of a module with no indented block
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_BINDING = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.With, ast.AsyncWith, ast.For, ast.AsyncFor, ast.NamedExpr)


class Selected(NamedTuple):
    """What libcst parses instead of the file."""

    text: str  # the file with the statements that cannot matter blanked
    tree: ast.Module  # the ``ast`` statements kept (the file's line numbers)


class _Unit:
    """Statements sharing lines (``a = 1; b = 2``), or a class header."""

    __slots__ = ("statements", "first", "last", "names", "defines", "makes", "context", "owner", "header", "bindings", "reads", "module_level", "returns", "registers", "by_own_kind", "binding_names")

    def __init__(self, statement: ast.stmt, first: int, owner: Optional["_Unit"] = None) -> None:
        self.statements: List[ast.stmt] = [statement]
        self.first = first
        self.last: int = statement.end_lineno or statement.lineno
        self.names: Set[str] = set()  # identifiers its code mentions
        self.defines: Set[str] = set()  # names and attributes it binds
        self.makes: Set[str] = set()  # what a seed hands on: definitions, acquiring bindings
        self.context = False
        self.owner = owner  # the class header of a class member
        self.header = False
        self.bindings: List[ast.AST] = []  # its assignments, ``with ... as``, ``for`` targets
        self.reads: Set[str] = set()  # names it takes from elsewhere (not its own locals)
        self.module_level: Optional[Set[str]] = None  # a function's globals; None: not a function
        self.returns: List[ast.AST] = []  # the values it returns or yields
        self.registers: Set[str] = set()  # ``self.X.append(v)``: attributes it adds to
        # A seed only for being a context manager's own part (named ``__exit__``, decorated
        # ``@contextmanager``): it holds no resource by that alone.
        self.by_own_kind = False
        # The identifiers of each of ``bindings``, read once: ``_hand_on`` runs again each
        # time the unit is handed a new name (re-walking them was a third of this module's time).
        self.binding_names: Optional[List[Set[str]]] = None


def split_lines(text: str) -> List[str]:
    return _LINE.findall(text)


def _first_line(statement: ast.stmt) -> int:
    decorators = getattr(statement, "decorator_list", None)
    return min([statement.lineno] + [d.lineno for d in decorators]) if decorators else statement.lineno


def _group(statements: Iterable[ast.stmt], owner: Optional[_Unit] = None) -> List[_Unit]:
    units: List[_Unit] = []
    for statement in statements:
        first = _first_line(statement)
        if units and first <= units[-1].last:
            units[-1].statements.append(statement)
            units[-1].last = max(units[-1].last, statement.end_lineno or statement.lineno)
        else:
            units.append(_Unit(statement, first, owner))
    return units


def _split_classes(tree: ast.Module) -> List[_Unit]:
    """Top-level units, each top-level class (alone on its lines, body on lines of its
    own) as a header unit followed by its members' units."""
    units: List[_Unit] = []
    for unit in _group(tree.body):
        statement = unit.statements[0]
        if len(unit.statements) == 1 and isinstance(statement, ast.ClassDef) and statement.body[0].lineno > statement.lineno:
            unit.header = True
            members = _group(statement.body, unit)
            unit.last = members[0].first - 1
            units.append(unit)
            units.extend(members)
        else:
            units.append(unit)
    return units


def _describe(
    unit: _Unit, triggers: FrozenSet[str], conditions: FrozenSet[str], top_aliases: Dict[str, str],
    nodes_of: Callable[[ast.AST], List[ast.AST]] = ast_nodes,
) -> bool:
    """Fill the unit's names, reads, definitions and what it makes; True for a seed.

    Names are every identifier of the code (the analysis counts a parameter or keyword
    named like a global as a use of it); a seed names a trigger as a variable, attribute,
    definition or import, not as a parameter or a keyword argument (``print(x, file=f)``),
    except the keywords on which an acquisition depends (``conditions``: ``stream=True``).
    In a function, a name it binds is its own unless declared global: neither a definition
    of the module nor read from one; but the classes it defines and the names its imports
    bind differently from the module's own imports are the module's (the analysis keeps
    one table of each for the whole module). Attributes are not definitions: the units
    that bind one from a resource hand it on (``_hand_on``)."""
    names = unit.names
    defines = unit.defines
    statement = unit.statements[0]
    function = len(unit.statements) == 1 and isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef))
    if unit.header:
        assert isinstance(statement, ast.ClassDef)
        roots: List[ast.AST] = [*statement.bases, *statement.keywords, *statement.decorator_list]
        defines.add(statement.name)
        unit.makes.add(statement.name)
    else:
        roots = list(unit.statements)
    local: Set[str] = set()
    declared: Set[str] = set()
    spelled: Set[str] = set()  # parameter and keyword names: names, but never seeds
    sure: Set[str] = set()  # attributes, definitions, imports: seeds whatever the scope
    loaded: Set[str] = set()  # names read: seeds unless the function binds them itself
    binding: List[ast.AST] = []
    for root in roots:
        for node in nodes_of(root):
            kind = type(node)
            if kind is ast.Name:
                names.add(node.id)  # type: ignore[attr-defined]
                if type(node.ctx) is not ast.Load:  # type: ignore[attr-defined]
                    local.add(node.id)  # type: ignore[attr-defined]
                else:
                    loaded.add(node.id)  # type: ignore[attr-defined]
            elif kind is ast.Attribute:
                names.add(node.attr)  # type: ignore[attr-defined]
                sure.add(node.attr)  # type: ignore[attr-defined]
            elif kind in _DEFINITIONS:
                names.add(node.name)  # type: ignore[attr-defined]
                sure.add(node.name)  # type: ignore[attr-defined]
                local.add(node.name)  # type: ignore[attr-defined]
                if kind is ast.ClassDef:
                    defines.add(node.name)  # type: ignore[attr-defined]
            elif kind is ast.arg:
                spelled.add(node.arg)  # type: ignore[attr-defined]
                local.add(node.arg)  # type: ignore[attr-defined]
            elif kind is ast.keyword:
                if node.arg:  # type: ignore[attr-defined]
                    (sure if node.arg in conditions else spelled).add(node.arg)  # type: ignore[attr-defined]
            elif kind is ast.alias:
                bound = (node.asname or node.name).split(".", 1)[0]  # type: ignore[attr-defined]
                names.add(bound)
                sure.add(bound)
                sure.update(node.name.split("."))  # type: ignore[attr-defined]
                local.add(bound)
                if top_aliases.get(bound) != node.name:  # type: ignore[attr-defined]
                    defines.add(bound)
            elif kind is ast.ImportFrom:
                sure.update((node.module or "").split("."))  # type: ignore[attr-defined]
            elif kind is ast.Global or kind is ast.Nonlocal:
                declared.update(node.names)  # type: ignore[attr-defined]
            elif kind in _BINDING:
                binding.append(node)
            elif kind is ast.Call:
                func = node.func  # type: ignore[attr-defined]
                if type(func) is ast.Attribute and func.attr in _REGISTERING and type(func.value) is ast.Attribute:
                    unit.registers.add(func.value.attr)
            elif kind is ast.Yield or kind is ast.YieldFrom or kind is ast.Return:
                if node.value is not None:  # type: ignore[attr-defined]
                    unit.returns.append(node.value)  # type: ignore[attr-defined]
    names |= spelled | sure
    if function:
        local.discard(statement.name)
        defines.add(statement.name)
        defines |= declared
        unit.reads = names - (local - declared)
        unit.module_level = declared
    else:
        defines |= local
        unit.reads = names
        unit.module_level = None
    unit.bindings = binding
    # A name the function binds itself (``file = sys.stdout``) is not the trigger's.
    named = (triggers & sure) | (triggers & (loaded - (local - declared) if function else loaded))
    unit.by_own_kind = bool(named) and named <= CONTEXT_MANAGER_NAMES
    return bool(named)


def _is_docstring(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) and isinstance(statement.value.value, str)


def _hand_on(unit: _Unit, wanted: Iterable[str]) -> None:
    """What a seed hands on: its classes, its functions that return or yield what a call of
    ``wanted`` made (factories, maybe; not a member's dunder), and what its statements
    naming ``wanted`` bind beyond themselves: attributes (``self._sock =
    socket.socket()``: every user of ``_sock``) and module names."""
    wanted = set(wanted)
    # What it registers on self, a helper may release (``analysis.registered``).
    unit.makes |= unit.registers
    made: Set[str] = set()  # local names bound to such a call: ``s = socket.socket()``
    if unit.binding_names is None:
        unit.binding_names = [_identifiers(node) for node in unit.bindings]
    for node, identifiers in zip(unit.bindings, unit.binding_names):
        if not wanted.isdisjoint(identifiers):
            unit.makes |= _targets(node, unit.module_level)
            if isinstance(node, ast.Assign) and _made_by(node.value, wanted, made):
                made |= _targets(node, None)
    hands_out = any(_made_by(value, wanted, made) for value in unit.returns)
    # A getter (a property) returning the attribute it just bound hands the resource out
    # under its own name: ``self.client.get(...)`` in another method uses it.
    hands_out = hands_out or any(isinstance(value, ast.Attribute) and value.attr in unit.makes for value in unit.returns)
    for statement in unit.statements:
        if isinstance(statement, ast.ClassDef) or (
            isinstance(statement, _DEFINITIONS)
            and hands_out
            and not (unit.owner is not None and statement.name.startswith("__"))
        ):
            unit.makes.add(statement.name)


def _keeps_on_self(unit: _Unit) -> bool:
    """A member binding ``self.X`` to what it makes (``self.read_pipe = open(fd)``)."""
    return any(
        isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self"
        and target.attr in unit.makes
        for node in unit.bindings if isinstance(node, ast.Assign) for target in node.targets
    )


def _made_by(value: ast.AST, wanted: Set[str], made: Set[str]) -> bool:
    """Whether ``value`` is what a call of ``wanted`` returned (directly, by a name bound
    to it, in a tuple or a conditional expression), as a factory returns it."""
    pending = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Await):
            pending.append(node.value)
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in wanted:
                return True
            pending.append(func)  # ``make().connect()``, ``closing(make())``
            pending.extend(node.args)
        elif isinstance(node, ast.Name):
            if node.id in made or node.id in wanted:
                return True
        elif isinstance(node, (ast.Tuple, ast.List)):
            pending.extend(node.elts)
        elif isinstance(node, ast.IfExp):
            pending.extend((node.body, node.orelse))
        elif isinstance(node, ast.Attribute):
            if node.attr in wanted:
                return True  # ``self.session.request()``: a method of what a seed made
            pending.append(node.value)
        elif isinstance(node, ast.Lambda):
            pending.append(node.body)
    return False


def _identifiers(node: ast.AST) -> Set[str]:
    found: Set[str] = set()
    for child in ast_nodes(node):
        if isinstance(child, ast.Name):
            found.add(child.id)
        elif isinstance(child, ast.Attribute):
            found.add(child.attr)
    return found


def _targets(node: ast.AST, module_level: Optional[Set[str]]) -> Set[str]:
    """The attributes and module names a binding binds (``None``: every name is the
    module's; else only those listed, the function's globals)."""
    if isinstance(node, ast.Assign):
        pending: List[ast.AST] = list(node.targets)
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        pending = [item.optional_vars for item in node.items if item.optional_vars is not None]
    else:
        pending = [node.target]  # type: ignore[attr-defined]
    found: Set[str] = set()
    while pending:
        target = pending.pop()
        if isinstance(target, ast.Name):
            if module_level is None or target.id in module_level:
                found.add(target.id)
        elif isinstance(target, ast.Attribute):
            found.add(target.attr)
        elif isinstance(target, (ast.Tuple, ast.List)):
            pending.extend(target.elts)
        elif isinstance(target, (ast.Starred, ast.Subscript)):
            pending.append(target.value)
    return found


class _Imports(NamedTuple):
    triggers: Set[str]  # local names bound to a trigger (``import sqlite3 as db``)
    aliases: Dict[str, str]  # local name -> imported name, for the top-level imports
    holding: Set[int]  # indexes of the top-level statements holding an import


def _top_imports(
    tree: ast.Module, search: Callable[[bytes], object], any_star: bool = False,
    nodes_of: Callable[[ast.AST], List[ast.AST]] = ast_nodes,
) -> Optional[_Imports]:
    """What the module-level imports bind; None after ``from <trigger module> import *``
    (with ``any_star``, after any star import)."""
    found = _Imports(set(), {}, set())
    for index, statement in enumerate(tree.body):
        if isinstance(statement, _DEFINITIONS):
            continue
        for node in nodes_of(statement):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            found.holding.add(index)
            module = (node.module or "") if isinstance(node, ast.ImportFrom) else ""
            for alias in node.names:
                if alias.name == "*":
                    if any_star or search(module.replace(".", " ").encode("ascii", "replace")):
                        return None
                    continue
                bound = (alias.asname or alias.name).split(".", 1)[0]
                # The same name bound twice is not one binding: the later ones count.
                found.aliases[bound] = alias.name if bound not in found.aliases else "?"
                spelled = f"{module} {alias.name}".replace(".", " ").encode("ascii", "replace")
                if search(spelled):
                    found.triggers.add(bound)
    return found


def kept_units(
    tree: ast.Module, lines: List[str], triggers: FrozenSet[str], search: Callable[[bytes], object],
    any_star: bool = False, walked: Optional[TreeNodes] = None,
) -> Optional[List[_Unit]]:
    """Every unit of the file, with ``context`` set on those to parse; None for the whole file.
    ``walked``: the tree's nodes as the prefilter walked them (no second walk per unit)."""
    nodes_of = walked.of if walked is not None else ast_nodes
    imported = _top_imports(tree, search, any_star, nodes_of)
    if imported is None:
        return None
    conditions = _conditions()
    triggers = triggers | imported.triggers
    units = _split_classes(tree)
    # The fixer reads the leading docstring and imports, and the statement that ends them.
    context_lines: Set[int] = set()
    for index, statement in enumerate(tree.body):
        context_lines.add(_first_line(statement))
        if index not in imported.holding and not (index == 0 and _is_docstring(statement)):
            break
    context_lines.update(_first_line(tree.body[index]) for index in imported.holding)
    starting: Set[int] = set()
    for index, unit in enumerate(units):
        seed = _describe(unit, triggers, conditions, imported.aliases, nodes_of)
        if not seed and _MAY_REGISTER is not None and unit.owner is not None:
            # A method registering a value on self for a helper to release, which the
            # analysis follows whatever it names (``analysis.facts.mark_quiet_functions``).
            text = "".join(lines[unit.first - 1 : unit.last]).encode("utf-8", "surrogatepass")
            seed = _MAY_REGISTER.search(text) is not None
        if seed:
            starting.add(index)
            _hand_on(unit, triggers)
            if unit.owner is None and not isinstance(unit.statements[0], _DEFINITIONS):
                unit.makes |= _released_by_verb(unit, nodes_of)
        unit.context = (unit.owner is None and unit.first in context_lines) or not _FIXER_READS.isdisjoint(unit.names)
    lineage = _lineage(units)
    # Who mentions and who defines a name: a top-level unit's names are the module's; a
    # member's are its class's, seen by ``self.name`` in the class and its subclasses.
    users: Dict[Tuple[int, str], List[int]] = {}
    definers: Dict[Tuple[int, str], List[int]] = {}
    for index, unit in enumerate(units):
        scope = id(unit.owner) if unit.owner is not None else 0
        for name in unit.names:
            users.setdefault((0, name), []).append(index)
            if scope:
                users.setdefault((scope, name), []).append(index)
        for name in unit.defines:
            definers.setdefault((scope, name), []).append(index)

    exiting = {id(unit) for unit in units if unit.header and _exits(unit.statements[0])}
    # Seeds, and whatever names what a seed makes, to a fixed point.
    pending = list(starting)
    handed: Dict[int, Set[str]] = {}  # the names made elsewhere each seed was handed
    while pending:
        unit = units[pending.pop()]
        scopes = lineage[id(unit.owner)][1] if unit.owner is not None else (0,)
        made = [(name, scope) for name in list(unit.makes) for scope in scopes]
        if unit.owner is not None and not unit.by_own_kind and lineage[id(unit.owner)][0] & exiting:
            # A context-manager class with a method that holds a resource may be one itself
            # (``analysis.local_resources``): where the module builds one is an acquisition.
            # Its ``__exit__`` naming no resource is no such method.
            made.append((unit.owner.statements[0].name, 0))  # type: ignore[attr-defined]
        elif unit.owner is not None and not unit.by_own_kind and _keeps_on_self(unit):
            # A class keeping a resource on self: a class of the module that builds one may
            # release it (``analysis.holder_releases``), so where one is built is read too.
            made.append((unit.owner.statements[0].name, 0))  # type: ignore[attr-defined]
        for name, scope in made:
            for other in users.get((scope, name), ()):
                if other not in starting or units[other].by_own_kind:
                    # A seed by its kind alone that names what a seed makes holds it after all.
                    units[other].by_own_kind = False
                    starting.add(other)
                    pending.append(other)
                    handed[other] = {name}
                    _hand_on(units[other], triggers | handed[other])
                elif name not in handed.setdefault(other, set()):
                    # A seed already kept that uses what another seed makes may hand that on
                    # too (``response = self.session.request(...)``; ``return response``).
                    handed[other].add(name)
                    before = len(units[other].makes)
                    _hand_on(units[other], triggers | handed[other])
                    if len(units[other].makes) != before:
                        pending.append(other)
    for index in list(starting):  # a class whose header is a seed (a resource's subclass) is kept whole
        if units[index].header:
            starting.update(other for other, unit in enumerate(units) if unit.owner is units[index])
    # Then what those read: the units defining a name they mention, transitively (a
    # member's class header with it).
    header_index = {id(unit): index for index, unit in enumerate(units) if unit.header}
    # A class that a kept unit names keeps what building one runs: MEM003's raise model
    # judges that from its dunder methods and class-level statements (``analysis.
    # quiet_classes`` refuses a class whose dunder method is a stub).
    constructors: Dict[int, List[int]] = {}
    for index, unit in enumerate(units):
        if unit.owner is not None and _runs_when_built(unit.statements[0]):
            constructors.setdefault(header_index[id(unit.owner)], []).append(index)
    kept = set(starting)
    pending = list(starting)
    while pending:
        unit = units[pending.pop()]
        scopes = lineage[id(unit.owner)][0] if unit.owner is not None else ()
        wanted: List[int] = []
        if unit.owner is not None:
            wanted.append(header_index[id(unit.owner)])
        for name in unit.reads:
            for definer in definers.get((0, name), ()):
                wanted.extend([definer] + constructors.get(definer, []))
            for scope in scopes:
                wanted.extend(definers.get((scope, name), ()))
        for other in wanted:
            if other not in kept:
                kept.add(other)
                pending.append(other)
    for index in kept:
        units[index].context = True
    for unit in units:
        # ``analysis.context_managers`` reads every ``lifespan=`` argument of the module (a
        # server's lifespan handler is judged apart): the statements passing one are kept.
        if not unit.context and any(_LIFESPAN in line for line in lines[unit.first - 1 : unit.last]):
            unit.context = True
    for unit in units:  # a member kept keeps its class's header, and a class's docstring
        if unit.context and unit.owner is not None:
            unit.owner.context = True
    for unit in units:  # a kept class keeps its docstring, and its getters (analysis.quiet_classes)
        if unit.owner is not None and unit.owner.context and not unit.context:
            first = unit.statements[0]
            owner = unit.owner.statements[0]
            if first is owner.body[0] and isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):  # type: ignore[attr-defined]
                unit.context = True
            unit.context = unit.context or returns_what_it_holds(first)
    return units


def _exits(statement: ast.stmt) -> bool:
    """Whether the class defines ``__exit__`` or ``__aexit__`` itself."""
    return any(
        isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)) and member.name in ("__exit__", "__aexit__")
        for member in getattr(statement, "body", ())
    )


def _released_by_verb(unit: _Unit, nodes_of: Callable[[ast.AST], List[ast.AST]] = ast_nodes) -> Set[str]:
    """Names a module-level statement releases with a verb of ``knowledge/inferred.toml``
    (``telemetry.shutdown()``): the analysis takes such a name for a resource known by its
    release (``analysis.inferred``), so the module's other statements using it matter."""
    from memlint.knowledge import knowledge

    verbs = knowledge().inferred_release_verbs
    names: Set[str] = set()
    for statement in unit.statements:
        for node in nodes_of(statement):
            if isinstance(node, ast.Call) and not node.args and not node.keywords:
                func = node.func
                if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.attr in verbs:
                    names.add(func.value.id)
    return names


def _runs_when_built(member: ast.stmt) -> bool:
    """A class member that building an instance may run: a dunder method, or a statement
    of the class body that is no method (``__init__ = make_init()``)."""
    if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return member.name.startswith("__") and member.name.endswith("__")
    return True


def _lineage(units: List[_Unit]) -> Dict[int, Tuple[Set[int], Set[int]]]:
    """``id(class header) ->`` (itself and the module's classes it derives from, itself
    and those deriving from it), as ``id``s of their headers."""
    headers = [unit for unit in units if unit.header]
    by_name = {unit.statements[0].name: unit for unit in headers}  # type: ignore[attr-defined]
    parents = {id(unit): {id(by_name[name]) for name in unit.names if name in by_name} for unit in headers}
    up: Dict[int, Set[int]] = {}
    for unit in headers:
        seen = {id(unit)}
        pending = [id(unit)]
        while pending:
            for parent in parents[pending.pop()]:
                if parent not in seen:
                    seen.add(parent)
                    pending.append(parent)
        up[id(unit)] = seen
    down: Dict[int, Set[int]] = {key: set() for key in up}
    for key, ancestors in up.items():
        for ancestor in ancestors:
            down[ancestor].add(key)
    return {key: (up[key], down[key]) for key in up}


def region_source(
    text: str, tree: ast.Module, resources: Mapping[str, object], codes: Iterable[str] = (),
    project_names: Iterable[str] = (), walked: Optional[TreeNodes] = None,
) -> Optional[Selected]:
    """The part of the file worth parsing, or None to parse the whole file.
    ``project_names``: every part of the names the project index gave the file (what other
    modules of its project make, ``memlint.analysis.project_index``), triggers too."""
    if not tree.body:
        return None
    lines = split_lines(text)
    triggers, search = _triggers(resources, codes)
    extra = frozenset(project_names)
    if extra:
        triggers = triggers | extra
    # With project names, any star import may bring in one the index did not see.
    units = kept_units(tree, lines, triggers, search, any_star=bool(extra), walked=walked)
    if units is None:
        return None
    left_out = sum(unit.last - unit.first + 1 for unit in units if not unit.context)
    if left_out < MIN_SHARE_LEFT_OUT * max(len(lines), 1):
        return None
    blanked = list(lines)

    def blank(first: int, last: int) -> None:
        for number in range(first, last + 1):
            ending = _ENDING.search(lines[number - 1])
            blanked[number - 1] = ending.group(0) if ending else ""

    def stand_in(statement: ast.stmt) -> ast.stmt:
        """``pass`` on the first line of ``statement``, at its indentation."""
        line = _first_line(statement)
        ending = _ENDING.search(lines[line - 1])
        blanked[line - 1] = lines[line - 1][: statement.col_offset] + "pass" + (ending.group(0) if ending else "")
        column = statement.col_offset
        return ast.Pass(lineno=line, col_offset=column, end_lineno=line, end_col_offset=column + 4)

    body: List[ast.stmt] = []
    members: Dict[int, List[ast.stmt]] = {}
    for unit in units:
        if unit.context:
            if unit.owner is None:
                body.extend(unit.statements)
            else:
                members.setdefault(id(unit.owner), []).extend(unit.statements)
            continue
        statement = unit.statements[0]
        if unit.owner is not None and unit.owner.context and isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            # A method of a kept class: the class keeps its name, decorators and kind
            # (the rules read a class's methods: ``__del__``, its release methods, async).
            inner = statement.body[0]
            opening = _first_line(inner)
            if len(unit.statements) == 1 and opening > statement.lineno and not lines[opening - 1][: inner.col_offset].strip():
                blank(opening, unit.last)
                stub = copy.copy(statement)
                stub.body = [stand_in(inner)]
                members.setdefault(id(unit.owner), []).append(stub)
                continue
            members.setdefault(id(unit.owner), []).extend(unit.statements)  # a one-line def: kept
            continue
        blank(unit.first, unit.last)
    for unit in units:
        if unit.header and unit.context:
            statement = unit.statements[0]
            assert isinstance(statement, ast.ClassDef)
            kept_members = members.get(id(unit))
            if not kept_members:
                # An empty class body is not Python: the first member's line holds a pass.
                kept_members = [stand_in(statement.body[0])]
            if kept_members != statement.body:
                shallow = copy.copy(statement)
                shallow.body = kept_members
                body[body.index(statement)] = shallow
    kept = ast.Module(body=body, type_ignores=tree.type_ignores)
    if (file_indent(kept, blanked) or _NO_INDENT) != (file_indent(tree, lines) or _NO_INDENT):
        # libcst takes the module's default indentation (which the fixer writes with) from
        # the first indented block (four spaces without one); here that block was left out
        # and the next differs.
        return None
    return Selected("".join(blanked), kept)


def file_indent(tree: ast.Module, lines: List[str]) -> Optional[str]:
    """The indentation of the file's first indented block (libcst's first INDENT token):
    the first block, in file order, whose first statement starts its own line."""
    pending: List[ast.stmt] = list(reversed(tree.body))
    while pending:
        statement = pending.pop()
        blocks: List[List[ast.stmt]] = []
        for name in ("body", "handlers", "orelse", "finalbody", "cases"):
            value = getattr(statement, name, None)
            if not value:
                continue
            if isinstance(value[0], ast.stmt):
                blocks.append(value)
            else:  # except handlers, match cases: each holds a block
                blocks.extend(getattr(child, "body", []) for child in value)
        inner: List[ast.stmt] = []
        for block in blocks:
            if not block:
                continue
            first = block[0]
            prefix = lines[first.lineno - 1][: first.col_offset]
            if prefix and not prefix.strip(" \t\f"):
                return prefix.replace("\f", "")
            inner.append(first)  # ``elif`` (an ``If`` in ``orelse``) or ``if x: y``
        pending.extend(reversed(inner))
    return None


def _conditions() -> FrozenSet[str]:
    from memlint.knowledge import knowledge

    return knowledge().condition_keywords


_MAY_REGISTER: Optional["re.Pattern[bytes]"] = None
_TRIGGERS: Dict[Tuple[Tuple[Tuple[str, object], ...], bool], Tuple[FrozenSet[str], Callable[[bytes], object]]] = {}


def _triggers(resources: Mapping[str, object], codes: Iterable[str]) -> Tuple[FrozenSet[str], Callable[[bytes], object]]:
    """The words of the file-level prefilter for the selected rules
    (``prefilter.rule_trigger_names``), as a set and a search."""
    global _MAY_REGISTER
    from memlint.prefilter import TASK_CODES, rule_trigger_names, word_pattern

    codes = frozenset(codes)
    key = (tuple(sorted(resources.items())), bool(TASK_CODES & codes))
    found = _TRIGGERS.get(key)
    if found is None:
        from memlint.analysis.facts import MAY_REGISTER

        _MAY_REGISTER = MAY_REGISTER
        names = rule_trigger_names(resources, codes)
        found = _TRIGGERS[key] = (names, word_pattern(names).search)
    return found

"""A byte-level test that lets files which cannot have a rule finding skip libcst entirely.

The analysis only starts from a few kinds of place: a call whose last name is one of the
resource-creating callables (``candidate_names``, from ``memlint/knowledge/*.toml`` and
``[tool.memlint.resources]``
and the aliases an import can give them, since an alias import names the original too), a
function decorated as a context manager, or an ``__exit__``/``__aexit__`` method. A file
whose bytes contain none of those names as a whole word cannot produce a rule finding, so
it is only checked for syntax (``MEM000``): by ``ast``, and by libcst only where ``ast``
rejects it (syntax newer than the interpreter, ``memlint.engine.parse_python``). The filter
must never change a result; ``tests/test_cache_prefilter.py`` checks that on the fixtures.
The second stage, ``tree_needs_analysis``, needs the ``ast`` tree and is skipped without one.

The memory-growth rules (``GROWTH_CODES``) start from other places: a cache decorator, an
``addHandler`` call, a container that grows (``.append(``, ``x[k] = v``, ``+=``). When one
of them is selected their words (``memlint.knowledge.growth``) and those two operators are
triggers too; otherwise the filter is as narrow as before. MEM061 (``TASK_CODES``) starts
from a task-creating call (``create_task``, ``ensure_future``: ``memlint.knowledge.tasks``).

Matching bytes rather than decoded text is safe: every encoding a PEP 263 cookie can name
for Python source encodes ASCII names as ASCII bytes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable, Dict, FrozenSet, Iterable, List, Mapping, Optional, Set, Tuple

if TYPE_CHECKING:  # pragma: no cover
    import ast

    from memlint.knowledge import Knowledge

# Names that start an analysis without a resource-creating call.
CONTEXT_MANAGER_NAMES = frozenset(
    {"contextmanager", "asynccontextmanager", "__enter__", "__exit__", "__aenter__", "__aexit__"}
)

_COMPILED: Dict[Tuple[Tuple[Tuple[str, object], ...], bool, bool], Callable[[bytes], bool]] = {}

# The rules that start from growing containers, cache decorators and handler additions.
GROWTH_CODES = frozenset({"MEM051", "MEM052", "MEM053"})
# The rule that starts from task-creating calls.
TASK_CODES = frozenset({"MEM061"})
# A subscript store or an augmented assignment: container growth spelled without a word.
_GROWTH_OPERATORS = rb"|\]\s*(?:\+|\|)?=(?!=)|\+=|\|="


# Last names too common to mean anything on their own (``input()``, ``db.connect()``):
# for these the module's name is the trigger instead, which every way of reaching the
# callable (``sqlite3.connect``, ``from sqlite3 import connect as c``) spells out.
GENERIC_LAST_NAMES = frozenset(
    {"input", "connect", "Session", "session", "Client", "AsyncClient", "Pool", "Manager", "open", "Connection", "create"}
)


# The last answer of ``trigger_names``: (the knowledge it read, the resources, the names).
# Every analysed file asks again with the same knowledge (a fifth of marking quiet functions).
_LAST_TRIGGERS: List[Tuple[object, Tuple[Tuple[str, object], ...], FrozenSet[str]]] = []


def trigger_names(resources: Mapping[str, object]) -> FrozenSet[str]:
    """Every name whose presence in a file means the analysis has to run on it."""
    from memlint.knowledge import knowledge_for

    known = knowledge_for(resources)  # the shipped knowledge and the configuration's resources
    key = tuple(sorted(resources.items()))
    if _LAST_TRIGGERS and _LAST_TRIGGERS[0][0] is known and _LAST_TRIGGERS[0][1] == key:
        return _LAST_TRIGGERS[0][2]
    names = _trigger_names(known, resources)
    _LAST_TRIGGERS[:] = [(known, key, names)]
    return names


def _trigger_names(known: "Knowledge", resources: Mapping[str, object]) -> FrozenSet[str]:
    from memlint.knowledge import candidate_names

    resource_calls = known.resource_calls
    names = set()
    for qualified in list(resource_calls) + list(resources):
        head, _, last = qualified.rpartition(".")
        if last == "open":
            continue  # every ``x.open(`` contains the word ``open``, which is a trigger anyway
        if head and last in GENERIC_LAST_NAMES:
            names.add(head.split(".", 1)[0])
        else:
            names.add(last)
    # Builtin open() and the method-based acquisitions have no module to look for.
    names.update(candidate_names((), known) - {q.rsplit(".", 1)[-1] for q in resource_calls})
    names.add("open")
    # ``requests.get(url, stream=True)``: only a call with the keyword acquires, so the
    # keyword is the trigger, not ``get``.
    names -= known.conditional_names - _unconditional_names(known)
    names |= known.condition_keywords
    # ``conn.close()``: a resource known only by its release (memlint/knowledge/inferred.toml).
    names |= set(known.inferred_release_verbs)
    return frozenset(names) | CONTEXT_MANAGER_NAMES


def rule_trigger_names(resources: Mapping[str, object], codes: Iterable[str]) -> FrozenSet[str]:
    """``trigger_names`` and the words of the selected rules that start elsewhere (MEM061's
    task-creating calls); the growth rules' words aside (with them, files are parsed whole).
    The file-level filter and region selection (``memlint.regions``) both read this."""
    names = trigger_names(resources)
    if TASK_CODES.intersection(codes):
        from memlint.knowledge.tasks import task_trigger_names

        names = names | task_trigger_names()
    return names


def _unconditional_names(known: "Knowledge") -> FrozenSet[str]:
    """Last names that acquire without any condition in some model."""
    names = set()
    for model in known.models.values():
        if not model.only_when_keyword_true:
            names.update(q.rsplit(".", 1)[-1] for q in model.acquired_by)
            names.update(model.methods)
    return frozenset(names)


# A name made of word characters only (``\w`` of a bytes pattern is exactly this class).
_WORD_NAME = re.compile(r"[A-Za-z0-9_]+\Z")
_WORDS = re.compile(rb"\w+")


def word_pattern(names: Iterable[str]) -> "re.Pattern[bytes]":
    """A search for any of ``names`` as a whole word (not preceded nor followed by a
    letter, digit or underscore)."""
    names = sorted(names, key=lambda n: (-len(n), n))
    # Longest first so that alternation never stops at a shorter prefix of a longer name.
    alternatives = b"|".join(re.escape(name.encode("ascii")) for name in names)
    if names and all(_WORD_NAME.match(name) for name in names):
        # Names that start and end with a word character: ``\b`` on both sides is the same
        # test as the look-arounds below, and the engine tries it 40 % faster.
        return re.compile(rb"\b(?:" + alternatives + rb")\b")
    return re.compile(rb"(?<![A-Za-z0-9_])(?:" + alternatives + rb")(?![A-Za-z0-9_])")


def needs_analysis(resources: Mapping[str, object], codes: Iterable[str] = ()) -> Callable[[bytes], bool]:
    """A function telling whether a file's bytes name anything the rules (``codes``) look at."""
    codes = frozenset(codes)
    growth = bool(GROWTH_CODES.intersection(codes))
    tasks = bool(TASK_CODES.intersection(codes))
    key = (tuple(sorted(resources.items())), growth, tasks)
    test = _COMPILED.get(key)
    if test is None:
        names = rule_trigger_names(resources, codes)
        if growth:
            from memlint.knowledge.growth import growth_trigger_names

            words = word_pattern(names | growth_trigger_names())
            test = _searching(re.compile(words.pattern + _GROWTH_OPERATORS))
        elif names and all(_WORD_NAME.match(name) for name in names):
            # A file names one of them as a whole word exactly when one of its maximal
            # runs of word characters is one: a set of those runs is three times cheaper
            # to get than a search of one big alternation (every file pays this test).
            wanted = frozenset(name.encode("ascii") for name in names)
            words_of = _WORDS.findall
            test = lambda data: not wanted.isdisjoint(words_of(data))  # noqa: E731
        else:
            test = _searching(word_pattern(names))
        _COMPILED[key] = test
    return test


def _searching(pattern: "re.Pattern[bytes]") -> Callable[[bytes], bool]:
    search = pattern.search
    return lambda data: search(data) is not None


def tree_needs_analysis(tree: "ast.Module", resources: Mapping[str, object], codes: Iterable[str] = (),
                        project_callables: Iterable[str] = (), nodes: "Optional[List[ast.AST]]" = None) -> bool:
    """The second, finer stage, on the ``ast`` tree the engine has already built: the file
    must *call* something the analysis starts from, define ``__exit__``/``__aexit__`` or
    decorate a context manager (or, for the growth rules, make a container, decorate a
    cache or add a handler: ``growth_candidates``). Words in comments, strings and imports
    no longer count; a file that passes only on those is spared its libcst parse.
    ``project_callables``: what the project index says other modules of the project make.
    ``nodes``: ``ast_nodes(tree)`` when the caller has it already (``TreeNodes.whole``)."""
    import ast

    codes = frozenset(codes)
    # One walk of the tree serves every test below (a walk per test cost more than the tests).
    if nodes is None:
        nodes = ast_nodes(tree)
    if GROWTH_CODES.intersection(codes) and growth_candidates(tree, nodes):
        return True
    # MEM061's task-creating calls are looked for in the same walk (``task_candidates``).
    task_names: Set[str] = set()
    if TASK_CODES.intersection(codes):
        from memlint.knowledge.tasks import task_trigger_names

        task_names = set(task_trigger_names())

    from memlint.knowledge import candidate_names, knowledge_for

    known = knowledge_for(resources)  # the shipped knowledge and the configuration's resources
    candidates = candidate_names(project_callables, known)
    callables = set(candidates) - (known.conditional_names - _unconditional_names(known))
    keywords = known.condition_keywords
    verbs = known.inferred_release_verbs
    called: set = set()
    Call, Attribute, Name, FunctionDef, AsyncFunctionDef = ast.Call, ast.Attribute, ast.Name, ast.FunctionDef, ast.AsyncFunctionDef
    for node in nodes:
        kind = type(node)
        if kind is Call:
            func = node.func  # type: ignore[attr-defined]
            if type(func) is Attribute:
                called.add(func.attr)
                if func.attr in verbs and type(func.value) is Name:
                    return True
            elif type(func) is Name:
                called.add(func.id)
            for keyword in node.keywords:  # type: ignore[attr-defined]
                if keyword.arg in keywords and type(keyword.value) is ast.Constant and keyword.value.value is True:
                    return True
        elif kind is FunctionDef or kind is AsyncFunctionDef:
            if node.name in CONTEXT_MANAGER_NAMES:  # type: ignore[attr-defined]
                return True
            for decorator in node.decorator_list:  # type: ignore[attr-defined]
                target = decorator.func if isinstance(decorator, Call) else decorator
                name = target.attr if isinstance(target, Attribute) else getattr(target, "id", "")
                if name.endswith("contextmanager"):
                    return True
        elif kind is ast.Import or kind is ast.ImportFrom:
            for alias in node.names:  # type: ignore[attr-defined]
                if alias.asname and alias.name.rsplit(".", 1)[-1] in candidates:
                    callables.add(alias.asname)
                if kind is ast.ImportFrom and alias.asname and alias.name in task_names:
                    task_names.add(alias.asname)
    return not callables.isdisjoint(called) or not task_names.isdisjoint(called)


def ast_nodes(tree: "ast.AST") -> "List[ast.AST]":
    """Every node under ``tree`` (itself included), depth first in source order: ``ast.walk``'s
    nodes but for the leaves no caller reads (``Load``, ``Store``, operators: a third of
    all nodes), in a plain loop that visits only the fields that can hold a node (this
    runs over whole files, and the callers loop over what it returns)."""
    import ast

    node_type = ast.AST
    plans = _BACKWARD_PLANS
    found = []
    stack = [tree]
    pop, push, keep = stack.pop, stack.append, found.append
    while stack:
        node = pop()
        keep(node)
        kind = type(node)
        fields = plans.get(kind)
        if fields is None:
            fields = plans[kind] = tuple(reversed(_node_fields(kind)))
        # Children pushed last-first so that nodes come out in source order: a file's
        # imports are seen before the functions that use the names they bind
        # (``growth_candidates``).
        for name in fields:
            value = getattr(node, name, None)
            if type(value) is list:
                for item in reversed(value):
                    if isinstance(item, node_type):
                        push(item)
            elif isinstance(value, node_type):
                push(value)
    return found


class TreeNodes:
    """``ast_nodes`` of a module, walked once for every reader of the file: the whole list
    (``tree_needs_analysis``), and the part of it under each top-level statement and each
    statement of a top-level class body (``memlint.regions`` reads each such unit apart).
    The walk is depth first, so a statement's nodes are one run of the whole list: only
    where each run starts and ends is kept, not a second copy of the nodes."""

    def __init__(self, tree: "ast.Module") -> None:
        import ast

        self.whole: "List[ast.AST]" = [tree]
        # id(statement) -> (the statement, so that a reused id is never mistaken; start; end)
        self._runs: "Dict[int, Tuple[ast.AST, int, int]]" = {}
        for statement in tree.body:
            start = len(self.whole)
            if type(statement) is ast.ClassDef:
                self._add_class(statement)
            else:
                self.whole.extend(ast_nodes(statement))
            self._runs[id(statement)] = (statement, start, len(self.whole))
        for ignored in tree.type_ignores:
            self.whole.extend(ast_nodes(ignored))

    def _add_class(self, statement: "ast.ClassDef") -> None:
        """The class's nodes in ``ast_nodes`` order (its fields in turn), marking each
        member's run."""
        import ast

        whole = self.whole
        whole.append(statement)
        kind = ast.ClassDef
        fields = _FIELD_PLANS.get(kind)
        if fields is None:
            fields = _FIELD_PLANS[kind] = _node_fields(kind)
        for name in fields:
            value = getattr(statement, name, None)
            for item in value if type(value) is list else [value]:
                if not isinstance(item, ast.AST):
                    continue
                start = len(whole)
                whole.extend(ast_nodes(item))
                if name == "body":
                    self._runs[id(item)] = (item, start, len(whole))

    def of(self, statement: "ast.AST") -> "List[ast.AST]":
        """``ast_nodes(statement)``: a slice of the whole list for a statement walked with
        the module, else a walk of its own."""
        run = self._runs.get(id(statement))
        if run is None or run[0] is not statement:
            return ast_nodes(statement)
        return self.whole[run[1]:run[2]]


# Fields that never hold a node worth returning: names and numbers, and the context and
# operator leaves (``ctx``, ``op``, ``ops``).
_LEAF_FIELDS = frozenset(
    {"ctx", "op", "ops", "id", "name", "arg", "attr", "asname", "module", "level", "kind",
     "type_comment", "conversion", "is_async", "kwd_attrs", "rest", "tag"}
)
_FIELD_PLANS: "Dict[type, Tuple[str, ...]]" = {}
# The same, last field first (``ast_nodes`` pushes children on a stack).
_BACKWARD_PLANS: "Dict[type, Tuple[str, ...]]" = {}


def _node_fields(kind: type) -> Tuple[str, ...]:
    import ast

    if kind is ast.Constant or kind is ast.Global or kind is ast.Nonlocal:
        return ()  # a value, or a list of names
    return tuple(name for name in kind._fields if name not in _LEAF_FIELDS)  # type: ignore[attr-defined]


def growth_candidates(tree: "ast.Module", nodes: "Optional[List[ast.AST]]" = None) -> bool:
    """Cheap ``ast`` test, a superset of what ``memlint.analysis.growth`` reports on: a
    container made by an assignment, a cache decorator, or an ``addHandler`` call.
    ``nodes``: ``ast_nodes(tree)`` when the caller has it already."""
    import ast

    from memlint.knowledge.growth import growth_knowledge

    known = growth_knowledge()
    makers = {n.rsplit(".", 1)[-1] for k in ("containers.dicts", "containers.lists", "containers.sets") for n in known[k]}
    caches = {n.rsplit(".", 1)[-1] for k in ("caches.unbounded", "caches.maxsize_bounded") for n in known[k]}
    adding = known["handlers.adding"]
    for node in nodes if nodes is not None else ast_nodes(tree):
        if isinstance(node, ast.ImportFrom):
            caches.update(alias.asname for alias in node.names if alias.asname and alias.name in caches)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            value = node.value
            if isinstance(value, (ast.Dict, ast.List, ast.Set)):
                return True
            if isinstance(value, ast.Call):
                func = value.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in makers:
                    return True
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
                if name in caches:
                    return True
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in adding:
            return True
    return False


def task_candidates(tree: "ast.Module", nodes: "Optional[List[ast.AST]]" = None) -> bool:
    """Cheap ``ast`` test, a superset of what ``memlint.analysis.tasks`` reports on: a call
    whose last name is a task-creating function's or an event loop's ``create_task``.
    ``nodes``: ``ast_nodes(tree)`` when the caller has it already."""
    import ast

    from memlint.knowledge.tasks import task_trigger_names

    if nodes is None:
        nodes = ast_nodes(tree)
    names = set(task_trigger_names())
    ImportFrom, Call, Attribute, Name = ast.ImportFrom, ast.Call, ast.Attribute, ast.Name
    called = set()
    for node in nodes:
        kind = type(node)
        if kind is Call:
            func = node.func  # type: ignore[attr-defined]
            if type(func) is Attribute:
                called.add(func.attr)
            elif type(func) is Name:
                called.add(func.id)
        elif kind is ImportFrom:
            # An alias counts wherever the import stands, as a name imported under its own name.
            names.update(alias.asname for alias in node.names if alias.asname and alias.name in names)  # type: ignore[attr-defined]
    return not called.isdisjoint(names)


def returns_what_it_holds(statement: ast.stmt) -> bool:
    """A method whose whole body (past a docstring) returns an attribute of ``self``, with no
    decorator: ``memlint.regions`` keeps it in a kept class, as MEM003's raise
    model reads it (``analysis.quiet_classes``: calling it cannot fail)."""
    import ast  # only when regions are chosen (this module is read before any parse)

    if not isinstance(statement, ast.FunctionDef) or statement.decorator_list:
        return False
    body = statement.body[1:] if len(statement.body) > 1 and isinstance(statement.body[0], ast.Expr) else statement.body
    if len(body) != 1 or not isinstance(body[0], ast.Return):
        return False
    value = body[0].value
    return isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) and value.value.id == "self"

"""Flags that hold wherever a resource chosen by an ``if`` is held.

Two shapes, both about a local flag that a later ``if flag: x.close()`` tests:

- The flag is the branch's own test, computed just before it:
  ``owns = client is None`` then ``if client is not None: c = client`` / ``else: c =
  AsyncClient()``. The new client exists only where ``client is None`` held, so ``owns`` is
  true wherever it is held.
- The flag starts ``True`` and is set ``False`` only in a branch that excludes the
  acquisition: ``close_zip = True``; ``elif zip: close_zip = False``; ``if not zip: zip =
  ZipFile(f)``. Where the zip file was made here, ``zip`` was falsy, so the ``elif zip:``
  branch had not run and the flag is still ``True``. The same with the literals the other
  way round (``pre_opened = False``, set ``True`` only where the caller's file is taken: the
  guard is then ``not pre_opened``), and with the other branch of the acquisition's own
  ``if`` as the excluding branch (``if callable(getattr(path, "write", None)):
  pre_opened = True; fd = path`` / ``else: fd = open(name, "wb")``).

Sound only while nothing else can change the flag or the tested names: the flag must be
bound nowhere else in the function, and the names of the acquisition's test must not be
bound between the flag and the acquisition's ``if``. The flags found are added to the
tracker's ``guards`` (``flow.Tracker``): a guard is true wherever the resource is held.
"""

from __future__ import annotations

from typing import Iterator, List, Optional, Sequence, Set, Tuple

import libcst as cst

from memlint.analysis.facts import SMALL_CONTAINERS, ModuleContext
from memlint.analysis.names import block_of, dotted as dotted_name, iter_statements, test_key
from memlint.analysis.walk import find

_OPPOSITES = ((" is not ", " is "), (" != ", " == "), (" not in ", " in "))


def branch_flags(ctx: ModuleContext, path: Tuple[cst.CSTNode, ...], scope_body: Sequence[cst.CSTNode]) -> Set[str]:
    """Guard flags for the acquisition at the end of ``path`` (which starts at a statement
    of ``scope_body``)."""
    chosen = _choosing_if(path)
    if chosen is None:
        return set()
    index, when_true = chosen
    branch_if = path[index]
    block = list(path[index - 1].body) if index > 0 and isinstance(path[index - 1], cst.IndentedBlock) else list(scope_body)  # type: ignore[attr-defined]
    if branch_if not in block:
        return set()
    said = _text(ctx, branch_if.test)  # type: ignore[attr-defined]
    tested = {n.value for n, _ in find(branch_if.test, (cst.Name,))}  # type: ignore[attr-defined]
    before = _statements_before(scope_body, branch_if)
    if before is None:
        return set()
    # A flag that says the test, or is cleared under a contradicting one, needs the tested
    # names unchanged since; one cleared only in the other branch of this ``if`` does not.
    rebound = _binds_any(before, tested, ctx)
    flags: Set[str] = set()
    position = block.index(branch_if)
    for flag, says_the_test in () if rebound else flags_saying(ctx, block[max(0, position - 3) : position], said):
        if _bound_once(scope_body, flag):
            flags.add(flag if says_the_test == when_true else "!" + flag)
    orelse = branch_if.orelse  # type: ignore[attr-defined]
    if not when_true:
        other = block_of(branch_if.body)  # type: ignore[attr-defined]
    else:
        other = block_of(orelse.body) if isinstance(orelse, cst.Else) else ()
    flags |= _cleared_only_when_excluded(
        ctx, scope_body, [] if rebound else before, _run_before(path, index, scope_body) + block[:position],
        said if when_true else None, said if not when_true else None,
        {id(statement) for statement in iter_statements(list(other), into_functions=False)},
    )
    return flags


def _run_before(path: Tuple[cst.CSTNode, ...], index: int, scope_body: Sequence[cst.CSTNode]) -> List[cst.CSTNode]:
    """The statements before the ``try`` or ``with`` statements whose bodies hold the ``if`` at
    ``path[index]`` directly (``flag = False`` / ``try:`` / ``if ...:``), outermost first: a
    body is entered from its start, so they run on every way to the ``if`` too."""
    found: List[cst.CSTNode] = []
    at = index - 1  # the block holding the ``if``
    while at >= 1 and isinstance(path[at], cst.IndentedBlock):
        owner = path[at - 1]
        if not (isinstance(owner, (cst.Try, cst.With)) and owner.body is path[at]):
            break
        if at - 1 == 0:
            outer: Sequence[cst.CSTNode] = scope_body
        elif at >= 2 and isinstance(path[at - 2], cst.IndentedBlock):
            outer = path[at - 2].body  # type: ignore[attr-defined]
        else:
            break
        if owner not in outer:
            break
        found = list(outer[: list(outer).index(owner)]) + found
        at -= 2
    return found


def _choosing_if(path: Tuple[cst.CSTNode, ...]) -> Optional[Tuple[int, bool]]:
    """The innermost ``if`` whose body (True) or ``else`` (False) holds the acquisition."""
    for index in range(len(path) - 2, -1, -1):
        node = path[index]
        if isinstance(node, cst.If):
            following = path[index + 1]
            if following is node.body:
                return index, True
            if isinstance(node.orelse, cst.Else) and following is node.orelse:
                return index, False
            return None
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            return None
    return None


def _cleared_only_when_excluded(
    ctx: ModuleContext,
    scope_body: Sequence[cst.CSTNode],
    before: List[cst.CSTNode],
    same_block: List[cst.CSTNode],
    needs_true: Optional[str],
    needs_false: Optional[str],
    other_branch: Set[int],
) -> Set[str]:
    """``flag = True`` (or ``False``) earlier in the same block (so it runs on every way to
    the ``if``), and ``flag = False`` (``True``) only where the acquisition cannot have run:
    before it, directly in the body of an ``if`` whose test contradicts the acquisition's, or
    anywhere in the other branch of the acquisition's own ``if`` (``other_branch``: the ids of
    its statements). The flag keeps its first value wherever the resource is held."""
    excluding = opposite_tests(needs_true) if needs_true is not None else {needs_false}
    earlier = {id(statement) for statement in before}
    flags: Set[str] = set()
    for statement in same_block:
        for flag, value in _flag_bindings(statement):
            initial = _literal_truth(value)
            if initial is None or flag in flags or "!" + flag in flags:
                continue
            clearings = _clearings(ctx, scope_body, flag, initial)
            if clearings and all(
                (id(line) in earlier and test in excluding) or id(line) in other_branch for line, test in clearings
            ):
                flags.add(flag if initial else "!" + flag)
    return flags


def _literal_truth(value: cst.BaseExpression) -> Optional[bool]:
    if isinstance(value, cst.Name) and value.value in ("True", "False"):
        return value.value == "True"
    return None


def _clearings(
    ctx: ModuleContext, scope_body: Sequence[cst.CSTNode], flag: str, initial: bool = True
) -> Optional[List[Tuple[cst.CSTNode, str]]]:
    """Every binding of ``flag`` to the other literal than ``initial`` as ``(its line, the
    test of the ``if`` whose body holds it directly, or "")``, when the flag is otherwise
    bound exactly once, to ``initial``; else None."""
    branch_tests = {}
    for statement in iter_statements(list(scope_body), into_functions=False):
        if isinstance(statement, cst.If):
            for inner in statement.body.body:  # type: ignore[attr-defined]
                branch_tests[id(inner)] = _text(ctx, statement.test)
    found: List[Tuple[cst.CSTNode, str]] = []
    firsts = 0
    for statement in iter_statements(list(scope_body), into_functions=False):
        for name, value in _flag_bindings(statement):
            if name != flag:
                continue
            truth = _literal_truth(value)
            if truth is initial:
                firsts += 1
            elif truth is (not initial):
                found.append((statement, branch_tests.get(id(statement), "")))
            else:
                return None
    if firsts != 1 or sum(1 for _ in _all_bindings(scope_body, flag)) != firsts + len(found):
        return None  # bound elsewhere too (a loop target, ``with ... as``, a tuple)
    return found


def _all_bindings(scope_body: Sequence[cst.CSTNode], flag: str):
    for statement in scope_body:
        for target, _ in find(statement, (cst.AssignTarget, cst.AnnAssign, cst.AugAssign, cst.For, cst.AsName, cst.NamedExpr)):
            bound = getattr(target, "target", None) or getattr(target, "name", None)
            if bound is not None and any(n.value == flag for n, _ in find(bound, (cst.Name,))):  # type: ignore[attr-defined]
                yield target


def _bound_once(scope_body: Sequence[cst.CSTNode], flag: str) -> bool:
    return sum(1 for _ in _all_bindings(scope_body, flag)) == 1


def _statements_before(scope_body: Sequence[cst.CSTNode], stop: cst.CSTNode) -> Optional[List[cst.CSTNode]]:
    seen: List[cst.CSTNode] = []
    for statement in iter_statements(list(scope_body), into_functions=False):
        if statement is stop:
            return seen
        seen.append(statement)
    return None


def _binds_any(statements: List[cst.CSTNode], names: Set[str], ctx: ModuleContext) -> bool:
    """Whether one of ``statements`` (their own lines or headers, not nested blocks) binds one of ``names``."""
    for statement in statements:
        if isinstance(statement, SMALL_CONTAINERS):
            heads: List[cst.CSTNode] = [statement]
        elif isinstance(statement, cst.For):
            heads = [statement.target]
        elif isinstance(statement, cst.With):
            heads = [item.asname for item in statement.items if item.asname is not None]
        else:
            continue
        for head in heads:
            if isinstance(head, cst.Name) and head.value in names:
                return True
            for target, _ in find(head, (cst.AssignTarget, cst.AnnAssign, cst.AugAssign, cst.AsName, cst.NamedExpr, cst.Name)):
                if isinstance(target, cst.Name):
                    if head is not statement and target.value in names:
                        return True  # a ``for`` target, ``with ... as`` name
                    continue
                bound = getattr(target, "target", None) or getattr(target, "name", None)
                if bound is not None and any(n.value in names for n, _ in find(bound, (cst.Name,))):  # type: ignore[attr-defined]
                    return True
    return False


def _flag_bindings(statement: cst.CSTNode):
    """``(name, value)`` of each ``name = value`` with one plain name target in a simple line."""
    if not isinstance(statement, SMALL_CONTAINERS):
        return
    for small in statement.body:
        if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
            yield small.targets[0].target.value, small.value


def flags_saying(ctx: ModuleContext, statements: Sequence[cst.CSTNode], test: str) -> Iterator[Tuple[str, bool]]:
    """``(flag, True)`` for each ``flag = <test>`` among ``statements`` (the test as source
    text), ``(flag, False)`` for each ``flag = <its opposite>``."""
    opposites = opposite_tests(test)
    for statement in statements:
        for flag, value in _flag_bindings(statement):
            text = _text(ctx, value)
            if text == test:
                yield flag, True
            elif text in opposites:
                yield flag, False


def _text(ctx: ModuleContext, node: cst.CSTNode) -> str:
    return " ".join(ctx.module.code_for_node(node).split())


def opposite_tests(test: str) -> Set[str]:
    """The spellings of the test that says the opposite of ``test`` (as source text)."""
    found = {test[4:]} if test.startswith("not ") else {"not " + test}
    for negative, positive in _OPPOSITES:
        if negative in test:
            found.add(test.replace(negative, positive, 1))
        elif positive in test:
            found.add(test.replace(positive, negative, 1))
    return found


_OPPOSITE_OPERATORS = (
    (cst.Equal, cst.NotEqual),
    (cst.NotEqual, cst.Equal),
    (cst.Is, cst.IsNot),
    (cst.IsNot, cst.Is),
    (cst.In, cst.NotIn),
    (cst.NotIn, cst.In),
)


def else_branch_guards(path: Tuple[cst.CSTNode, ...], scope_body: Sequence[cst.CSTNode]) -> Set[str]:
    """The acquisition sits in the ``else`` of an ``if``: there the test was false, so the
    test's negation holds wherever the resource is held (``if path == "-": f = sys.stdin``
    ``else: f = open(path)`` ... ``if path != "-": f.close()``). Kept only when the block
    holding the acquisition binds none of the test's names (a ``for`` around it rebinds
    them for a new turn, which acquires anew)."""
    chosen = _choosing_if(path)
    if chosen is None or chosen[1]:
        return set()
    branch_if = path[chosen[0]]
    test = branch_if.test  # type: ignore[attr-defined]
    negated = isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not)
    inner = test.expression if negated else test  # type: ignore[attr-defined]
    tested = {n.value for n, _ in find(inner, (cst.Name,))}
    if _binds_any(list(iter_statements(list(block_of(branch_if.orelse.body)), into_functions=False)), tested, None):  # type: ignore[attr-defined,arg-type]
        return set()
    name = dotted_name(inner) or test_key(inner)
    return {name if negated else "!" + name}


def with_opposite_guards(guards: Set[str]) -> Set[str]:
    """Each comparison guard also under its opposite spelling: ``path == "-"`` false is
    ``path != "-"`` true (``"!=path == '-'"`` adds ``"=path != '-'"``). Only a single
    comparison with one operator is turned; ``a and b`` has no such opposite."""
    found = set(guards)
    for guard in guards:
        negated = guard.startswith("!")
        key = guard[1:] if negated else guard
        if not key.startswith("="):
            continue
        try:
            test = cst.parse_expression(key[1:])
        except cst.ParserSyntaxError:
            continue
        if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
            continue
        operator = test.comparisons[0].operator
        for kind, opposite in _OPPOSITE_OPERATORS:
            if type(operator) is kind:
                turned = test.with_changes(comparisons=[test.comparisons[0].with_changes(operator=opposite())])
                found.add(("" if negated else "!") + test_key(turned))
                break
    return found


def holder_guards(holder: str) -> Set[str]:
    """``temp_file.name`` is followed as a path; its holder ``temp_file`` is bound (to the
    temporary file object, which is truthy) wherever that path is held, so ``if temp_file:``
    and ``if temp_file is not None:`` hold there too (``temp_file = None`` before a ``try``
    whose ``with NamedTemporaryFile(...) as temp_file:`` may raise, and a ``finally`` that
    removes ``temp_file.name`` under that test)."""
    if not holder.isidentifier():
        return set()
    return {holder, test_key(cst.parse_expression(holder + " is not None"))}

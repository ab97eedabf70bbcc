"""Check one file's text: decode, parse once, run the rules, locate what they report.

This is the only place that parses. A file that cannot be decoded or parsed yields one
``MEM000`` finding; a rule that raises yields one ``MEM900`` finding for that file; in
neither case does the error escape, so one bad file never ends a run.
"""

from __future__ import annotations

import ast
import io
import sys
import threading
import tokenize
from typing import Callable, List, Optional, Sequence, Tuple, TypeVar, Union

from memlint.diagnostics import Finding, Fix
from memlint.prefilter import GROWTH_CODES
from memlint.rules.base import FileContext, Report, Rule, RuleOptions

PARSE_ERROR = "MEM000"
INTERNAL_ERROR = "MEM900"

T = TypeVar("T")


def decode_source(data: bytes) -> str:
    """Decode Python source bytes by its PEP 263 cookie or BOM (UTF-8 by default).

    Raises ``SyntaxError`` (with a line number where one is known) on a bad cookie or
    undecodable bytes, so that the caller reports it like any other parse error.
    """
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:
        raise
    except LookupError as exc:  # pragma: no cover - detect_encoding raises SyntaxError
        raise SyntaxError(str(exc)) from exc
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        line = data[: getattr(exc, "start", 0)].count(b"\n") + 1
        error = SyntaxError(f"cannot decode source as {encoding}: {exc}")
        error.lineno = line
        error.offset = 1
        raise error from exc
    if text.startswith("\ufeff"):
        text = text[1:]
    return text


def _null_byte_error(text: str) -> SyntaxError:
    """A SyntaxError located at the first null byte (ast.parse only says ValueError)."""
    offset = text.index("\x00")
    error = SyntaxError("source contains a null byte")
    error.lineno = text.count("\n", 0, offset) + 1
    error.offset = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return error


def _syntax_finding(path: str, error: Union[SyntaxError, ValueError]) -> Finding:
    line = getattr(error, "lineno", None) or 1
    column = getattr(error, "offset", None) or 1
    message = getattr(error, "msg", None) or str(error)
    if isinstance(error, ValueError):
        message = f"source cannot be parsed: {error}"
    return Finding(path, line, max(column, 1), line, max(column, 1), PARSE_ERROR, f"SyntaxError: {message}")


# Target versions memlint accepts (``target-version``, ``--target-version``), as in ruff.
TARGET_VERSIONS = ("py37", "py38", "py39", "py310", "py311", "py312", "py313", "py314")


def version_tuple(target: str) -> Tuple[int, int]:
    """``"py312"`` -> ``(3, 12)``."""
    return (int(target[2]), int(target[3:]))


# The last text ``parse_python`` read without error with the running interpreter's own
# grammar. ``--fix`` must know that each round's output parses; it checks that output
# anyway, so it asks here instead of parsing the same text a second time.
_last_accepted: Optional[str] = None


def accepted_by_python(text: str) -> bool:
    """Whether ``text`` (this very string) is the last text ``parse_python`` parsed with the
    running interpreter's grammar (no older ``feature_version``) without a syntax error."""
    return text is _last_accepted


def parse_python(
    text: str, path: str, target: Optional[str] = None, syntax_only: bool = False
) -> Tuple[Optional[ast.Module], Optional[object]]:
    """Parse ``text`` as Python ``target`` (``py39`` ...; ``None``: any version memlint can read).

    Returns ``(ast tree, libcst module)``: normally the tree and ``None`` (libcst parses
    later, and only if a rule needs it). libcst is the parser of record; ``ast`` is only a
    fast first try. Where ``ast`` rejects the text but the target may be newer than this
    interpreter (a file using ``type X = ...`` checked on 3.11), libcst decides, and the
    result is ``(None, module)``. Raises ``SyntaxError`` naming the version it parsed as
    when the text is not valid Python of that version.

    ``syntax_only``: the caller only asks whether the text parses (no rule reads the file);
    the result is then ``(None, None)`` when it does.
    """
    global _last_accepted
    running = sys.version_info[:2]
    wanted = version_tuple(target) if target else None
    if syntax_only and (wanted is None or wanted >= running) and _parses(text, path):
        _last_accepted = text
        return None, None
    try:
        if wanted is not None and wanted < running:
            # ast gates the newer constructs (match, except*, ...) by feature_version.
            return ast.parse(text, filename=path, feature_version=wanted), None
        tree = ast.parse(text, filename=path)
        _last_accepted = text
        return tree, None
    except SyntaxError as error:
        if wanted is not None and wanted <= running:
            error.msg = f"{error.msg} (parsed as Python {wanted[0]}.{wanted[1]})"
            raise
        import libcst as cst

        try:
            return None, cst.parse_module(text)
        except Exception:  # noqa: BLE001 - libcst's errors are not SyntaxError; ast's message is better
            # Without a target-version the running interpreter's version is the one named:
            # libcst only stands in for syntax newer than it.
            major, minor = wanted or running
            error.msg = f"{error.msg} (parsed as Python {major}.{minor})"
            raise error from None


def _parses(text: str, path: str) -> bool:
    """Whether the running interpreter's parser accepts ``text``, without building the
    ``ast`` objects: ``symtable`` parses with the same parser and then only walks the
    tree in C (about 40 % cheaper than ``ast.parse``, which a file no rule reads pays only
    for its syntax check). False for anything it rejects, which ``ast`` then parses to
    report the error the usual way (``symtable`` also rejects some scoping mistakes that
    ``ast.parse`` lets through, which must stay accepted)."""
    import symtable

    try:
        symtable.symtable(text, path, "exec")
    except Exception:  # noqa: BLE001 - any failure: the ``ast`` path decides, as before
        return False
    return True


def check_text(
    source: Union[str, bytes],
    path: str,
    rules: Sequence[Rule],
    options: RuleOptions,
    prefilter: bool = False,
    target: Optional[str] = None,
    regions: bool = True,
) -> List[Finding]:
    """All findings of ``rules`` on one file's source, in file order.

    With ``prefilter``, a file whose syntax tree calls nothing the resource analysis starts
    from is not parsed by libcst at all (``memlint.prefilter.tree_needs_analysis``), when
    every rule asked for is one of the analysis rules. With ``regions`` (and the same
    condition, and no growth rule), libcst parses only the top-level statements that can
    hold a finding (``memlint.regions``). ``target`` is the Python version to parse as
    (``parse_python``). The knowledge every stage reads, the fixer's included, is the
    shipped one plus the resources ``options`` declares.
    """
    from memlint.knowledge.overlay import knowledge_in_use

    with knowledge_in_use(options.resources):
        return _check_text(source, path, rules, options, prefilter, target, regions)


def _check_text(
    source: Union[str, bytes],
    path: str,
    rules: Sequence[Rule],
    options: RuleOptions,
    prefilter: bool,
    target: Optional[str],
    regions: bool,
) -> List[Finding]:
    try:
        text = decode_source(source) if isinstance(source, bytes) else source
        if "\x00" in text:
            raise _null_byte_error(text)
        tree, parsed = parse_python(text, path, target, syntax_only=not rules)
    except (SyntaxError, ValueError) as error:
        return [_syntax_finding(path, error)]
    except (RecursionError, MemoryError) as error:
        return [Finding(path, 1, 1, 1, 1, INTERNAL_ERROR, f"file too deeply nested to check: {type(error).__name__}")]
    if not rules:
        return []
    from_resources = all(getattr(rule, "starts_from_resources", False) for rule in rules)
    walked = None  # the tree's nodes, walked once for the prefilter and the region selection
    if tree is not None and prefilter and from_resources:
        from memlint.prefilter import TreeNodes, tree_needs_analysis

        walked = TreeNodes(tree)
        project_callables = [name for name, _summary in options.project_resources]
        if not tree_needs_analysis(tree, options.resources, [rule.code for rule in rules], project_callables,
                                   walked.whole):
            return []
    growth = any(rule.code in GROWTH_CODES for rule in rules)
    parse_text, parse_tree = text, tree
    whole_module = growth or any(getattr(rule, "reads_whole_module", False) for rule in rules)
    # Region selection looks for the configured and shipped triggers, and for every part of
    # the names of what other modules of the file's project make (the project index's facts).
    if tree is not None and regions and from_resources and not whole_module:
        from memlint.regions import region_source

        selected = region_source(text, tree, options.resources, [rule.code for rule in rules],
                                 _project_names(options.project_resources), walked)
        if selected is not None:
            parse_text, parse_tree = selected

    del walked  # not kept while libcst parses: a big file's node list is megabytes
    import libcst as cst

    try:
        module = parsed if parsed is not None else parse_unvalidated(parse_text)
    except cst.ParserSyntaxError as error:  # libcst's parser can lag behind the interpreter's grammar
        line, column = error.raw_line, error.raw_column + 1
        message = f"libcst cannot parse this file: {(error.message.strip().splitlines() or ['?'])[0]}"
        return [Finding(path, line, column, line, column, INTERNAL_ERROR, message)]
    except Exception as error:  # noqa: BLE001 - any other parser failure is reported, not raised
        return [Finding(path, 1, 1, 1, 1, INTERNAL_ERROR, f"libcst cannot parse this file: {_one_line(error)}")]

    ctx = FileContext(path, parse_text, module, options, parse_tree)
    ctx.growth = growth
    findings: List[Finding] = []
    reported: List[Tuple[Rule, Report]] = []
    for rule in rules:
        try:
            reported.extend((rule, report) for report in rule.check(ctx))
        except Exception as error:  # noqa: BLE001 - a broken rule must not end the run
            findings.append(
                Finding(
                    path, 1, 1, 1, 1, INTERNAL_ERROR,
                    f"rule {rule.code} failed on this file: {type(error).__name__}: {_one_line(error)}",
                )
            )
    if reported:
        try:
            findings.extend(_locate(path, module, reported, parse_tree, text))
        except RecursionError:
            findings.append(Finding(path, 1, 1, 1, 1, INTERNAL_ERROR, "file too deeply nested to locate its findings"))
    findings.sort(key=Finding.sort_key)
    return findings


def _skip_validation(node: object) -> None:
    """A libcst node's ``__post_init__`` while libcst's parser builds memlint's tree."""


# How many parses run without validation now (threads of one process), under the lock;
# the first to start turns validation off, the last to end restores ``_VALIDATION[0]``.
_UNVALIDATED_LOCK = threading.Lock()
_UNVALIDATED_PARSES = [0]
_VALIDATION: List[Callable[..., None]] = []


def validation_hook(node_class: type) -> Optional[Callable[..., None]]:
    """The ``__post_init__`` that validates each node, defined on libcst's base node class
    itself, or None when this libcst does it some other way."""
    hook = node_class.__dict__.get("__post_init__")
    return hook if callable(hook) else None


def parse_unvalidated(text: str) -> object:
    """``libcst.parse_module(text)``, without validating each node the parser builds.

    Every libcst node checks its fields when it is made (``CSTNode.__post_init__`` calls
    ``_validate``); a tree the parser builds from text it accepted passes by construction,
    and the checks are an eighth of the parse (libcst's own comment on ``__post_init__``
    says as much). They are off only while a parse runs: the nodes the fixer and the rules
    make afterwards are checked as usual. A node that another thread of the process makes
    during a parse goes unchecked too (memlint's own threads only parse).
    """
    import libcst as cst

    node_class = cst.CSTNode
    hook = validation_hook(node_class)
    if hook is None:
        # A libcst that validates elsewhere: parse as it does, checks and all.
        return cst.parse_module(text)
    with _UNVALIDATED_LOCK:
        if _UNVALIDATED_PARSES[0] == 0:
            _VALIDATION[:] = [hook]
            node_class.__post_init__ = _skip_validation  # type: ignore[method-assign]
        _UNVALIDATED_PARSES[0] += 1
    try:
        return cst.parse_module(text)
    finally:
        with _UNVALIDATED_LOCK:
            _UNVALIDATED_PARSES[0] -= 1
            if _UNVALIDATED_PARSES[0] == 0:
                node_class.__post_init__ = _VALIDATION[0]  # type: ignore[method-assign]


def _project_names(entries: Sequence[Tuple[str, str]]) -> List[str]:
    """``..sessions.Session#releases`` -> ``sessions``, ``Session``: each name a project
    fact is known under (module, class, function, method). A class whose construction
    cannot raise (``#quiet``) gives none: that fact makes nothing a resource, it only
    answers MEM003 about a call inside code kept for another reason, through the imports
    (always kept); its module's names (``unittest``, ``xml.dom``) made most of a file a seed."""
    if not entries:
        return []
    from memlint.analysis.project_index import RELEASES_MARK
    from memlint.analysis.property_setters import SETTERS_MARK
    from memlint.analysis.project_quiet import QUIET_MARK

    return [
        part
        for name, _summary in entries
        if not name.endswith(QUIET_MARK)
        for part in name.replace(RELEASES_MARK, "").replace(SETTERS_MARK, "").split(".")
        if part
    ]


def _locate(
    path: str,
    module: object,
    reported: List[Tuple[Rule, Report]],
    tree: Optional[ast.Module] = None,
    text: Optional[str] = None,
) -> List[Finding]:
    """Turn reported nodes into 1-based positions; paid only by the statements that have findings."""
    from memlint.positions import StatementPositions

    positions = StatementPositions(module, tree)  # type: ignore[arg-type]
    located: List[Finding] = []
    source: Optional[str] = None
    for rule, report in reported:
        code_range = positions.get(report.node)
        if code_range is None:
            start_line, start_col, end_line, end_col = 1, 1, 1, 1
        else:
            start_line, start_col = code_range.start.line, code_range.start.column + 1
            end_line, end_col = code_range.end.line, code_range.end.column + 1
        message = report.message
        for index, ref in enumerate(report.line_refs):
            ref_range = positions.get(ref)
            message = message.replace("{L%d}" % index, str(ref_range.start.line) if ref_range else "?")
        fix = report.fix
        if fix is not None and not isinstance(fix, Fix):
            if source is None:
                # libcst round-trips exactly: the parsed text is the module's code.
                source = text if text is not None else module.code  # type: ignore[attr-defined]
            fix = _text_fix(fix, positions, module, source)
        located.append(Finding(path, start_line, start_col, end_line, end_col, rule.code, message, fix, report.confidence))
    return located


def _text_fix(rewrite: object, positions: object, module: object, source: str) -> Optional[Fix]:
    """A rule's node-level rewrite as text edits (``memlint.fixes``); None if it cannot be placed."""
    # A rewrite that places its own edits (the growth rules' fixes, ``memlint.fixes.growth``).
    own_edits = getattr(rewrite, "text_fix", None)
    if own_edits is not None:
        return own_edits(positions, module, source)  # type: ignore[no-any-return]
    from memlint.fixes import to_fix

    return to_fix(rewrite, positions, module, source)  # type: ignore[arg-type]


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


# Deeply nested real files (huge literals, generated tables) exceed the default recursion
# limit in libcst's Python-side tree walks. A thread with a large stack and a raised limit
# handles them; this is cheaper and safer than giving up on the file.
_DEEP_STACK_BYTES = 512 * 1024 * 1024
_DEEP_RECURSION_LIMIT = 100_000


def run_with_deep_stack(function: Callable[[], T]) -> T:
    """Run ``function`` in a thread whose stack allows very deep recursion; return its value."""
    result: List[T] = []
    failure: List[BaseException] = []

    def target() -> None:
        try:
            result.append(function())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            failure.append(exc)

    previous_size = threading.stack_size()
    previous_limit = sys.getrecursionlimit()
    threading.stack_size(_DEEP_STACK_BYTES)
    sys.setrecursionlimit(max(previous_limit, _DEEP_RECURSION_LIMIT))
    try:
        worker = threading.Thread(target=target, name="memlint-check", daemon=True)
        worker.start()
        worker.join()
    finally:
        threading.stack_size(previous_size)
        sys.setrecursionlimit(previous_limit)
    if failure:
        raise failure[0]
    return result[0]

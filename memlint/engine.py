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


def check_text(
    source: Union[str, bytes],
    path: str,
    rules: Sequence[Rule],
    options: RuleOptions,
    prefilter: bool = False,
) -> List[Finding]:
    """All findings of ``rules`` on one file's source, in file order.

    With ``prefilter``, a file whose syntax tree calls nothing the resource analysis starts
    from is not parsed by libcst at all (``memlint.prefilter.tree_needs_analysis``), when
    every rule asked for is one of the analysis rules.
    """
    try:
        text = decode_source(source) if isinstance(source, bytes) else source
        if "\x00" in text:
            raise _null_byte_error(text)
        # ast is the reference for what is valid Python: exactly what it rejects is MEM000.
        tree = ast.parse(text, filename=path)
    except (SyntaxError, ValueError) as error:
        return [_syntax_finding(path, error)]
    except (RecursionError, MemoryError) as error:
        return [Finding(path, 1, 1, 1, 1, INTERNAL_ERROR, f"file too deeply nested to check: {type(error).__name__}")]
    if not rules:
        return []
    if prefilter and all(getattr(rule, "starts_from_resources", False) for rule in rules):
        from memlint.prefilter import tree_needs_analysis

        if not tree_needs_analysis(tree, options.resources, [rule.code for rule in rules]):
            return []

    import libcst as cst

    try:
        module = cst.parse_module(text)
    except Exception as error:  # libcst's parser can lag behind the interpreter's grammar
        return [Finding(path, 1, 1, 1, 1, INTERNAL_ERROR, f"libcst cannot parse this file: {_one_line(error)}")]

    ctx = FileContext(path, text, module, options, tree)
    ctx.growth = any(rule.code in GROWTH_CODES for rule in rules)
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
            findings.extend(_locate(path, module, reported, tree, text))
        except RecursionError:
            findings.append(Finding(path, 1, 1, 1, 1, INTERNAL_ERROR, "file too deeply nested to locate its findings"))
    findings.sort(key=Finding.sort_key)
    return findings


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
        located.append(Finding(path, start_line, start_col, end_line, end_col, rule.code, message, fix))
    return located


def _text_fix(rewrite: object, positions: object, module: object, source: str) -> Optional[Fix]:
    """A rule's node-level rewrite as text edits (``memlint.fixes``); None if it cannot be placed."""
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

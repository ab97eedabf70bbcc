"""From a node-level ``WithRewrite`` to text ``Edit``s, and applying edits to a text.

The rewrite is done on lines, not by regenerating code from the tree, so that every
comment, blank line and formatting choice in the moved statements stays as written. The
moved lines get one more level of the file's own indentation, except lines that continue
a multi-line string (adding spaces there would change the string's value).
"""

from __future__ import annotations

import bisect
import io
import re
import tokenize
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

import libcst as cst

from memlint.diagnostics import Edit, Fix
from memlint.fixes.model import WithRewrite

_FSTRING_START = getattr(tokenize, "FSTRING_START", None)
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def source_lines(text: str) -> List[str]:
    """The lines of Python source, with their endings, split only where Python (and libcst)
    count a new line: not at a form feed or the other breaks ``str.splitlines`` knows."""
    return _LINE.findall(text)


# The engine turns every rewrite of a file into edits against one and the same source
# text: split it once per file, not once per fix (which made fixing quadratic).
_last_split: Tuple[str, List[str]] = ("", [])


def _lines_of(source: str) -> List[str]:
    global _last_split
    text, lines = _last_split
    if text is not source:
        lines = source_lines(source)
        _last_split = (source, lines)
    return lines


class _Unfixable(Exception):
    """The text around the rewrite is not in a shape the line-based edit can keep."""


def to_fix(rewrite: WithRewrite, positions: Mapping[cst.CSTNode, object], module: cst.Module, source: str) -> Optional[Fix]:
    """The ``Fix`` for ``rewrite``, or None when its text cannot be edited faithfully."""
    try:
        edits = [_with_edit(rewrite, positions, module, source)]
        if rewrite.import_text:
            edits.insert(0, _import_edit(rewrite, positions, module, source))
    except (_Unfixable, KeyError, tokenize.TokenError, IndentationError, SyntaxError):
        return None
    return Fix(rewrite.message, rewrite.safe, tuple(edits))


def _import_edit(rewrite: WithRewrite, positions: Mapping[cst.CSTNode, object], module: cst.Module, source: str) -> Edit:
    """Insert ``rewrite.import_text`` on a line of its own after (or before) its anchor."""
    newline = module.default_newline
    lines = _lines_of(source)
    if rewrite.import_after is not None:
        span = _span(positions, rewrite.import_after)
        _whole_lines(lines, span)
        line = span[2] + 1
        prefix = "" if lines[span[2] - 1].endswith(("\n", "\r")) else newline
        return Edit(line, 1, line, 1, prefix + rewrite.import_text + newline)
    if rewrite.import_before is None:
        raise _Unfixable("no place for the import")
    span = _span(positions, rewrite.import_before)
    if span[1] != 0:
        raise _Unfixable("the first statement is indented")
    return Edit(span[0], 1, span[0], 1, rewrite.import_text + newline)


def _span(positions: Mapping[cst.CSTNode, object], node: cst.CSTNode) -> Tuple[int, int, int, int]:
    code_range = positions[node]
    start, end = code_range.start, code_range.end  # type: ignore[attr-defined]
    return start.line, start.column, end.line, end.column


def _whole_lines(lines: Sequence[str], span: Tuple[int, int, int, int]) -> str:
    """Check the node starts its line and only a comment follows it; return that comment."""
    line, column, end_line, end_column = span
    if lines[line - 1][:column].strip():
        raise _Unfixable("shares its first line with other code")
    tail = lines[end_line - 1][end_column:].strip()
    if tail and not tail.startswith("#"):
        raise _Unfixable("shares its last line with other code")
    return tail


def _scan(text: str, first_line: int) -> Tuple[Set[int], List[Tuple[int, int, str]]]:
    """Lines (numbered from ``first_line``) that begin inside a multi-line string, and the
    comments of ``text`` as (line, column in ``text``, comment)."""
    protected: Set[int] = set()
    comments: List[Tuple[int, int, str]] = []
    fstring_start: List[int] = []
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.STRING and token.end[0] > token.start[0]:
            protected.update(range(token.start[0] + 1, token.end[0] + 1))
        elif token.type == tokenize.COMMENT:
            comments.append((token.start[0] + first_line - 1, token.start[1], token.string))
        elif _FSTRING_START is not None and token.type == _FSTRING_START:
            fstring_start.append(token.start[0])
        elif _FSTRING_END is not None and token.type == _FSTRING_END and fstring_start:
            begin = fstring_start.pop()
            protected.update(range(begin + 1, token.end[0] + 1))
    return {line + first_line - 1 for line in protected}, comments


def _comment_rows_above(rows: Mapping[int, str], line: int, start_line: int) -> List[int]:
    """The comment-only rows directly above ``line`` (no blank row between), top first."""
    found: List[int] = []
    number = line - 1
    while number > start_line and number in rows and rows[number].strip().startswith("#"):
        found.append(number)
        number -= 1
    return found[::-1]


def _with_edit(rewrite: WithRewrite, positions: Mapping[cst.CSTNode, object], module: cst.Module, source: str) -> Edit:
    lines = _lines_of(source)
    first = _span(positions, rewrite.first)
    last = _span(positions, rewrite.last)
    start_line, end_line = first[0], last[2]
    indent = lines[start_line - 1][: first[1]]
    _whole_lines(lines, first)
    _whole_lines(lines, last)
    # One level deeper, by the step of the block the statements are in (not the file's
    # most common one: a 2-space function in a 4-space file stays 2-space).
    unit = rewrite.indent_step or module.default_indent
    if indent and (("\t" in indent) != ("\t" in unit)):
        raise _Unfixable("mixed tabs and spaces")

    dropped: Set[int] = set()
    # Removed statements whose own-line comments directly above go with them.
    dropped_starts: List[int] = []
    if rewrite.comment_to_header:
        dropped.update(range(first[0], first[2] + 1))
    for node in rewrite.drop:
        span = _span(positions, node)
        _whole_lines(lines, span)
        dropped.update(range(span[0], span[2] + 1))
        dropped_starts.append(span[0])
    kept_as_is: Set[int] = set()
    if rewrite.unwrap is not None:
        unwrap = rewrite.unwrap
        head = _span(positions, unwrap)
        body = _span(positions, unwrap.body)  # type: ignore[attr-defined]
        final = _span(positions, unwrap.finalbody)  # type: ignore[attr-defined]
        if body[0] <= head[0] or lines[head[0] - 1].strip().split("#", 1)[0].strip() != "try:":
            raise _Unfixable("try header shares a line")
        dropped.add(head[0])
        dropped.update(range(final[0], head[2] + 1))
        kept_as_is.update(range(head[0] + 1, final[0]))

    block_text = "".join(lines[start_line - 1 : end_line])
    # The range without its common indentation, so that tokenize accepts it.
    protected, comments = _scan(_dedent_first(block_text, indent), start_line)

    # Rows of the range as (first line number, text); a substitution spanning rows joins them.
    rows: Dict[int, str] = {number: lines[number - 1] for number in range(start_line, end_line + 1)}
    substitutions = sorted(
        ((_span(positions, node), name) for node, name in rewrite.substitutions), key=lambda item: item[0], reverse=True
    )
    for (line, column, sub_end_line, sub_end_column), name in substitutions:
        head_text = rows[line][:column]
        tail_text = rows[sub_end_line][sub_end_column:]
        for number in range(line + 1, sub_end_line + 1):
            del rows[number]
        rows[line] = head_text + name + tail_text

    # Comments are never lost: those on removed lines, and the comment lines directly above
    # a removed release, move to the end of the ``with`` line, in their order. A comment
    # inside an acquisition call stays in the call, which the header keeps as written.
    for begin in dropped_starts:
        if begin not in kept_as_is:
            dropped.update(_comment_rows_above(rows, begin, start_line))
    calls = [_span(positions, item.call) for item in rewrite.items]
    moved = []
    for line, column, text in comments:
        # Back to the file's columns where the dedent removed the indentation.
        column += len(indent) if lines[line - 1].startswith(indent) else 0
        if line in dropped and not any(_inside(call, line, column) for call in calls):
            moved.append(text)

    newline = module.default_newline
    if rewrite.guard:
        header = indent + "try:" + newline
    else:
        header = indent + ("async " if rewrite.is_async else "") + "with "
        parts = []
        for item in rewrite.items:
            # The call as written (a multi-line call keeps its line breaks and indentation).
            call = _source_of(lines, _span(positions, item.call))
            parts.append((f"{item.wrapper}({call})" if item.wrapper else call) + (f" as {item.name}" if item.name else ""))
        header += ", ".join(parts)
        header += ":" + "".join(f"  {text}" for text in moved) + newline
    out = [header]
    body_lines = 0
    for number in sorted(rows):
        if number in dropped:
            continue
        text = rows[number]
        if len(out) == 1 and not text.strip():
            # A blank line that followed the acquisition would now follow the header.
            continue
        if number in kept_as_is or number in protected or not text.strip():
            out.append(text)
        else:
            out.append(unit + text)
        if text.strip() and not text.strip().startswith("#"):
            body_lines += 1
    if body_lines == 0:
        out.append(indent + unit + "pass" + newline)
    if rewrite.guard:
        if not out[-1].endswith(("\n", "\r")):
            out[-1] += newline
        out.append(indent + "except BaseException:" + newline)
        out.append(indent + unit + rewrite.guard + newline + indent + unit + "raise" + newline)
    content = "".join(out)
    if not lines[end_line - 1].endswith(("\n", "\r")) and content.endswith(newline):
        content = content[: -len(newline)]
    return Edit(start_line, 1, end_line + 1, 1, content)


def _inside(span: Tuple[int, int, int, int], line: int, column: int) -> bool:
    """Whether the position (1-based line, 0-based column) lies inside ``span``."""
    return (span[0], span[1]) <= (line, column) < (span[2], span[3])


def _source_of(lines: Sequence[str], span: Tuple[int, int, int, int]) -> str:
    line, column, end_line, end_column = span
    if line == end_line:
        return lines[line - 1][column:end_column]
    return lines[line - 1][column:] + "".join(lines[line : end_line - 1]) + lines[end_line - 1][:end_column]


def _dedent_first(text: str, indent: str) -> str:
    """The range's text with its common indentation removed, so that tokenize accepts it."""
    if not indent:
        return text
    out = []
    for line in source_lines(text):
        out.append(line[len(indent) :] if line.startswith(indent) else line)
    return "".join(out)


# -- applying edits ------------------------------------------------------------------


def _offsets(text: str) -> List[int]:
    starts = [0]
    for line in source_lines(text):
        starts.append(starts[-1] + len(line))
    return starts


def _offset(starts: List[int], line: int, column: int) -> int:
    if line - 1 >= len(starts):
        return starts[-1]
    return min(starts[line - 1] + column - 1, starts[-1])


def _overlaps(chosen: List[Tuple[int, int]], begin: int, end: int) -> bool:
    """Whether ``begin..end`` overlaps a span of ``chosen`` (sorted, non-overlapping)."""
    index = bisect.bisect_left(chosen, (begin, begin))
    for neighbour in chosen[max(index - 1, 0) : index + 1]:
        if begin < neighbour[1] and neighbour[0] < end:
            return True
    return False


def apply_edits(text: str, fixes: Iterable[Fix]) -> Tuple[str, List[Fix]]:
    """Apply the fixes whose edits do not overlap an earlier fix's; return the text and those applied.

    An edit identical to one already chosen (the same ``import contextlib`` wanted by two
    fixes, or one ``with`` shared by two findings) is applied once. The cost is linear in
    the text and in the number of edits (apart from sorting them).
    """
    starts = _offsets(text)
    chosen: Dict[Tuple[int, int], str] = {}
    # Sorted, non-overlapping (begin, end) spans, for the overlap test.
    taken: List[Tuple[int, int]] = []
    applied: List[Fix] = []
    for fix in sorted(fixes, key=lambda f: [(e.line, e.column) for e in f.edits]):
        spans = [(_offset(starts, e.line, e.column), _offset(starts, e.end_line, e.end_column), e.content) for e in fix.edits]
        new = [span for span in spans if chosen.get(span[:2]) != span[2]]
        if not spans or any(_overlaps(taken, begin, end) or (begin, end) in chosen for begin, end, _ in new):
            continue
        for begin, end, content in new:
            chosen[(begin, end)] = content
            bisect.insort(taken, (begin, end))
        applied.append(fix)
    # One pass from the start; at one offset the insertion (empty span) sorts first, so
    # that it ends up before the text replaced there.
    pieces: List[str] = []
    position = 0
    for (begin, end), content in sorted(chosen.items()):
        pieces.append(text[position:begin])
        pieces.append(content)
        position = end
    pieces.append(text[position:])
    return "".join(pieces), applied

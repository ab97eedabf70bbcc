"""`memlint.fixes` in small pieces: text edits, safety verdicts, refusals, layouts."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Optional

import pytest

import memlint
from memlint.diagnostics import Edit, Finding, Fix
from memlint.fixes import apply_fixes, fix_text
from memlint.fixes.text import apply_edits

CASES = Path(__file__).resolve().parents[1] / "fixtures" / "fixes" / "cases"


def _check(text: str, config: Optional[Dict[str, object]] = None) -> List[Finding]:
    # Every finding, whatever its confidence: the fixer must be safe on all of them.
    return memlint.check_source(text, "example.py", dict({"confidence": "low"}, **(config or {})))


def _fixed(text: str, unsafe: bool = False) -> str:
    return fix_text(text, _check, unsafe=unsafe).text


def _only_fix(text: str) -> Fix:
    fixes = [f.fix for f in _check(text) if f.fix is not None]
    assert len(fixes) == 1, fixes
    return fixes[0]


# -- what the rewrite looks like -------------------------------------------------------


def test_bound_acquisition_becomes_with_and_release_goes() -> None:
    source = "def load(p):\n    f = open(p)\n    data = f.read()\n    f.close()\n    return data\n"
    assert _fixed(source) == "def load(p):\n    with open(p) as f:\n        data = f.read()\n    return data\n"


def test_inline_acquisition_gets_a_fresh_name_unused_in_the_scope() -> None:
    source = "def load(p, f, f_):\n    data = open(p).read()\n    return data, f, f_\n"
    fixed = _fixed(source)
    assert "with open(p) as f1:\n        data = f1.read()\n" in fixed


def test_fresh_names_differ_for_two_inline_fixes_in_one_function() -> None:
    source = "def load(a, b):\n    x = open(a).read()\n    y = open(b).read()\n    return x + y\n"
    fixed = _fixed(source)
    assert "with open(a) as f:" in fixed and "with open(b) as f_:" in fixed
    assert not [f for f in _check(fixed) if f.code == "MEM001"]


def test_crlf_and_tabs_are_kept() -> None:
    source = "def load(p):\r\n\tx = open(p)\r\n\tdata = x.read()\r\n\tx.close()\r\n\treturn data\r\n"
    assert _fixed(source) == "def load(p):\r\n\twith open(p) as x:\r\n\t\tdata = x.read()\r\n\treturn data\r\n"


def test_file_without_final_newline() -> None:
    source = "def load(p):\n    s = open(p)\n    return s.read()"
    assert _fixed(source) == "def load(p):\n    with open(p) as s:\n        return s.read()"


def test_multiline_string_lines_are_not_indented() -> None:
    source = 'def save(p):\n    out = open(p, "w")\n    out.write("""a\n  b\n""")\n    out.close()\n'
    fixed = _fixed(source)
    assert 'with open(p, "w") as out:\n        out.write("""a\n  b\n""")\n' in fixed
    namespace: Dict[str, object] = {}
    exec(compile(ast.parse(fixed), "fixed", "exec"), namespace)  # the string's value is unchanged


def test_async_acquisition_becomes_async_with() -> None:
    source = (
        "import aiofiles\n\n\nasync def save(p, text):\n    f = await aiofiles.open(p, 'w')\n"
        "    await f.write(text)\n    await f.close()\n"
    )
    assert "    async with aiofiles.open(p, 'w') as f:\n        await f.write(text)\n" in _fixed(source)


def test_closing_import_is_added_once_for_several_fixes() -> None:
    source = (
        '"""Doc."""\nimport sqlite3\n\n\ndef a(db):\n    c = sqlite3.connect(db)\n    c.execute("x")\n    c.close()\n\n\n'
        'def b(db):\n    c = sqlite3.connect(db)\n    c.execute("y")\n    c.close()\n'
    )
    fixed = _fixed(source)
    assert fixed.count("import contextlib\n") == 1
    # With the standard-library imports, in order (as isort and ruff sort them).
    assert fixed.startswith('"""Doc."""\nimport contextlib\nimport sqlite3\n')
    assert fixed.count("with contextlib.closing(sqlite3.connect(db)) as c:") == 2


def test_existing_closing_import_is_used() -> None:
    source = (
        "import sqlite3\nfrom contextlib import closing\n\n\ndef a(db):\n    c = sqlite3.connect(db)\n"
        '    c.execute("x")\n    c.close()\n'
    )
    fixed = _fixed(source)
    assert "with closing(sqlite3.connect(db)) as c:" in fixed and "import contextlib" not in fixed


def test_lock_acquire_release_becomes_with_lock() -> None:
    source = (
        "import threading\n_lock = threading.Lock()\n\n\ndef put(d, k, v):\n    _lock.acquire()\n"
        "    d[k] = v()\n    _lock.release()\n"
    )
    assert "    with _lock:\n        d[k] = v()\n" in _fixed(source)


# -- safe, unsafe, or no fix -------------------------------------------------------------


def test_release_at_the_same_place_is_safe() -> None:
    # The write is of a value the code does not fix (a short literal into a fresh buffer cannot fail).
    assert _only_fix("def f(p, text):\n    x = open(p, 'w')\n    x.write(text)\n    x.close()\n    print('done')\n").safe


def test_never_closed_writer_followed_by_calls_is_unsafe() -> None:
    """Closing (flushing) a file being written earlier than before can be seen by later calls."""
    source = "def f(p):\n    x = open(p, 'w')\n    x.write('a')\n    check(p)\n"
    assert not _only_fix(source).safe
    assert _fixed(source) == source
    assert _fixed(source, unsafe=True) != source


def test_never_closed_reader_followed_by_calls_is_safe() -> None:
    """A file only read: closing it earlier cannot be seen."""
    assert _only_fix("def f(p):\n    x = open(p)\n    data = x.read()\n    check(p)\n    return data\n").safe


def test_popen_fix_is_unsafe() -> None:
    source = "import subprocess\n\n\ndef f(c):\n    p = subprocess.Popen(c)\n    work()\n    p.wait()\n"
    fix = _only_fix(source)
    assert not fix.safe


@pytest.mark.parametrize(
    "name",
    [
        "conditional_release",
        "lazy_reader_returned",
        "lazy_reader_inline",
        "side_effect_before_inline",
        "conditional_inline",
        "rebound_in_range",
        "used_in_generator",
        "one_line_suite",
        "bound_method_escapes",
        "lock_taken_in_a_branch",
        "deleted_at_exit_not_at_close",
        "close_method_kept",
        "stack_handed_on_and_left_early",
        "fault_handler_keeps_its_file",
        "pickler_keeps_its_file",
        "stack_returned_after_entering",
        "cursor_returned",
    ],
)
def test_refused_cases_are_reported_without_a_fix(name: str) -> None:
    source = (CASES / "refusals.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    function = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    findings = [
        f
        for f in _check(source)
        if f.code in ("MEM001", "MEM003") and function.lineno <= f.line <= (function.end_lineno or function.lineno)
    ]
    assert findings, f"{name} draws no finding, so it proves nothing"
    assert all(f.fix is None for f in findings), [f.fix for f in findings]


def test_file_with_syntax_error_is_left_untouched() -> None:
    source = "def f(p):\n    x = open(p)\n    return x.read(\n"
    outcome = fix_text(source, _check)
    assert outcome.text == source and not outcome.fixed
    assert [f.code for f in outcome.remaining] == ["MEM000"]


def test_prefer_with_needs_its_rule_switched_on() -> None:
    source = "def f(p):\n    x = open(p)\n    try:\n        return x.read()\n    finally:\n        x.close()\n"
    assert _fixed(source) == source
    config = {"extend-select": ["MEM041"]}
    fixed = fix_text(source, lambda text: _check(text, config)).text
    assert fixed == "def f(p):\n    with open(p) as x:\n        return x.read()\n"


# -- applying edits ------------------------------------------------------------------------


def _finding(fix: Fix) -> Finding:
    return Finding("x.py", 1, 1, 1, 1, "MEM001", "m", fix)


def test_overlapping_fixes_wait_for_the_next_round() -> None:
    text = "abcdef\n"
    first = Fix("one", True, (Edit(1, 1, 1, 4, "X"),))
    second = Fix("two", True, (Edit(1, 3, 1, 6, "Y"),))
    new_text, applied = apply_edits(text, [second, first])
    assert new_text == "Xdef\n" and applied == [first]


def test_identical_edits_are_applied_once() -> None:
    insert = Edit(1, 1, 1, 1, "import contextlib\n")
    one = Fix("one", True, (insert, Edit(2, 1, 2, 2, "A")))
    two = Fix("two", True, (insert, Edit(3, 1, 3, 2, "B")))
    text = apply_fixes("x\ny\nz\n", [_finding(one), _finding(two)])
    assert text == "import contextlib\nx\nA\nB\n"


def test_unsafe_fixes_only_when_asked() -> None:
    unsafe = Fix("u", False, (Edit(1, 1, 1, 2, "Z"),))
    assert apply_fixes("abc", [_finding(unsafe)]) == "abc"
    assert apply_fixes("abc", [_finding(unsafe)], unsafe=True) == "Zbc"


def test_edits_are_one_based_in_findings() -> None:
    source = "def f(p):\n    x = open(p)\n    return x.read()\n"
    fix = _only_fix(source)
    (edit,) = fix.edits
    assert (edit.line, edit.column, edit.end_line, edit.end_column) == (2, 1, 4, 1)


def test_table_resources_without_a_with_form_get_no_fix_even_when_the_import_is_hidden() -> None:
    """`aifc` bound by a helper, not an import: still the table's `aifc.open`, never a
    method `.open()` of some object (whose `with` would be guessed)."""
    source = "aifc = load('aifc')\n\n\ndef f():\n    fout = aifc.open(buffer(), 'wb')\n    fout.setnchannels(1)\n"
    findings = [f for f in _check(source) if f.code == "MEM001"]
    assert findings and all(f.fix is None for f in findings)


def test_configured_resources_get_no_fix() -> None:
    source = "import mylib\n\n\ndef f(p):\n    h = mylib.open(p)\n    return h.read()\n"
    findings = [f for f in _check(source, {"resources": {"mylib.open": "close"}}) if f.code == "MEM001"]
    assert findings and all(f.fix is None for f in findings)


def test_results_derived_in_a_loop_and_handed_on_keep_the_code_s_own_close() -> None:
    """`r, _ = server.accept()` then `readers.append(r)` in the same loop: `r` is followed as
    derived from the server socket and handed to a call that may keep it. The code closes
    the server itself after the loop, and every path that does not raise gets there: the
    `with` closes it at that very place. A `break` or `return` that can skip the close
    leaves the server open where the `with` would close it: no fix."""
    loop = (
        "import socket\n\n\ndef serve(readers, enough):\n    server = socket.create_server(('', 0))\n"
        "    for i in range(4):\n        r, _ = server.accept()\n        readers.append(r)\n{leave}"
        "    server.close()\n    return readers\n"
    )
    fixed = _fixed(loop.format(leave=""))
    assert "    with socket.create_server(('', 0)) as server:\n        for i in range(4):\n" in fixed
    assert "server.close()" not in fixed
    for leave in ("        if enough(r):\n            break\n", "        if enough(r):\n            return None\n"):
        source = loop.format(leave=leave)
        findings = [f for f in _check(source) if f.code in ("MEM001", "MEM003") and f.line == 5]
        assert findings and all(f.fix is None for f in findings), leave


def test_form_feeds_and_unicode_line_separators_do_not_shift_lines() -> None:
    """`str.splitlines` would split at \\x0c and \\u2028; Python and the edits do not."""
    source = "x = 1\n\x0c\ndef load(p):\n    # a\u2028b\n    f = open(p)\n    data = f.read()\n    f.close()\n    return data\n"
    expected = "x = 1\n\x0c\ndef load(p):\n    # a\u2028b\n    with open(p) as f:\n        data = f.read()\n    return data\n"
    assert _fixed(source) == expected


def test_suppressed_findings_are_not_fixed() -> None:
    source = "def load(p):\n    f = open(p)  # noqa: MEM001\n    return f.read()\n"
    assert _fixed(source) == source


def test_import_goes_before_the_first_statement_when_there_is_no_import() -> None:
    source = "#!/usr/bin/env python\n# a script\nimport_path = 'db'\nc = __import__('sqlite3').connect(import_path)\n"
    assert _fixed(source) == source  # not a known acquisition: nothing to do
    source = (
        "#!/usr/bin/env python\nfrom sqlite3 import connect\n\n\ndef f(db):\n    c = connect(db)\n"
        "    c.execute('x')\n    c.close()\n"
    )
    fixed = _fixed(source)
    # Plain imports come before the ``from`` imports of the standard-library group.
    assert fixed.startswith("#!/usr/bin/env python\nimport contextlib\nfrom sqlite3 import connect\n")
    assert "    with contextlib.closing(connect(db)) as c:\n        c.execute('x')\n" in fixed


def test_contextlib_import_joins_the_standard_library_group() -> None:
    source = (
        "from __future__ import annotations\n\nimport os\nimport sys\n\nimport requests\n\n\n"
        "def f(db):\n    c = __import__('sqlite3').connect(db)\n    return c\n\n\n"
        "def g(db):\n    import sqlite3\n    c = sqlite3.connect(db)\n    c.execute('x')\n    c.close()\n"
    )
    fixed = _fixed(source)
    assert fixed.startswith(
        "from __future__ import annotations\n\nimport contextlib\nimport os\nimport sys\n\nimport requests\n"
    )
    source = "import requests\nimport sqlite3\n\n\ndef g(db):\n    c = sqlite3.connect(db)\n    c.execute('x')\n    c.close()\n"
    assert _fixed(source).startswith("import requests\nimport contextlib\nimport sqlite3\n")


def test_inline_stream_read_whole_by_a_parser_is_fixed() -> None:
    source = "import yaml\n\n\ndef load(p):\n    config = yaml.safe_load(open(p))\n    return config\n"
    assert _fixed(source) == (
        "import yaml\n\n\ndef load(p):\n    with open(p) as f:\n        config = yaml.safe_load(f)\n    return config\n"
    )
    lazy = "import yaml\n\n\ndef load(p):\n    docs = yaml.safe_load_all(open(p))\n    return list(docs)\n"
    assert _fixed(lazy) == lazy

"""Fixes the fixer's table does not list: derived from the resource knowledge (issue 15),
re-exported modules, subclasses of resource classes, ``yield from`` and drained readers."""

from __future__ import annotations

from typing import List

import memlint
from memlint.diagnostics import Finding
from memlint.fixes import fix_text


def _check(text: str) -> List[Finding]:
    # Every finding, whatever its confidence: each fix must be safe.
    return memlint.check_source(text, "example.py", {"confidence": "low"})


def _leaks(text: str) -> List[Finding]:
    return [f for f in _check(text) if f.code in ("MEM001", "MEM003")]


def _fixed(text: str, unsafe: bool = False) -> str:
    return fix_text(text, _check, unsafe=unsafe).text


def test_a_model_whose_exit_closes_gets_a_plain_with() -> None:
    source = "import paramiko\n\n\ndef run(host):\n    client = paramiko.SSHClient()\n    client.connect(host)\n"
    assert _fixed(source) == (
        "import paramiko\n\n\ndef run(host):\n    with paramiko.SSHClient() as client:\n        client.connect(host)\n"
    )


def test_a_knowledge_derived_with_lasts_to_the_end_of_the_function() -> None:
    """Closing is taken to be visible (not quiet): the ``with`` covers the later code too."""
    source = "import paramiko\n\n\ndef run(host, log):\n    client = paramiko.SSHClient()\n    client.connect(host)\n    log.write('up')\n"
    assert "    with paramiko.SSHClient() as client:\n        client.connect(host)\n        log.write('up')\n" in _fixed(source)


def test_a_commits_only_model_gets_contextlib_closing() -> None:
    source = "import pyodbc\n\n\ndef rows(dsn, q):\n    conn = pyodbc.connect(dsn)\n    return conn.execute(q).fetchall()\n"
    fixed = _fixed(source)
    assert "import contextlib\n" in fixed
    assert "with contextlib.closing(pyodbc.connect(dsn)) as conn:\n        return conn.execute(q).fetchall()\n" in fixed


def test_a_database_connection_whose_exit_closes_is_still_closed_by_closing() -> None:
    """Drivers' own ``with`` differ (commit first, or a cursor from old PyMySQL)."""
    source = "import duckdb\n\n\ndef rows(path, q):\n    conn = duckdb.connect(path)\n    return conn.execute(q).fetchall()\n"
    assert "with contextlib.closing(duckdb.connect(path)) as conn:" in _fixed(source)


def test_a_model_whose_exit_does_nothing_gets_no_fix() -> None:
    source = "import sqlalchemy\n\n\ndef ping(url):\n    engine = sqlalchemy.create_engine(url)\n    engine.connect().close()\n"
    findings = _leaks(source)
    assert findings and all(f.fix is None for f in findings)


def test_asyncio_libraries_get_no_plain_with() -> None:
    source = "import aiosqlite\n\n\ndef opened(path):\n    db = aiosqlite.connect(path)\n    db.name\n"
    findings = _leaks(source)
    assert findings and all(f.fix is None for f in findings)


def test_an_exit_that_may_do_more_than_close_is_unsafe() -> None:
    source = "import smtplib\n\n\ndef send(host, msg):\n    smtp = smtplib.LMTP(host)\n    smtp.send_message(msg)\n"
    (finding,) = _leaks(source)
    assert finding.fix is not None and not finding.fix.safe


def test_an_exit_stack_is_unsafe_its_exits_see_the_exception() -> None:
    source = "import contextlib\n\n\ndef run(cb):\n    stack = contextlib.ExitStack()\n    stack.callback(cb)\n"
    fixes = [f.fix for f in _leaks(source) if f.fix is not None]
    assert fixes and not any(fix.safe for fix in fixes)


def test_a_module_not_imported_gets_no_knowledge_derived_fix() -> None:
    source = "paramiko = load('paramiko')\n\n\ndef run(host):\n    client = paramiko.SSHClient()\n    client.connect(host)\n"
    findings = _leaks(source)
    assert findings and all(f.fix is None for f in findings)


def test_a_re_exported_module_resolves_like_the_analysis() -> None:
    source = (
        "from pkg._compat import httplib\n\n\ndef status(host):\n    conn = httplib.HTTPConnection(host)\n"
        "    conn.request('HEAD', '/')\n    return conn.getresponse().status\n"
    )
    fixed = _fixed(source)
    assert "    with contextlib.closing(httplib.HTTPConnection(host)) as conn:\n" in fixed
    assert not _leaks(fixed)


def test_a_subclass_of_a_resource_class_is_managed_like_its_base() -> None:
    source = (
        "import socket\n\n\nclass Text(socket.socket):\n    pass\n\n\nclass Line(Text):\n    pass\n\n\n"
        "def ping(addr):\n    sock = Line()\n    sock.connect(addr)\n"
    )
    assert "    with Line() as sock:\n        sock.connect(addr)\n" in _fixed(source)


def test_a_subclass_with_its_own_exit_gets_no_fix() -> None:
    source = (
        "import socket\n\n\nclass Odd(socket.socket):\n    def __exit__(self, *exc):\n        return True\n\n\n"
        "def ping(addr):\n    sock = Odd()\n    sock.connect(addr)\n"
    )
    findings = _leaks(source)
    assert findings and all(f.fix is None for f in findings)


def test_yield_from_a_file() -> None:
    source = "def lines(p):\n    yield from open(p)\n"
    assert _fixed(source) == "def lines(p):\n    with open(p) as f:\n        yield from f\n"


def test_a_lazy_reader_drained_in_the_statement() -> None:
    source = "import csv\n\n\ndef rows(p):\n    return list(csv.reader(open(p, newline='')))\n"
    assert "    with open(p, newline='') as f:\n        return list(csv.reader(f))\n" in _fixed(source)


def test_a_lazy_reader_kept_after_the_statement_gets_no_fix() -> None:
    for line in ("reader = csv.reader(open(p))", "first = next(csv.reader(open(p)))", "rows = list(csv.reader(open(p)), x)"):
        source = f"import csv\n\n\ndef rows(p, x):\n    {line}\n    return 1\n"
        findings = _leaks(source)
        assert findings and all(f.fix is None for f in findings), line


def test_a_generator_of_the_module_is_closed_by_contextlib_closing() -> None:
    source = (
        "def numbers(p):\n    f = open(p)\n    try:\n        yield from f\n    finally:\n        f.close()\n\n\n"
        "def first(p):\n    gen = numbers(p)\n    item = next(gen)\n    gen.close()\n    return item\n"
    )
    fixed = _fixed(source)
    assert "    with contextlib.closing(numbers(p)) as gen:\n        item = next(gen)\n    return item\n" in fixed


def test_an_async_generator_gets_no_fix() -> None:
    source = (
        "async def numbers():\n    yield 1\n\n\n"
        "async def first():\n    gen = numbers()\n    item = await gen.__anext__()\n    await gen.aclose()\n    return item\n"
    )
    assert all(f.fix is None for f in _leaks(source))

"""Issue 13, constructs and where leaks are reported: the messages name the right place and
read naturally (the fixtures check only lines and codes)."""

from __future__ import annotations

import textwrap
from typing import List

import memlint
from memlint.rules._words import with_article


def _messages(source: str, code: str) -> List[str]:
    findings = memlint.check_source(textwrap.dedent(source), "x.py", {"select": [code]})
    return [f"{finding.line}: {finding.message}" for finding in findings]


def test_a_loop_leak_is_reported_at_the_continue_not_at_the_later_raise() -> None:
    source = """
        import socket

        def bind_first(ports):
            for port in ports:
                sock = socket.socket()
                try:
                    sock.bind(("", port))
                except OSError as error:
                    if error.errno == 98:
                        continue
                    sock.close()
                    raise
                return sock
            raise RuntimeError("no port")
    """
    assert _messages(source, "MEM001") == [
        "6: `sock` (a socket from `socket.socket()`) is not closed when `continue` at line 11 skips the release"
    ]


def test_a_comprehension_of_files_is_named_item_by_item() -> None:
    source = """
        def read_all(paths):
            files = [open(p) for p in paths]
            return [f.read() for f in files]
    """
    assert _messages(source, "MEM001") == ["3: each file in `files` (from `open()`) is never closed"]


def test_yield_from_a_file_says_so() -> None:
    source = """
        def lines(path):
            yield from open(path)
    """
    assert _messages(source, "MEM001") == ["3: file from `open()` is yielded from and never closed"]


def test_a_class_closing_only_in_del_is_told_why_that_is_no_release() -> None:
    source = """
        class Log:
            def __init__(self, path):
                self.fh = open(path, "a")

            def __del__(self):
                self.fh.close()
    """
    assert _messages(source, "MEM004") == [
        "4: `self.fh` holds a file from `open()` that no method of `Log` closes "
        "(`__del__` runs only if and when the object is collected)"
    ]


def test_communicate_with_a_timeout_can_leave_the_child() -> None:
    source = """
        import subprocess

        def run(cmd):
            proc = subprocess.Popen(cmd)
            proc.communicate(timeout=5)
    """
    assert _messages(source, "MEM003") == [
        "5: `proc` (a process from `subprocess.Popen()`) is not waited for when `proc.communicate()` raises (line 6)"
    ]
    without = source.replace("timeout=5", "")
    assert _messages(without, "MEM003") == []


def test_init_that_raises_after_acquiring_names_the_raise() -> None:
    source = """
        import sqlite3

        class Store:
            def __init__(self, path, strict):
                self.conn = sqlite3.connect(path)
                if strict:
                    raise ValueError(path)
    """
    assert _messages(source, "MEM001") == [
        "6: `self.conn` (a database connection from `sqlite3.connect()`) is not closed when the `raise` at line 8 "
        "leaves the function"
    ]


def test_initialisms_take_the_article_of_their_first_letter() -> None:
    assert with_article("HTTP connection") == "an HTTP connection"
    assert with_article("TLS socket") == "a TLS socket"
    assert with_article("FTP connection") == "an FTP connection"
    assert with_article("file") == "a file"
    assert with_article("executor") == "an executor"

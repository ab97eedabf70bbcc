"""A `continue` or `break` is named as the path that skips the release only when it really
does (TUNING-NOTES section 62): one written before the acquisition in its loop holds only
what an earlier iteration left held, and a `break` leads to code after the loop that may
release it, where the next iteration's rebinding loses it for sure."""

from __future__ import annotations

import textwrap
from typing import List

import memlint


def _messages(source: str) -> List[str]:
    findings = memlint.check_source(textwrap.dedent(source), "x.py", {"select": ["MEM001"]})
    return [f"{finding.line}: {finding.message}" for finding in findings]


def test_a_continue_before_the_acquisition_is_not_named() -> None:
    source = """
        import socket

        def monitor(stop, address, handle, sock):
            while not stop():
                try:
                    data = sock.recv(1024)
                except socket.timeout:
                    continue
                if not data:
                    sock = socket.create_connection(address)
                    if sock is None:
                        break
                else:
                    handle(data)
            sock.close()
    """
    assert _messages(source) == [
        "11: `sock` (a socket from `socket.create_connection()`) is not closed before the next loop iteration acquires it again"
    ]


def test_a_break_that_leads_to_the_release_gives_way_to_the_rebinding() -> None:
    source = """
        import socket

        def send_first(nodes, packet):
            for node in nodes:
                connection = socket.socket()
                try:
                    connection.connect(node)
                except socket.timeout:
                    pass
                else:
                    break
            connection.sendall(packet)
            connection.close()
    """
    assert _messages(source) == [
        "6: `connection` (a socket from `socket.socket()`) is not closed before the next loop iteration acquires it again"
    ]


def test_a_continue_after_the_acquisition_is_still_named() -> None:
    source = """
        def first_header(paths):
            for path in paths:
                f = open(path)
                if not f.readline():
                    continue
                f.close()
    """
    assert _messages(source) == [
        "4: `f` (a file from `open()`) is not closed when `continue` at line 6 skips the release"
    ]


def test_a_break_with_no_rebinding_is_still_named() -> None:
    source = """
        def first_header(paths):
            for path in paths:
                f = open(path)
                if f.readline():
                    break
                f.close()
    """
    assert _messages(source) == ["4: `f` (a file from `open()`) is not closed when `break` at line 6 skips the release"]

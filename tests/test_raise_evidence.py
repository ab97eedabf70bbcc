"""MEM003's evidence model (issues 13 and 20): the message names the first call that there is
evidence can raise, passing over the calls before it that cannot (a class of the module that
only stores, a helper that only builds a string)."""
from __future__ import annotations

import textwrap

import memlint

SOURCE = textwrap.dedent(
    '''
    import socket
    import somelib


    class Options:
        def __init__(self, timeout):
            self.timeout = timeout


    def _describe(name):
        return "<%s>" % name.strip()


    def _strict(name):
        if not name:
            raise ValueError("empty")
        return name


    def quiet_then_recv(address, name):
        sock = socket.create_connection(address)
        options = Options(5)
        label = _describe(name)
        settings = somelib.Settings(label)
        reply = sock.recv(options.timeout)
        sock.close()
        return reply, settings


    def raising_helper_first(address, name):
        sock = socket.create_connection(address)
        label = _strict(name)
        reply = sock.recv(4)
        sock.close()
        return label, reply
    '''
)


def _messages():
    return {finding.line: finding.message for finding in memlint.check_source(SOURCE, "x.py") if finding.code == "MEM003"}


def test_message_passes_over_calls_without_evidence():
    messages = _messages()
    recv = [message for message in messages.values() if "`sock.recv()` raises" in message]
    assert len(recv) == 1, messages
    assert "Options()" not in recv[0] and "_describe()" not in recv[0]


def test_module_helper_that_raises_is_named():
    messages = _messages()
    assert any("`_strict()` raises" in message for message in messages.values()), messages

"""MEM003 names the first call that can really raise (issue 20's intro, issue 13's wrong
raiser messages): making a cursor, getting a logger, wrapping a fresh descriptor or setting an
option of a fresh object is not that call."""

from __future__ import annotations

import textwrap

import pytest

import memlint


def _mem003_messages(source: str):
    return [f.message for f in memlint.check_source(textwrap.dedent(source), "case.py", {"confidence": "low"}) if f.code == "MEM003"]


@pytest.mark.parametrize(
    "setup, named",
    [
        ("cur = conn.cursor()", "`cur.execute()`"),
        ("log = logging.getLogger(__name__)", "`cur.execute()`"),
        ("conn.setbusytimeout(50)", "`cur.execute()`"),
    ],
)
def test_the_named_raiser_is_the_first_real_one(setup, named):
    messages = _mem003_messages(
        f"""
        import logging, sqlite3

        def work(path):
            conn = sqlite3.connect(path)
            {setup}
            cur = conn.cursor()
            cur.execute("select 1")
            conn.close()
        """
    )
    assert len(messages) == 1, messages
    assert named in messages[0], messages[0]


def test_setting_an_option_of_an_object_known_by_its_release_is_not_a_failure():
    messages = _mem003_messages(
        """
        import paramiko

        def open_transport(sock):
            transport = paramiko.Transport(sock)
            transport.set_keepalive(30)
            return transport
        """
    )
    assert messages == []


def test_a_module_function_that_only_reads_the_environment_is_not_named():
    messages = _mem003_messages(
        """
        import os, platform, subprocess, tempfile

        def _editor(override=None):
            if override:
                editor = override
            elif platform.system() == "Windows":
                editor = "notepad"
            else:
                editor = os.environ.get("EDITOR", "vi")
            return editor

        def edit(text):
            fd, path = tempfile.mkstemp()
            os.close(fd)
            command = _editor()
            subprocess.call([command, path])
            os.remove(path)
        """
    )
    assert len(messages) == 1 and "`subprocess.call()`" in messages[0], messages


def test_a_method_calling_a_client_is_not_taken_for_a_plain_one():
    messages = _mem003_messages(
        """
        import requests

        class Api:
            def _headers(self):
                return self.client.get("/headers")

            def session(self):
                session = requests.Session()
                session.headers.update(self._headers())
                return session
        """
    )
    assert len(messages) == 1 and "`self._headers()`" in messages[0], messages

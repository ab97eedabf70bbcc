"""MEM003 names the first call that can really fail: a call of constants spelled through a local
name, going back to the directory ``os.getcwd()`` gave, ``json.dumps`` of plain values and a
fresh pool's ``apply_async()`` are not it (memlint/analysis/own_values.py). Shapes from
check-13 (plexapi, pypandoc, mfa-servicenow-mcp, ploomber)."""

from __future__ import annotations

import textwrap

import memlint


def _mem003_messages(source: str):
    return [f.message for f in memlint.check_source(textwrap.dedent(source), "case.py") if f.code == "MEM003"]


def test_the_send_is_named_not_the_packed_local_constant():
    messages = _mem003_messages(
        """
        import socket
        import struct

        def discover(message):
            ttl = 1
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, struct.pack("B", ttl))
            sock.sendto(message, ("239.0.0.250", 32414))
            sock.close()
        """
    )
    assert messages and all("`sock.sendto()` raises (line 9)" in message for message in messages), messages


def test_the_unpacking_is_named_not_going_back():
    messages = _mem003_messages(
        """
        import os
        import shutil
        import subprocess
        import tempfile

        def unpack(archive):
            cur_wd = os.getcwd()
            tempfolder = tempfile.mkdtemp()
            os.chdir(cur_wd)
            subprocess.check_call(["ar", "x", archive])
            shutil.rmtree(tempfolder)
        """
    )
    assert messages and all("`subprocess.check_call()` raises (line 11)" in message for message in messages), messages


def test_the_write_is_named_not_the_plain_json():
    messages = _mem003_messages(
        """
        import json
        import os
        import time

        def mark(path):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT)
            os.write(fd, json.dumps({"timestamp": time.time(), "pid": os.getpid()}).encode())
            os.close(fd)
        """
    )
    assert messages and all("`os.write()` raises (line 8)" in message for message in messages), messages


def test_a_module_level_name_is_not_taken_for_a_constant():
    """A name bound once at module level may be rebound by a function's ``global`` statement."""
    messages = _mem003_messages(
        """
        import socket
        import struct

        ttl = 1
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, struct.pack("B", ttl))
        try:
            sock.sendto(b"x", ("239.0.0.250", 32414))
        finally:
            sock.close()
        """
    )
    assert messages and all("`struct.pack()` raises" in message for message in messages), messages


def test_a_name_declared_nonlocal_is_not_taken_for_a_constant():
    messages = _mem003_messages(
        """
        import socket
        import struct

        def outer(message):
            ttl = 1

            def widen():
                nonlocal ttl
                ttl = 4096

            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            widen()
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, struct.pack("B", ttl))
            try:
                sock.sendto(message, ("239.0.0.250", 32414))
            finally:
                sock.close()
        """
    )
    assert messages and all("raises" in message for message in messages), messages

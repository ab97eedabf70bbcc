"""MEM003 names as the raiser the first call that can realistically fail (check-2 sets,
message defects): a command-line parser
being built, an event loop's debug flag, a lookup with a default and a log-level check are
passed over for the call after them."""

from __future__ import annotations

from typing import List

import pytest

from memlint.engine import check_text
from memlint.rules import load_rules
from memlint.rules.base import RuleOptions


def mem003_messages(source: str) -> List[str]:
    findings = check_text(source, "sample.py", load_rules(["MEM003"]), RuleOptions())
    return [finding.message for finding in findings if finding.code == "MEM003"]


CASES = [
    (
        "import optparse, shutil, tempfile\n"
        "def main(argv):\n"
        "    work = tempfile.mkdtemp()\n"
        "    parser = optparse.OptionParser(usage='%prog [options]')\n"
        "    options, args = parser.parse_args(argv)\n"
        "    shutil.rmtree(work)\n"
        "    return options\n",
        "`parser.parse_args()` raises (line 5)",
    ),
    (
        "import asyncio\n"
        "def serve(debug, server):\n"
        "    loop = asyncio.new_event_loop()\n"
        "    loop.set_debug(debug)\n"
        "    loop.run_until_complete(server.start())\n"
        "    loop.close()\n",
        "(line 5)",
    ),
    (
        "import socket\n"
        "def connect(context, address, host):\n"
        "    sock = context.wrap_socket(socket.create_connection(address), server_hostname=host)\n"
        "    if getattr(context, 'check_hostname', False):\n"
        "        host = None\n"
        "    sock.do_handshake()\n"
        "    return sock, host\n",
        "`sock.do_handshake()` raises (line 6)",
    ),
    (
        "import logging\n"
        "logger = logging.getLogger(__name__)\n"
        "DETAIL = 0\n"
        "def log_enabled(detail):\n"
        "    if detail <= DETAIL:\n"
        "        if logger.isEnabledFor(logging.DEBUG):\n"
        "            return True\n"
        "    return False\n"
        "def save(path, text):\n"
        "    target = open(path, 'w')\n"
        "    if log_enabled(1):\n"
        "        logger.debug('saving %s', path)\n"
        "    target.write(text)\n"
        "    target.close()\n",
        "`target.write()` raises (line 13)",
    ),
    (
        # round 18: a connection from a factory of the same module keeps the factory's model,
        # so `conn.cursor()` (which cannot fail) is passed over for the query.
        "import sqlite3\n"
        "def get_connection():\n"
        "    return sqlite3.connect('events.db')\n"
        "def log_event(name):\n"
        "    conn = get_connection()\n"
        "    cursor = conn.cursor()\n"
        "    cursor.execute('insert into events values (?)', (name,))\n"
        "    conn.commit()\n"
        "    conn.close()\n",
        "`cursor.execute()` raises (line 7)",
    ),
]


@pytest.mark.parametrize("source, named", CASES)
def test_the_first_realistic_raiser_is_named(source: str, named: str) -> None:
    messages = mem003_messages(source)
    assert len(messages) == 1, messages
    assert named in messages[0], messages[0]

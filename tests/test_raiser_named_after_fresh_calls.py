"""MEM003 names the first call that can really fail (check-6 message defects, c1): a debug
level set on a fresh FTP connection, descriptor flags read from a fresh socket, a pure
shell-quoting helper, an os.access() question and a helper that unpacks a pair are passed
over; os.path.getsize() stats the file and is named; a timed wait whose timeout the handler
catches is not the raise, the timed wait left in the handler is."""

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
    (  # fs's FTPFS._open_ftp
        "import ftplib\n"
        "def open_ftp(host, port, user, passwd):\n"
        "    _ftp = ftplib.FTP()\n"
        "    _ftp.set_debuglevel(0)\n"
        "    _ftp.connect(host, port, 10)\n"
        "    _ftp.login(user, passwd)\n"
        "    return _ftp\n",
        "`_ftp.connect()` raises (line 5)",
    ),
    (  # execnet's bind_and_listen
        "import fcntl, socket\n"
        "def bind_and_listen(hostport):\n"
        "    serversock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
        "    old = fcntl.fcntl(serversock.fileno(), fcntl.F_GETFD)\n"
        "    fcntl.fcntl(serversock.fileno(), fcntl.F_SETFD, old | fcntl.FD_CLOEXEC)\n"
        "    serversock.bind(hostport)\n"
        "    serversock.listen(5)\n"
        "    return serversock\n",
        "`serversock.bind()` raises (line 6)",
    ),
    (  # mkdocs's _serve_request: getsize() before a helper that unpacks guess_type()'s pair
        "import mimetypes, os\n"
        "def _guess_type(path):\n"
        "    guess, _ = mimetypes.guess_type(path)\n"
        "    return guess or 'application/octet-stream'\n"
        "def serve(file_path, start_response):\n"
        "    file = open(file_path, 'rb')\n"
        "    content_length = os.path.getsize(file_path)\n"
        "    content_type = _guess_type(file_path)\n"
        "    start_response('200 OK', [('Content-Type', content_type), ('Content-Length', str(content_length))])\n"
        "    return file\n",
        "`os.path.getsize()` raises (line 7)",
    ),
    (  # lmql's layout_main: shell quoting between two processes
        "import shlex, subprocess\n"
        "def layout(groups, balance):\n"
        "    processes = []\n"
        "    for cmd in groups:\n"
        "        print(' '.join(shlex.quote(word) for word in cmd))\n"
        "        processes.append(subprocess.Popen(cmd))\n"
        "    print(' '.join(shlex.quote(word) for word in balance))\n"
        "    processes.append(subprocess.Popen(balance))\n"
        "    try:\n"
        "        for process in processes:\n"
        "            process.wait()\n"
        "    finally:\n"
        "        for process in processes:\n"
        "            process.terminate()\n",
        "`subprocess.Popen()` raises (line 8)",
    ),
    (  # the access question answers False; the failing call is the extraction
        "import os, tempfile\n"
        "def extract(path, run):\n"
        "    f = tempfile.NamedTemporaryFile(delete=False)\n"
        "    f.close()\n"
        "    readable = os.access(path, os.R_OK)\n"
        "    text = run(f.name, readable)\n"
        "    os.unlink(f.name)\n"
        "    return text\n",
        "`run()` raises (line 6)",
    ),
    (  # py-postgresql's get_command_output: the first timeout is caught, the second is not
        "import subprocess\n"
        "def output(pa, timeout):\n"
        "    p = subprocess.Popen(pa, stdout=subprocess.PIPE)\n"
        "    try:\n"
        "        stdout, stderr = p.communicate(timeout=timeout)\n"
        "    except subprocess.TimeoutExpired:\n"
        "        p.kill()\n"
        "        stdout, stderr = p.communicate(timeout=2)\n"
        "    return stdout\n",
        "`p.communicate()` raises (line 8)",
    ),
]


@pytest.mark.parametrize("source, expected", CASES)
def test_names_the_call_that_can_fail(source: str, expected: str) -> None:
    messages = mem003_messages(source)
    assert messages, "expected a MEM003 finding"
    assert any(expected in message for message in messages), messages

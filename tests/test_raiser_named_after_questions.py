"""MEM003 passes over calls that only answer a question (TUNING-NOTES section 32): OpenCV's
isOpened() and Win32's SetErrorMode() through ctypes are not named as the raiser; the first
call that can really fail is, and a leak with no such call is not reported."""

from __future__ import annotations

from typing import List

from memlint.engine import check_text
from memlint.rules import load_rules
from memlint.rules.base import RuleOptions


def mem003_messages(source: str) -> List[str]:
    findings = check_text(source, "sample.py", load_rules(["MEM003"]), RuleOptions())
    return [finding.message for finding in findings if finding.code == "MEM003"]


def test_capture_read_is_named_not_is_opened():
    source = (
        "import cv2\n"
        "def frames(path):\n"
        "    video = cv2.VideoCapture(path)\n"
        "    out = []\n"
        "    while video.isOpened():\n"
        "        ok, frame = video.read()\n"
        "        if not ok:\n"
        "            break\n"
        "        out.append(frame)\n"
        "    video.release()\n"
        "    return out\n"
    )
    messages = mem003_messages(source)
    assert len(messages) == 1
    assert "`video.read()` raises (line 6)" in messages[0]


def test_error_mode_is_not_an_exception_path():
    source = (
        "import threading\n"
        "lock = threading.Lock()\n"
        "def run(work):\n"
        "    lock.acquire()\n"
        "    import ctypes\n"
        "    previous = ctypes.windll.kernel32.SetErrorMode(2)\n"
        "    try:\n"
        "        return work()\n"
        "    finally:\n"
        "        ctypes.windll.kernel32.SetErrorMode(previous)\n"
        "        lock.release()\n"
    )
    assert mem003_messages(source) == []


def test_other_kernel32_calls_still_raise():
    source = (
        "import threading\n"
        "lock = threading.Lock()\n"
        "def run(path, work):\n"
        "    lock.acquire()\n"
        "    import ctypes\n"
        "    handle = ctypes.windll.kernel32.LoadLibraryW(path)\n"
        "    try:\n"
        "        return work(handle)\n"
        "    finally:\n"
        "        lock.release()\n"
    )
    messages = mem003_messages(source)
    assert len(messages) == 1
    assert "`ctypes.windll.kernel32.LoadLibraryW()` raises (line 6)" in messages[0]


def test_capture_properties_are_not_named():
    """TUNING-NOTES section 34: get() and set() of an OpenCV capture do not raise; the frame
    read is named."""
    source = (
        "import cv2\n"
        "def frames(path, step):\n"
        "    video = cv2.VideoCapture(path)\n"
        "    total = int(video.get(cv2.CAP_PROP_FRAME_COUNT))\n"
        "    out = []\n"
        "    for index in range(0, total, step):\n"
        "        video.set(cv2.CAP_PROP_POS_FRAMES, index)\n"
        "        ok, frame = video.read()\n"
        "        out.append(frame)\n"
        "    video.release()\n"
        "    return out\n"
    )
    messages = mem003_messages(source)
    assert len(messages) == 1
    assert "`video.read()` raises (line 8)" in messages[0]


def test_method_returning_an_attribute_is_not_named():
    """TUNING-NOTES section 34: a getter of a class of this module, on an object the function
    made, cannot raise; the file's own write is what can."""
    source = (
        "class Counter:\n"
        "    def __init__(self):\n"
        "        self._count = 0\n"
        "    def count(self):\n"
        "        return self._count\n"
        "def save(path, data):\n"
        "    counter = Counter()\n"
        "    f = open(path, 'w')\n"
        "    counter.count()\n"
        "    f.write(data)\n"
        "    f.close()\n"
    )
    messages = mem003_messages(source)
    assert len(messages) == 1
    assert "`f.write()` raises (line 10)" in messages[0]


def test_cursor_work_is_named_before_a_helper_that_raises():
    """TUNING-NOTES section 34: a cursor's execute() is the connection's own work (direct
    evidence), the first call that can raise; a later helper with a `raise` is not named."""
    source = (
        "import sqlite3\n"
        "def flatten(rows, to='list'):\n"
        "    if to == 'list':\n"
        "        return [i for r in rows for i in r]\n"
        "    raise ValueError(to)\n"
        "def search(path, query):\n"
        "    connection = sqlite3.connect(path)\n"
        "    cursor = connection.cursor()\n"
        "    cursor.execute('CREATE TABLE t (x)')\n"
        "    found = flatten(cursor.execute(query).fetchall())\n"
        "    connection.close()\n"
        "    return found\n"
    )
    messages = mem003_messages(source)
    assert len(messages) == 1
    assert "`cursor.execute()` raises (line 9)" in messages[0]

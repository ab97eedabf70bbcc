"""benchmarks/realcode/tiers.py: evidence kinds, Wilson intervals, the first-sight and current tallies."""
import json
import os
import sys

import pytest

REALCODE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "benchmarks", "realcode")
sys.path.insert(0, REALCODE)

import tiers  # noqa: E402
from memlint.api import check_source  # noqa: E402

LEAKS = '''import socket
import subprocess
import threading

_lock = threading.Lock()


def early_return(addr, quick):
    s = socket.socket()
    if quick:
        return None
    s.close()


def explicit_raise(addr, bad):
    s = socket.socket()
    if bad:
        raise ValueError(addr)
    s.close()


def never(addr):
    s = socket.socket()
    s.connect(addr)


def unnamed(addr):
    socket.socket().connect(addr)


def reraised(cmd):
    p = subprocess.Popen(cmd)
    try:
        p.communicate(timeout=1)
    except subprocess.TimeoutExpired:
        raise RuntimeError(cmd)
    p.wait()


def unbound(addr):
    try:
        s = socket.socket()
        s.connect(addr)
    finally:
        s.close()
'''


def test_each_verdict_is_read_back_from_the_rule_s_own_words():
    kinds = {(f.line, f.code): tiers.kind_of(f.code, f.message)
             for f in check_source(LEAKS, "leaks.py", {"confidence": "low"})}
    assert kinds[(9, "MEM001")] == "MEM001 return"
    assert kinds[(16, "MEM001")] == "MEM001 raise"
    assert kinds[(23, "MEM001")] == "MEM001 never"
    assert kinds[(28, "MEM001")] == "MEM001 unnamed"
    assert kinds[(32, "MEM003")] == "MEM003 reraise"
    assert kinds[(42, "MEM003")] == "MEM003 unbound-in-finally"


@pytest.mark.parametrize("code, message, kind", [
    ("MEM001", "`f` (a file from `open()`) is not closed when the function returns at line 7", "MEM001 return"),
    ("MEM001", "`d` (a temporary directory from `tempfile.mkdtemp()`) is not removed when the function "
               "returns at line 9", "MEM001 path return"),
    ("MEM001", "`self._lock` (acquired by `self._lock.acquire()`) is not released on every path", "MEM001 lock branch"),
    ("MEM001", "`s` (a socket from `socket.socket()`) is not closed when `break` at line 4 skips the release",
     "MEM001 loop-exit"),
    ("MEM001", "`s` (a socket from `socket.socket()`) is rebound at line 5 before it is closed", "MEM001 rebind"),
    ("MEM001", "`s` (a socket from `socket.socket()`) is not closed before it is acquired again", "MEM001 rebind"),
    ("MEM001", "`s` (a socket from `socket.socket()`) is not closed on every path", "MEM001 branch"),
    ("MEM001", "each file in `fs` (from `open()`) is never closed", "MEM001 never"),
    ("MEM001", "file from `open()` is iterated over and never closed", "MEM001 unnamed"),
    ("MEM001", "`_lock` is acquired by `_lock.acquire()` and never released", "MEM001 lock never (module global)"),
    ("MEM003", "`f` (a file from `open()`) is not closed when `f.read()` raises (line 3)", "MEM003 call"),
    ("MEM003", "`f` (a file from `open()`) is not closed when an exception is raised", "MEM003 no-witness"),
    ("MEM003", "`f` (a file from `open()`) is not closed when the `await` at line 3 raises", "MEM003 await"),
    ("MEM003", "`f` (a file from `open()`) is not closed when the generator is closed at the `yield` on line 3",
     "MEM003 yield"),
    ("MEM003", "`f` (a file from `open()`) is not closed when the `assert` at line 3 fails", "MEM003 assert"),
    ("MEM003", "`f` (a file from `open()`) is not closed when line 3 raises", "MEM003 statement"),
    ("MEM003", "`l` (acquired by `l.acquire()`) is not released when `g()` raises (line 3)", "MEM003 lock call"),
    ("MEM004", "`self.s` holds a socket from `socket.socket()` that no method of `C` closes",
     "MEM004 class never releases"),
    ("MEM004", "cleanup after `yield` in context manager `cm` is skipped when the `with` body raises: put it in "
               "a `finally` block", "MEM004 cleanup after yield"),
    ("MEM061", "anything", "MEM061"),
])
def test_kind_of(code, message, kind):
    assert tiers.kind_of(code, message) == kind


def test_wilson():
    low, high = tiers.wilson(8, 2)
    assert round(low, 3) == 0.490 and round(high, 3) == 0.943
    assert tiers.wilson(0, 0) == (0.0, 1.0)
    assert tiers.wilson(5, 0)[1] == 1.0


def _entry(project, verdict, reason, message, code="MEM001", text="s = socket.socket()"):
    return {"set": "check-1", "project": project, "path": "a.py", "code": code, "function": "f", "text": text,
            "occurrence": 0, "verdict": verdict, "message_wrong": False, "reason": reason, "message": message}


RETURN = "`s` (a socket from `socket.socket()`) is not closed when the function returns at line 4"
NEVER = "`s` (a socket from `socket.socket()`) is never closed"
FIRST = "check-set judgement 2026-12-07 (check-1, seed 1): "


def _inputs():
    ledger = [
        _entry("p1", "true", FIRST + "leaks", RETURN),
        _entry("p2", "false", FIRST + "the return needs the open to fail", RETURN),
        _entry("p3", "debatable", FIRST + "?", RETURN),
        _entry("p4", "true", "sampled in round 3", RETURN),  # not first sight: counted only now
        _entry("p5", "true", FIRST + "leaks", NEVER),
    ]
    current = [
        dict(_entry("p1", "", "", RETURN), confidence="low"),
        dict(_entry("p2", "", "", RETURN), confidence="low"),
        dict(_entry("p4", "", "", RETURN), confidence="high"),
        dict(_entry("p5", "", "", NEVER), confidence="high"),
        dict(_entry("p6", "", "", NEVER), confidence="high"),  # not judged
    ]
    return ledger, current


def test_tally_first_sight_and_now():
    table = tiers.tally(*_inputs())
    ret, never = table["MEM001 return"], table["MEM001 never"]
    assert (ret["first"]["true"], ret["first"]["false"], ret["first"]["debatable"]) == (1, 1, 1)
    assert ret["now"][("low", "true")] == 1 and ret["now"][("low", "false")] == 1
    assert ret["now"][("high", "true")] == 1 and ret["now"][("high", "false")] == 0
    assert never["first"]["true"] == 1 and sum(never["now"].values()) == 1


def test_main_prints_a_line_per_kind(tmp_path, capsys):
    ledger, current = _inputs()
    (tmp_path / "ledger.jsonl").write_text("".join(json.dumps(e) + "\n" for e in ledger))
    (tmp_path / "findings.jsonl").write_text("".join(json.dumps(f) + "\n" for f in current))
    assert tiers.main([str(tmp_path / "findings.jsonl"), "--ledger", str(tmp_path / "ledger.jsonl")]) == 0
    out = capsys.readouterr().out.splitlines()
    ret = next(line for line in out if line.startswith("MEM001 return"))
    assert " 1/   1/  1 " in ret and "50.0 %" in ret
    assert "now, every kind at high: 2 true / 0 false, 100.0 %" in out[-2]
    assert "now, every kind at low: 1 true / 1 false,  50.0 %" in out[-1]
    assert tiers.main([str(tmp_path / "missing.jsonl"), "--ledger", str(tmp_path / "ledger.jsonl")]) == 2

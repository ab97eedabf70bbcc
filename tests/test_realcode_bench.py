"""The real-code precision harness (benchmarks/realcode): keys, exclusions, ledger, sampling."""
import json
import os
import subprocess
import sys

import pytest

REALCODE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "benchmarks", "realcode")
sys.path.insert(0, REALCODE)

import findings  # noqa: E402
import ledger  # noqa: E402
import sample  # noqa: E402

SOURCE = '''import socket


class Server:
    def dial(self, addr):
        s = socket.socket()
        s.connect(addr)
        s = socket.socket()
        return s
'''


def _raw(line):
    return {"path": "pkg/server.py", "line": line, "code": "MEM001", "message": "m"}


def _keys(tmp_path, text, lines):
    (tmp_path / "pkg").mkdir(exist_ok=True)
    (tmp_path / "pkg" / "server.py").write_text(text)
    records = findings.keyed_findings("demo", "tuning", str(tmp_path), [_raw(n) for n in lines])
    return [r["key"] for r in records]


@pytest.mark.parametrize("path, excluded", [
    ("pkg/tests/helpers.py", True), ("testing/util.py", True), ("pkg/test/x.py", True),
    ("pkg/test_server.py", True), ("pkg/server_test.py", True), ("conftest.py", True),
    ("pkg/testcase.py", False), ("pkg/contest.py", False), ("e2e_tests/run.py", False),
])
def test_test_code_is_excluded_exactly_as_judging_md_says(path, excluded):
    assert findings.is_test_path(path) is excluded


def test_key_survives_an_unrelated_line_shift(tmp_path):
    before = _keys(tmp_path, SOURCE, [6, 8])
    shifted = _keys(tmp_path, "# a comment\n\n" + SOURCE, [8, 10])
    assert before == shifted
    assert before[0] != before[1], "two identical lines need distinct occurrence indexes"
    assert "Server.dial" in before[0]


def test_a_form_feed_does_not_shift_the_line_a_key_reads(tmp_path):
    # Python counts a form feed as whitespace, not as the end of a line; a key that read
    # lines with str.splitlines() took its text from a later line (python-daemon's daemon.py).
    text = "import socket\n\x0c\nclass Server:\n    def dial(self, addr):\n        s = socket.socket()\n"
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "server.py").write_text(text)
    (record,) = findings.keyed_findings("demo", "tuning", str(tmp_path), [_raw(5)])
    assert record["text"] == "s = socket.socket()"
    context = sample._context(str(tmp_path), "pkg/server.py", 5, 0, 0)
    assert context == [">     5 |         s = socket.socket()"]


def test_lost_true_positive_is_reported_only_for_the_projects_run():
    judged = {"demo|a.py|MEM001|f|x = open(p)|0": {
        "project": "demo", "set": "tuning", "verdict": "true", "code": "MEM001"}}
    assert len(ledger.lost_true_positives([], judged, ["tuning"], ["demo"])) == 1
    assert ledger.lost_true_positives([], judged, ["tuning"], ["other"]) == []
    still_there = [{"key": "demo|a.py|MEM001|f|x = open(p)|0"}]
    assert ledger.lost_true_positives(still_there, judged, ["tuning"], ["demo"]) == []


def test_a_loss_given_up_on_purpose_is_kept_apart_and_needs_a_reason():
    entry = {"project": "demo", "set": "tuning", "verdict": "true", "code": "MEM003",
             "path": "a.py", "function": "f", "text": "x", "occurrence": 0}
    judged = {"k1": dict(entry), "k2": dict(entry, accepted_loss="traded for fewer false alarms")}
    lost = ledger.lost_true_positives([], judged, ["tuning"], ["demo"])
    assert len(lost) == 2
    assert ledger.accepted_losses(lost) == [judged["k2"]]


def test_sample_is_seeded_and_stratified_by_rule():
    candidates = [{"key": f"{p}{c}{i}", "code": c, "project": p}
                  for p in "abc" for c in ("MEM001", "MEM003") for i in range(10)]
    first = sample.draw(candidates, 10, seed=7)
    assert first == sample.draw(candidates, 10, seed=7)
    assert first != sample.draw(candidates, 10, seed=8)
    codes = [f["code"] for f in first]
    assert codes.count("MEM001") == codes.count("MEM003") == 5
    projects_of_mem001 = [f["project"] for f in first if f["code"] == "MEM001"]
    assert set(projects_of_mem001) == set("abc"), "projects are taken in turn"


def test_record_rejects_a_bad_verdict_with_one_line(tmp_path):
    entry = {"set": "tuning", "project": "demo", "path": "a.py", "code": "MEM001",
             "function": "f", "text": "x", "occurrence": 0, "verdict": "maybe",
             "message_wrong": False, "reason": "r"}
    filled = tmp_path / "filled.jsonl"
    filled.write_text(json.dumps(entry) + "\n")
    done = subprocess.run(
        [sys.executable, os.path.join(REALCODE, "run.py"), "--ledger",
         str(tmp_path / "ledger.jsonl"), "--record", str(filled)],
        capture_output=True, text=True)
    assert done.returncode == 2
    assert "verdict must be one of" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_vanished_twin_does_not_hand_its_verdict_to_the_other(tmp_path):
    """Two findings with the same text in one function (lines 6 and 8): the first is judged
    false, the second true. When memlint stops reporting the first, the second must keep its
    own verdict, not take the first one's occurrence index."""
    text = SOURCE.replace("s = socket.socket()\n        return s", "s = socket.socket()\n        return None")
    judged = [dict(r, verdict=v, line=r["line"]) for r, v in zip(
        findings.keyed_findings("demo", "tuning", str(_write(tmp_path, text)), [_raw(6), _raw(8)]), ("false", "true"))]
    entries = {r["key"]: r for r in judged}
    now = findings.keyed_findings("demo", "tuning", str(tmp_path), [_raw(8)])
    assert now[0]["occurrence"] == 0  # counted in line order, it collides with the false one
    ledger.rematch_by_line(now, entries)
    assert entries[now[0]["key"]]["verdict"] == "true"
    assert ledger.lost_true_positives(now, entries, ["tuning"], ["demo"]) == []


def _write(tmp_path, text):
    (tmp_path / "pkg").mkdir(exist_ok=True)
    (tmp_path / "pkg" / "server.py").write_text(text)
    return tmp_path


PROJECTS_TOML = '''
[[project]]
set = "tuning"
name = "alpha"
version = "1.0"

[[project]]
set = "check-2"
name = "beta"
version = "2.0"
'''


def _write_projects(tmp_path, text):
    path = tmp_path / "projects.toml"
    path.write_text(text)
    return str(path)


def test_a_set_is_whatever_projects_toml_names(tmp_path):
    import fetch

    listed = fetch.load_projects(_write_projects(tmp_path, PROJECTS_TOML))
    assert fetch.set_names(listed) == ["tuning", "check-2"]
    assert fetch.chosen_sets(["check-2", "check-2"], listed) == ["check-2"]
    with pytest.raises(ValueError, match="unknown set 'check-3'.*tuning, check-2"):
        fetch.chosen_sets(["check-3"], listed)


@pytest.mark.parametrize("old, new, message", [
    ('set = "check-2"', 'set = "Check 2"', "bad set name"),
    ('set = "check-2"', 'set = "check-"', "bad set name"),
    ('name = "beta"', 'name = "Alpha"', "listed twice"),
])
def test_a_bad_set_name_or_a_twin_project_is_refused(tmp_path, old, new, message):
    import fetch

    with pytest.raises(ValueError, match=message):
        fetch.load_projects(_write_projects(tmp_path, PROJECTS_TOML.replace(old, new)))


@pytest.mark.parametrize("script", ["run.py", "fetch.py"])
def test_an_unknown_set_on_the_command_line_is_one_line_and_exit_2(script):
    done = subprocess.run([sys.executable, os.path.join(REALCODE, script), "--set", "no-such-set"],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert "unknown set 'no-such-set'" in done.stderr and "agents-check-2" in done.stderr


def test_the_real_project_list_has_the_fresh_check_sets():
    import fetch

    listed = fetch.load_projects()
    sizes = {name: sum(p["set"] == name for p in listed) for name in fetch.set_names(listed)}
    assert sizes["check-2"] >= 14 and sizes["agents-check-2"] >= 8
    assert all(p.get("kind") for p in listed if p["set"].endswith("check-2"))

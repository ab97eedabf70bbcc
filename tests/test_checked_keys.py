"""Lookups that cannot miss (TUNING-NOTES section 38): a key looked up right after `key in
container`, or spelled by the function's own dict display, is not named as the raiser of a
MEM003 message; the first call that can really fail is."""

from __future__ import annotations

from typing import List

from memlint.engine import check_text
from memlint.rules import load_rules
from memlint.rules.base import RuleOptions


def mem003_messages(source: str) -> List[str]:
    findings = check_text(source, "sample.py", load_rules(["MEM003"]), RuleOptions())
    return [finding.message for finding in findings if finding.code == "MEM003"]


def test_lookup_after_membership_test_is_not_named():
    source = (
        "import h5py\n"
        "def export(path, group):\n"
        "    h5file = h5py.File(path, 'w')\n"
        "    if group in h5file:\n"
        "        container = h5file[group]\n"
        "    else:\n"
        "        container = h5file.create_group(group)\n"
        "    return h5file\n"
    )
    messages = mem003_messages(source)
    assert len(messages) == 1
    assert "`h5file.create_group()` raises (line 7)" in messages[0]


def test_lookup_without_the_test_is_named():
    source = (
        "import h5py\n"
        "def export(path, group):\n"
        "    h5file = h5py.File(path, 'w')\n"
        "    container = h5file[group]\n"
        "    container = h5file.create_group(group)\n"
        "    return h5file\n"
    )
    messages = mem003_messages(source)
    assert len(messages) == 1
    assert "line 4 raises" in messages[0]


def test_helper_deleting_its_own_keys_and_cookie_helpers_are_not_named():
    source = (
        "import requests\n"
        "class Context:\n"
        "    def _header(self, anonymous=False):\n"
        "        header = {'Host': 'example.org', 'User-Agent': self.agent}\n"
        "        if anonymous:\n"
        "            del header['Host']\n"
        "        return header\n"
        "    def load(self, data):\n"
        "        session = requests.Session()\n"
        "        session.cookies = requests.utils.cookiejar_from_dict(data)\n"
        "        session.headers.update(self._header())\n"
        "        session.headers.update({'X-CSRFToken': session.cookies.get_dict()['csrftoken']})\n"
        "        self.session = session\n"
    )
    messages = mem003_messages(source)
    assert len(messages) == 1
    assert "(line 12)" in messages[0]


def test_merge_environment_settings_is_not_named():
    source = (
        "import requests\n"
        "def build(url, auth_for):\n"
        "    session = requests.Session()\n"
        "    settings = session.merge_environment_settings(url, {}, None, None, None)\n"
        "    session.auth = auth_for(url)\n"
        "    return session\n"
    )
    messages = mem003_messages(source)
    assert len(messages) == 1
    assert "`auth_for()` raises (line 5)" in messages[0]

"""``[tool.memlint.resources]`` entries with every field of a knowledge model, kept to the
configuration that declares them (``memlint.knowledge.overlay``)."""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

import pytest

import memlint
from memlint.config import ConfigError, config_from_mapping
from memlint.knowledge import CONFIG_FIELDS, knowledge, knowledge_for, parse_configured
from memlint.knowledge.loader import MODEL_FIELDS

OWN_METHOD_RAISES = "import wlib\n\ndef f(p):\n    w = wlib.connect(p)\n    w.ping()\n    w.close()\n"
OTHER_CALL_RAISES = "import registry\n\ndef f(p):\n    h = open(p)\n    registry.notify(p)\n    h.close()\n"
WRAPPED_FILE = (
    "import wlib\n\ndef f(p):\n    h = open(p)\n    w = wlib.Wrapper(stream=h)\n"
    "    try:\n        return w.read()\n    finally:\n        w.close()\n"
)
SUBCLASS = (
    "import wlib\n\nclass Mine(wlib.Base):\n    pass\n\ndef f():\n    m = Mine()\n    m.send(b'')\n\n"
    "def g():\n    with wlib.Base() as s:\n        s.send(b'')\n"
)
LEASE = "def f(pool):\n    lease = pool.lease()\n    lease.use()\n"


def findings(source: str, resources: Dict[str, Any]) -> List[Tuple[str, str]]:
    # Every finding, whatever its confidence: these tests are about what the configuration adds.
    config = {"select": ["MEM001", "MEM003", "MEM004"], "resources": resources, "confidence": "low"}
    return [(f.code, f.message) for f in memlint.check_source(source, "x.py", config)]


def test_every_model_field_may_be_configured() -> None:
    assert set(CONFIG_FIELDS) == set(MODEL_FIELDS)


def test_non_raising_own_methods_of_a_configured_resource_end_an_exception_path() -> None:
    assert findings(OWN_METHOD_RAISES, {"wlib.connect": "close"}) == [
        ("MEM003", "`w` (a resource from `wlib.connect()`) is not closed when `w.ping()` raises (line 5)")
    ]
    quiet = {"wlib.connect": {"release": ["close"], "non_raising_own_methods": ["ping"]}}
    assert findings(OWN_METHOD_RAISES, quiet) == []


def test_non_raising_methods_from_the_configuration_apply_to_other_resources_too() -> None:
    assert [code for code, _ in findings(OTHER_CALL_RAISES, {})] == ["MEM003"]
    assert findings(OTHER_CALL_RAISES, {"wlib.connect": {"non_raising_methods": ["notify"]}}) == []


def test_borrowed_params_keep_the_wrapped_file_the_callers() -> None:
    # Without it, handing ``h`` to the wrapper hands it on; with it, ``h`` is still ours.
    assert findings(WRAPPED_FILE, {"wlib.Wrapper": "close"}) == []
    borrowing = {"wlib.Wrapper": {"release": ["close"], "borrowed_params": ["wlib.Wrapper:stream"]}}
    assert findings(WRAPPED_FILE, borrowing) == [("MEM001", "`h` (a file from `open()`) is never closed")]


def test_subclass_bases_make_subclasses_resources() -> None:
    assert findings(SUBCLASS, {}) == []
    bases = {"wlib.Base": {"release": ["close"], "subclass_bases": ["wlib.Base"]}}
    assert findings(SUBCLASS, bases) == [("MEM001", "`m` (a resource from `Mine()`) is never closed")]


def test_methods_that_acquire_can_be_configured() -> None:
    assert findings(LEASE, {}) == []
    leases = {"wlib.Pool": {"release": ["close"], "kind": "pool lease", "methods": ["lease"]}}
    assert findings(LEASE, leases) == [("MEM001", "`lease` (a pool lease from `pool.lease()`) is never closed")]


def test_two_configurations_in_one_process_do_not_see_each_others_resources() -> None:
    quiet = {"wlib.connect": {"release": ["close"], "non_raising_own_methods": ["ping"], "non_raising_methods": ["notify"]}}
    plain = {"wlib.connect": "close"}
    for _round in range(2):
        assert findings(OWN_METHOD_RAISES, quiet) == []
        assert [code for code, _ in findings(OWN_METHOD_RAISES, plain)] == ["MEM003"]
        assert [code for code, _ in findings(OTHER_CALL_RAISES, plain)] == ["MEM003"]
        assert findings(OTHER_CALL_RAISES, quiet) == []
    # The shipped tables are untouched.
    assert "notify" not in knowledge().non_raising_methods
    assert "notify" in knowledge_for({"wlib.connect": parse_configured("wlib.connect", quiet["wlib.connect"], "t")}).non_raising_methods


def test_a_configured_callable_replaces_the_shipped_model_of_it() -> None:
    source = "import sqlite3\n\ndef f(p):\n    conn = sqlite3.connect(p)\n    conn.execute('x')\n"
    [(code, message)] = findings(source, {"sqlite3.connect": {"kind": "store", "release": ["shut"]}})
    assert (code, message) == ("MEM001", "`conn` (a store from `sqlite3.connect()`) is never released with `shut()`")


@pytest.mark.parametrize(
    "resources, message",
    [
        (
            {"a.open": {"acquired_by": ["a.make"]}, "b.open": {"acquired_by": ["a.make"]}},
            r"resources.'b.open': 'a.make' is also acquired by resources.'a.open'",
        ),
        (
            {"a.open": {"name": "lease"}, "b.open": {"name": "lease"}},
            r"resources.'b.open': model name 'lease' is already taken",
        ),
        (
            {"a.Archive": {"release": ["close"]}, "a.member": {"methods": ["member"], "receiver": "a.Archive"}},
            None,
        ),
    ],
)
def test_entries_are_checked_together(resources: Dict[str, Any], message: Any) -> None:
    if message is None:
        config_from_mapping({"resources": resources}, source="pyproject.toml")
        return
    with pytest.raises(ConfigError, match=r"^pyproject.toml: " + message):
        config_from_mapping({"resources": resources}, source="pyproject.toml")


def test_bad_field_in_pyproject_is_one_line_and_exit_2(run_memlint, tree) -> None:
    tree(
        {
            "pyproject.toml": '[tool.memlint.resources]\n"wlib.connect" = { release = ["close"], borrowed_params = ["oops"] }\n',
            "a.py": OWN_METHOD_RAISES,
        }
    )
    result = run_memlint("check", "a.py")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("memlint: ") and line.endswith(
        "pyproject.toml: resources.'wlib.connect': `borrowed_params` entry 'oops' is not a valid name"
    ), line


def test_the_cache_key_follows_the_configured_fields(run_memlint, tree) -> None:
    header = '[tool.memlint]\nselect = ["MEM003"]\n[tool.memlint.resources]\n"wlib.connect" = '
    root = tree({"pyproject.toml": header + '{ release = ["close"] }\n', "a.py": OWN_METHOD_RAISES})
    first = run_memlint("check", "--output-format", "concise", "a.py")
    assert first.returncode == 1, (first.stdout, first.stderr)
    (root / "pyproject.toml").write_text(header + '{ release = ["close"], non_raising_own_methods = ["ping"] }\n')
    second = run_memlint("check", "--output-format", "concise", "a.py")
    assert second.returncode == 0, (second.stdout, second.stderr)
    assert (root / ".memlint_cache").exists()


def test_the_documented_example_is_accepted_as_written() -> None:
    """docs/resources.md's example of ``[tool.memlint.resources]`` reads without error."""
    import re
    import sys
    from pathlib import Path

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    document = (Path(__file__).resolve().parent.parent / "docs" / "resources.md").read_text()
    [example] = re.findall(r"```toml\n(\[tool\.memlint\.resources\].*?)```", document, re.S)
    table = tomllib.loads(example)["tool"]["memlint"]["resources"]
    assert len(table) >= 6
    config = config_from_mapping({"resources": table}, source="pyproject.toml")
    assert findings(LEASE, table) == [
        ("MEM001", "`lease` (a pool lease from `pool.lease()`) is never closed")
    ]
    assert set(config.resources) == set(table)


def test_a_configured_resource_is_named_once_in_its_message() -> None:
    """Issue 20: "a resource from openai.OpenAI() from `OpenAI()`" named the callable twice."""
    source = "from vendor import Client\n\ndef f():\n    c = Client()\n    c.send()\n"
    [(code, message)] = findings(source, {"vendor.Client": "close"})
    assert (code, message) == ("MEM001", "`c` (a resource from `Client()`) is never closed")
    [(code, message)] = findings(source, {"vendor.Client": {"kind": "vendor client", "release": ["shutdown"]}})
    assert message == "`c` (a vendor client from `Client()`) is never released with `shutdown()`"


def test_owner_message_conjugates_the_verbs_of_the_agent_packs() -> None:
    """MEM004 says what no method does: "quits" a browser driver, "stops" a kernel client."""
    source = "from selenium import webdriver\n\nclass Browser:\n    def setup(self):\n        self.driver = webdriver.Chrome()\n"
    [finding] = memlint.check_source(source, "x.py", {"select": ["MEM004"]})
    assert finding.message.endswith("that no method of `Browser` quits"), finding.message
    configured = {"wlib.Client": {"release": ["stop_channels"], "kind": "kernel client", "verb": "stopped"}}
    source = "import wlib\n\nclass Runner:\n    def __init__(self):\n        self.client = wlib.Client()\n"
    [finding] = memlint.check_source(source, "x.py", {"select": ["MEM004"], "resources": configured})
    assert finding.message.endswith("that no method of `Runner` stops"), finding.message

"""Resource knowledge as data (memlint/knowledge/*.toml): covered by fixtures both ways,
checked when loaded, the source of the README's table, the prefilter and the cache key."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

import memlint
from memlint.cache import memlint_fingerprint
from memlint.config import ConfigError, config_from_mapping
from memlint.knowledge import KnowledgeError, knowledge, knowledge_files, resource_reference_markdown, resource_table_markdown
from memlint.knowledge.loader import load_knowledge
from memlint.prefilter import GENERIC_LAST_NAMES, trigger_names

sys.path.insert(0, str(Path(__file__).resolve().parent))
from knowledge_coverage import exercised  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
KNOWLEDGE_DIR = REPO_ROOT / "memlint" / "knowledge"


# --- every model covered by the fixture corpus, both ways ---------------------------------


def test_every_acquiring_callable_fires_in_a_bad_case_and_stays_quiet_in_an_ok_case() -> None:
    fire, quiet, _, _ = exercised()
    callables = [name for model in knowledge().models.values() for name in model.acquired_by]
    assert len(callables) >= 100
    never_fires = [name for name in callables if name not in fire]
    never_quiet = [name for name in callables if name not in quiet]
    assert never_fires == [], f"no `bad_` fixture line with `# expect:` calls {never_fires}"
    assert never_quiet == [], f"no `ok_` fixture case calls {never_quiet}"


def test_every_acquiring_method_fires_in_a_bad_case_and_stays_quiet_in_an_ok_case() -> None:
    _, _, fire, quiet = exercised()
    methods = {method for model in knowledge().models.values() for method in model.methods}
    assert {"open", "accept", "makefile", "wrap_socket", "acquire"} <= methods
    assert sorted(methods - fire) == [] and sorted(methods - quiet) == []


def test_the_coverage_check_notices_an_uncovered_callable() -> None:
    """The check above can fail: a callable named nowhere in the corpus is missing both ways."""
    fire, quiet, _, _ = exercised()
    assert "mylib.never_in_a_fixture" not in fire | quiet
    assert "socket.socket" in fire and "socket.socket" in quiet


# --- the files and the loader --------------------------------------------------------------


def test_at_least_three_family_files_and_one_for_calls() -> None:
    names = [path.name for path in knowledge_files()]
    families = {model.family for model in knowledge().models.values()}
    assert "calls.toml" in names
    assert {"stdlib-io", "stdlib-net", "stdlib-process", "databases", "http-clients"} <= families


def test_loaded_once_per_process() -> None:
    assert knowledge() is knowledge()


def test_every_exit_behaviour_is_declared_and_parts_name_models() -> None:
    models = knowledge().models
    for model in models.values():
        assert model.exit in ("closes", "commits-only", "nothing")
        for _index, part in model.parts:
            assert part in models
    assert models["sqlite-connection"].exit == "commits-only"
    assert "gzip.GzipFile:fileobj@3" in models["file"].borrowed_params
    # Read into the tables: by keyword, and at the position after "@".
    assert ("fileobj", 3) in knowledge().borrowed_params["gzip.GzipFile"]
    assert knowledge().subclass_bases["socket.socket"].kind == "socket"


def _write(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(KNOWLEDGE_DIR / "calls.toml", directory / "calls.toml")
    (directory / "family.toml").write_text(text)
    return directory


@pytest.mark.parametrize(
    "text, message",
    [
        ('[[model]]\nname = "x"\nkind = "x"\nrelase = ["close"]\n', r"family.toml: model 1: unknown field\(s\) \['relase'\]"),
        ('[[model]]\nname = "x"\nkind = "x"\nexit = "maybe"\n', r"`exit` must be one of closes, commits-only, nothing"),
        ('[[model]]\nname = "x"\nkind = "x"\nparts = [{ index = 0, model = "y" }]\n', r"part 'y' is not a model"),
        ('[[model]]\nname = "x"\nkind = "x"\nacquired_by = ["a.b"]\nmay_be_detached = ["c.d"]\n', r"not in its `acquired_by`"),
        ('[[model]]\nname = "x"\nkind = "x"\nacquired_by = ["a.b"]\n[[model]]\nname = "y"\nkind = "y"\nacquired_by = ["a.b"]\n',
         r"'a.b' is acquired by two models"),
        ('[[model]]\nkind = "x"\n', r"`name` is required"),
        ('[[model]]\nname = "x"\nkind = "x"\nrelease = "close"\n', r"`release` must be a list of strings"),
        ('[[model]\n', r"family.toml: not valid TOML"),
        ('[resources]\n', r"unknown top-level key\(s\) \['resources'\]"),
    ],
)
def test_a_broken_knowledge_file_is_named_with_its_field(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(KnowledgeError, match=message):
        load_knowledge(_write(tmp_path / "k", text))


def test_a_new_family_file_is_all_it_takes_to_know_a_library(tmp_path: Path) -> None:
    directory = _write(tmp_path / "k", '[[model]]\nname = "widget"\nkind = "widget"\nacquired_by = ["wlib.open_widget"]\nrelease = ["dispose"]\n')
    loaded = load_knowledge(directory)
    spec = loaded.resource_calls["wlib.open_widget"]
    assert (spec.kind, spec.release, spec.model) == ("widget", frozenset({"dispose"}), "widget")


def test_a_broken_inferred_table_is_named(tmp_path: Path) -> None:
    directory = _write(tmp_path / "k", '[[model]]\nname = "x"\nkind = "x"\n')
    (directory / "inferred.toml").write_text('[inferring]\nrelease_methods = ["close"]\n')
    with pytest.raises(KnowledgeError, match=r"inferred.toml: \[inferring\] release_methods must map"):
        load_knowledge(directory)


def test_the_container_methods_are_read_as_two_lists() -> None:
    # A set takes an item by ``add`` (membership), but a ``WeakSet`` keeps nothing alive.
    known = knowledge()
    assert known.adding_methods == frozenset({"append", "appendleft", "add", "insert"})
    assert known.keeping_methods == frozenset({"append", "appendleft", "insert", "setdefault", "put", "put_nowait"})
    assert known.adding_methods | known.keeping_methods <= known.handoff_methods


def test_a_broken_container_list_is_named(tmp_path: Path) -> None:
    directory = _write(tmp_path / "k", '[[model]]\nname = "x"\nkind = "x"\n')
    calls = directory / "calls.toml"
    text = calls.read_text()
    calls.write_text(re.sub(r"(?m)^adding_methods = \[.*\]$", 'adding_methods = "append"', text, count=1))
    with pytest.raises(KnowledgeError, match=r"calls.toml: \[containers\] adding_methods must be a list of strings"):
        load_knowledge(directory)


def test_inferred_release_methods_and_their_verbs_are_read() -> None:
    known = knowledge()
    assert known.inferred_release_verbs["close"] == "closed"
    assert known.inferred_release_verbs["shutdown"] == "shut down"
    assert "cursor" in known.inferred_not_from_methods and "connect" in known.inferred_set_up_methods


# --- derived from the data -----------------------------------------------------------------


def test_readme_resource_table_is_generated_from_the_data() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- resource-table:start -->\n(.*?)<!-- resource-table:end -->", readme, re.S)
    assert found, "README.md has no resource-table markers"
    assert found.group(1) == resource_table_markdown(), (
        "README.md's resource table is stale: replace it with memlint.knowledge.resource_table_markdown()"
    )


def test_docs_resource_reference_is_generated_from_the_data() -> None:
    document = (REPO_ROOT / "docs" / "resources.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- resource-reference:start -->\n(.*?)<!-- resource-reference:end -->", document, re.S)
    assert found, "docs/resources.md has no resource-reference markers"
    assert found.group(1) == resource_reference_markdown(), (
        "docs/resources.md is stale: replace its table with memlint.knowledge.resource_reference_markdown()"
    )


def test_resource_tables_name_every_acquiring_callable() -> None:
    reference = resource_reference_markdown()
    missing = [name for name in knowledge().resource_calls if f"`{name}`" not in reference]
    assert missing == []
    # The README's row of each family names the package and the rest of every callable.
    rows = {line.split(" | ")[0].strip("| "): line for line in resource_table_markdown().splitlines()[2:]}
    for model in knowledge().models.values():
        for name in model.acquired_by:
            package, _, rest = name.partition(".")
            assert f"`{package}`" in rows[model.family] and rest in rows[model.family], name


def test_readme_resource_table_stays_compact() -> None:
    """One row per knowledge file: the README has to stay short."""
    assert len(resource_table_markdown().splitlines()) == 2 + len({m.family for m in knowledge().models.values()})


def test_prefilter_trigger_names_come_from_the_data() -> None:
    names = trigger_names({})
    conditional = knowledge().conditional_names
    for qualified in knowledge().resource_calls:
        head, _, last = qualified.rpartition(".")
        expected = head.split(".", 1)[0] if head and last in GENERIC_LAST_NAMES and last != "open" else last
        if last in conditional:
            # ``requests.get(url, stream=True)``: the keyword is the trigger, not ``get``.
            assert last not in names and "stream" in names, qualified
            continue
        assert expected in names, qualified
    assert {"accept", "makefile", "wrap_socket", "acquire"} <= names


def test_cache_fingerprint_changes_when_the_knowledge_changes(tmp_path: Path) -> None:
    package = tmp_path / "memlint"
    shutil.copytree(REPO_ROOT / "memlint", package, ignore=shutil.ignore_patterns("__pycache__", "runtime", "_leaks"))
    before = memlint_fingerprint(package)
    toml = package / "knowledge" / "http-clients.toml"
    toml.write_text(toml.read_text() + "\n# one more comment, one more byte\n")
    assert memlint_fingerprint(package) != before


# --- [tool.memlint.resources] ---------------------------------------------------------------

LEAK = "import wlib\n\ndef f(p):\n    w = wlib.open_widget(p)\n    return w.size()\n"


def test_configured_resource_as_a_table_gives_kind_and_verb_to_the_message() -> None:
    config = {
        "select": ["MEM001"],
        "resources": {"wlib.open_widget": {"kind": "widget", "release": ["dispose"], "verb": "disposed of"}},
    }
    [finding] = memlint.check_source(LEAK, "x.py", config)
    assert finding.message == "`w` (a widget from `wlib.open_widget()`) is never disposed of"
    released = LEAK.replace("    return w.size()\n", "    size = w.size()\n    w.dispose()\n    return size\n")
    assert memlint.check_source(released, "x.py", config) == []


def test_configured_long_lived_resource_is_not_reported_as_a_module_global() -> None:
    module_level = "import wlib\n\npool = wlib.open_widget(1)\n"
    long_lived = {"wlib.open_widget": {"release": ["dispose"], "long_lived": True}}
    assert memlint.check_source(module_level, "x.py", {"resources": long_lived}) == []
    [finding] = memlint.check_source(module_level, "x.py", {"resources": {"wlib.open_widget": "dispose"}})
    assert finding.code == "MEM001"


def test_configured_resource_as_a_string_keeps_working() -> None:
    [finding] = memlint.check_source(LEAK, "x.py", {"select": ["MEM001"], "resources": {"wlib.open_widget": "dispose"}})
    # Named once, by the call that made it, with the release the configuration gave.
    assert finding.message == "`w` (a resource from `wlib.open_widget()`) is never released with `dispose()`"
    [closed] = memlint.check_source(LEAK, "x.py", {"select": ["MEM001"], "resources": {"wlib.open_widget": "close"}})
    assert closed.message == "`w` (a resource from `wlib.open_widget()`) is never closed"


def test_configured_resource_reads_naturally_in_every_rule() -> None:
    owner = "import wlib\n\nclass Holder:\n    def __init__(self, p):\n        self.w = wlib.open_widget(p)\n"
    [finding] = memlint.check_source(owner, "x.py", {"select": ["MEM004"], "resources": {"wlib.open_widget": {"release": ["dispose"]}}})
    assert finding.message == (
        "`self.w` holds a resource from `wlib.open_widget()` that no method of `Holder` releases with `dispose()`"
    )
    dropped = "import wlib\n\ndef f(p):\n    wlib.open_widget(p)\n"
    [finding] = memlint.check_source(dropped, "x.py", {"select": ["MEM001"], "resources": {"wlib.open_widget": "close"}})
    assert finding.message == "resource from `wlib.open_widget()` is discarded and never closed"


@pytest.mark.parametrize(
    "value, message",
    [
        ({"relase": ["close"]}, r"resources.'wlib.open_widget': unknown field\(s\) \['relase'\]; known fields: "),
        ({"release": "close"}, r"resources.'wlib.open_widget': `release` must be a list of strings"),
        ({"exit": "sometimes"}, r"`exit` must be one of closes, commits-only, nothing"),
        ({"borrowed_params": ["wlib.Wrap"]}, r"`borrowed_params` entry 'wlib.Wrap' is not a valid name"),
        ({"subclass_bases": "wlib.Base"}, r"`subclass_bases` must be a list of strings"),
        ({"non_raising_methods": ["not a name"]}, r"`non_raising_methods` entry 'not a name' is not a valid name"),
        ({"long_lived": "yes"}, r"`long_lived` must be true or false"),
        ({"receiver": "no-such-model", "methods": ["lease"]}, r"`receiver` 'no-such-model' is not path, any or the name of a model"),
        ({"parts": [{"index": 0, "model": "nothing-here"}]}, r"part 'nothing-here' is not the name of a model without parts"),
        ({"name": "file"}, r"model name 'file' is already taken"),
        (3, r"must be a method name like \"close\" or a table of model fields, got 3"),
    ],
)
def test_configured_resource_errors_name_the_entry_and_field(value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=r"^pyproject.toml: .*" + message):
        config_from_mapping({"resources": {"wlib.open_widget": value}}, source="pyproject.toml")


def test_a_receiver_only_model_holds_nothing_itself() -> None:
    """`async_playwright()` is what `.start()` is called on, not a resource of its own:
    its callables stay out of the acquiring table but still mark the receiver."""
    known = knowledge()
    starter = known.models["playwright-starter"]
    assert starter.only_a_receiver
    assert not set(starter.acquired_by) & set(known.resource_calls)
    assert "playwright-starter" in known.receiver_models
    assert [m.model.name for m in known.method_acquisitions["start"]] == ["playwright-driver"]
    assert "openai.OpenAI" in known.resource_calls  # an ordinary model's callables are there

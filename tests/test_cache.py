"""The result cache: hits, misses, invalidation, corrupt entries, concurrent runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from memlint.cache import FORMAT, Cache, content_digest, memlint_fingerprint
from memlint.diagnostics import Edit, Finding, Fix

from conftest import memlint_env, run_memlint_process, write_tree

LEAKY = "import os\n\nhandle = open(os.devnull)\n"
BROKEN = "def f(:\n"


def cache_files(cache_dir: Path) -> list:
    return sorted((cache_dir / f"v{FORMAT}").glob("*.json"))


def cached_paths(cache_dir: Path) -> list:
    """The paths with an entry in the (single) cache file of ``cache_dir``."""
    [cache_file] = cache_files(cache_dir)
    return sorted(json.loads(cache_file.read_text())["entries"])


def test_round_trip_with_a_fix(tmp_path):
    cache = Cache.open(tmp_path / "c")
    fix = Fix("use with", True, (Edit(1, 2, 3, 4, "x"),))
    findings = [Finding("a.py", 1, 2, 1, 9, "MEM001", "leak", fix), Finding("a.py", 3, 1, 3, 1, "MEM000", "m")]
    key = cache.key(content_digest(b"data"), "a.py", frozenset({"MEM001"}), {})
    assert cache.get(key, "a.py") is None
    cache.put(key, "a.py", findings)
    cache.save()
    reopened = Cache.open(tmp_path / "c")
    assert reopened.get(key, "a.py") == findings
    assert reopened.get(key, "a.py")[0].fix == fix
    assert reopened.get(key, "b.py") is None
    other = reopened.key(content_digest(b"changed"), "a.py", frozenset({"MEM001"}), {})
    assert reopened.get(other, "a.py") is None
    # A file keeps one entry however often it changes.
    reopened.put(other, "a.py", [])
    reopened.save()
    assert cached_paths(tmp_path / "c") == ["a.py"]
    assert Cache.open(tmp_path / "c").get(other, "a.py") == []


def test_save_writes_only_when_something_changed(tmp_path):
    cache = Cache.open(tmp_path / "c")
    cache.save()
    assert cache_files(tmp_path / "c") == []
    cache.put("k", "a.py", [])
    cache.save()
    [written] = cache_files(tmp_path / "c")
    before = written.stat().st_mtime_ns
    again = Cache.open(tmp_path / "c")
    assert again.get("k", "a.py") == []
    again.save()
    assert written.stat().st_mtime_ns == before


def test_old_fingerprint_files_are_pruned(tmp_path):
    for index in range(Cache.KEEP + 3):
        cache = Cache(tmp_path / "c", fingerprint=f"version-{index}")
        cache._folder.mkdir(parents=True, exist_ok=True)
        cache.put("k", "a.py", [])
        cache.save()
        os.utime(cache._file, (1_000_000 + index, 1_000_000 + index))
    names = sorted(path.stem for path in cache_files(tmp_path / "c"))
    assert len(names) == Cache.KEEP + 1
    assert "version-0" not in names and f"version-{Cache.KEEP + 2}" in names


def test_marker_files(tmp_path):
    cache = Cache.open(tmp_path / "c")
    assert not (tmp_path / "c").exists()  # nothing is created before there is something to keep
    cache.put("k", "a.py", [])
    cache.save()
    assert (tmp_path / "c" / ".gitignore").read_text().splitlines()[-1] == "*"
    assert (tmp_path / "c" / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")


def test_key_depends_on_everything_that_changes_a_result(tmp_path):
    cache = Cache(tmp_path, fingerprint="one")
    base = (content_digest(b"x = 1\n"), "a.py", frozenset({"MEM001"}), {})
    key = cache.key(*base)
    assert key == cache.key(*base)
    variants = [
        (content_digest(b"x = 2\n"), "a.py", frozenset({"MEM001"}), {}),
        (base[0], "b.py", frozenset({"MEM001"}), {}),
        (base[0], "a.py", frozenset({"MEM001", "MEM003"}), {}),
        (base[0], "a.py", frozenset({"MEM001"}), {"lib.connect": "close"}),
    ]
    assert len({key} | {cache.key(*variant) for variant in variants}) == 5
    assert Cache(tmp_path, fingerprint="two").key(*base) != key


def test_fingerprint_changes_when_memlint_source_changes(tmp_path, monkeypatch):
    import memlint.cache as cache_module

    before = memlint_fingerprint()
    assert before == memlint_fingerprint()
    fake_package = tmp_path / "memlint"
    fake_package.mkdir()
    (fake_package / "cache.py").write_text("# a copy\n")
    monkeypatch.setattr(cache_module, "__file__", str(fake_package / "cache.py"))
    first = memlint_fingerprint()
    (fake_package / "engine.py").write_text("# new\n")
    assert memlint_fingerprint() != first
    monkeypatch.setattr(cache_module, "__version__", "999")
    assert memlint_fingerprint() != first


@pytest.mark.parametrize(
    "garbage",
    ["", "{", "[]", '{"entries": []}', '{"entries": {"a.py": "KEY"}}', '{"entries": {"a.py": ["KEY", [[1, 2, 3]]]}}',
     '{"entries": {"a.py": ["KEY", [["1", 1, 1, 1, "MEM001", "m", null]]]}}', '{"entries": {"a.py": ["other", []]}}'],
    ids=["empty", "truncated", "list", "entries-list", "entry-string", "short-row", "string-line", "wrong-key"],
)
def test_corrupt_files_and_entries_are_misses(tmp_path, garbage):
    cache = Cache.open(tmp_path / "c")
    key = cache.key(content_digest(b""), "a.py", frozenset(), {})
    cache._folder.mkdir(parents=True)
    cache._file.write_text(garbage.replace("KEY", key))
    assert cache.get(key, "a.py") is None
    cache.put(key, "a.py", [])
    cache.save()
    assert Cache.open(tmp_path / "c").get(key, "a.py") == []


# --------------------------------------------------------------------------- through the CLI


def test_warm_run_gives_the_same_output(tmp_path):
    write_tree(tmp_path, {"a.py": LEAKY, "b.py": BROKEN, "c.py": "x = 1\n", "d.py": "y = 2  # noqa: MEM000\n"})
    args = ("check", "--extend-select", "MEM100", "--output-format", "json", "--cache-dir", "cache", ".")
    cold = run_memlint_process(*args, cwd=tmp_path)
    assert cached_paths(tmp_path / "cache") == ["a.py", "b.py", "c.py", "d.py"]
    warm = run_memlint_process(*args, cwd=tmp_path)
    assert cold.returncode == warm.returncode == 1
    assert warm.stdout == cold.stdout
    assert {f["code"] for f in json.loads(warm.stdout)} == {"MEM000", "MEM001", "MEM100"}
    # The full format still shows source lines for cached findings.
    full = run_memlint_process("check", "--cache-dir", "cache", "a.py", cwd=tmp_path)
    assert "3 | handle = open(os.devnull)" in full.stdout


def test_changes_of_content_or_config_are_not_served_stale(tmp_path):
    write_tree(tmp_path, {"a.py": LEAKY})
    run = lambda *extra: json.loads(run_memlint_process(
        "check", "--output-format", "json", "--cache-dir", "cache", *extra, "a.py", cwd=tmp_path).stdout)
    assert [f["code"] for f in run()] == ["MEM001"]
    assert run("--select", "MEM003") == []
    (tmp_path / "a.py").write_text("import os\n\nwith open(os.devnull) as handle:\n    pass\n")
    assert run() == []
    (tmp_path / "pyproject.toml").write_text('[tool.memlint.resources]\n"lib.connect" = "close"\n')
    (tmp_path / "a.py").write_text("import lib\nc = lib.connect()\n")
    assert [f["code"] for f in run()] == ["MEM001"]


def test_corrupt_entry_is_ignored_and_rewritten(tmp_path):
    write_tree(tmp_path, {"a.py": LEAKY})
    args = ("check", "--output-format", "json", "--cache-dir", "cache", "a.py")
    expected = run_memlint_process(*args, cwd=tmp_path).stdout
    [cache_file] = cache_files(tmp_path / "cache")
    cache_file.write_text('{"entries": {"a.py": ["half-writ')
    assert run_memlint_process(*args, cwd=tmp_path).stdout == expected
    assert cached_paths(tmp_path / "cache") == ["a.py"]


def test_no_cache_writes_nothing(tmp_path):
    write_tree(tmp_path, {"a.py": LEAKY})
    run_memlint_process("check", "--no-cache", "a.py", cwd=tmp_path)
    assert not (tmp_path / ".memlint_cache").exists()
    run_memlint_process("check", "a.py", cwd=tmp_path)
    assert cached_paths(tmp_path / ".memlint_cache") == ["a.py"]


def test_unusable_cache_dir_warns_and_still_checks(tmp_path):
    write_tree(tmp_path, {"a.py": BROKEN, "blocker": "a file where the cache folder should go\n"})
    result = run_memlint_process("check", "--cache-dir", "blocker", "--output-format", "concise", "a.py", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("memlint: warning: running without a cache: cannot use blocker")
    assert "a.py:1:7: MEM000" in result.stdout


def test_concurrent_runs_do_not_corrupt_the_cache(tmp_path):
    files = {f"pkg/m{i}.py": LEAKY if i % 3 == 0 else f"x = {i}\n" for i in range(40)}
    write_tree(tmp_path, files)
    command = [sys.executable, "-m", "memlint", "check", "--output-format", "json", "--cache-dir", "cache",
               "--jobs", "1", "pkg"]
    processes = [subprocess.Popen(command, cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=memlint_env()) for _ in range(3)]
    outputs = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 1, stderr
        outputs.append(stdout)
    assert len(set(outputs)) == 1
    assert len(cached_paths(tmp_path / "cache")) == 40
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.name.startswith(".memlint-")]
    warm = subprocess.run(command, cwd=str(tmp_path), capture_output=True, env=memlint_env(), timeout=300, check=False)
    assert warm.stdout == outputs[0]


WARM_PROBE = textwrap.dedent(
    """
    import json, sys
    import memlint.api
    from memlint.cli import main
    batches = []
    real_map = memlint.api.ordered_map
    def counting_map(function, work, *args, **kwargs):
        batches.extend(work)
        return real_map(function, work, *args, **kwargs)
    memlint.api.ordered_map = counting_map
    code = main(sys.argv[1:])
    heavy = sorted({name.split(".")[0] for name in sys.modules} & {"libcst", "psutil"})
    sys.stderr.write(json.dumps([code, heavy, len(batches)]))
    """
)


def test_a_warm_run_imports_neither_libcst_nor_psutil(tmp_path):
    write_tree(tmp_path, {"a.py": LEAKY, "b.py": "x = 1\n"})
    probe = [sys.executable, "-c", WARM_PROBE, "check", "--cache-dir", "cache", "."]
    cold = subprocess.run(probe, cwd=str(tmp_path), capture_output=True, text=True, env=memlint_env(), check=False)
    # The files are checked in a worker process: this one never imports libcst.
    assert json.loads(cold.stderr.splitlines()[-1]) == [1, [], 1]
    warm = subprocess.run(probe, cwd=str(tmp_path), capture_output=True, text=True, env=memlint_env(), check=False)
    # Warm: every result comes from the cache, no work is sent to a worker at all.
    assert json.loads(warm.stderr.splitlines()[-1]) == [1, [], 0]


def test_results_of_changed_files_and_internal_errors_are_not_cacheable(tmp_path, monkeypatch):
    import memlint.api as api
    import memlint.rules
    from memlint.rules.base import RuleOptions

    (tmp_path / "a.py").write_text("x = open\n")
    task = api.FileTask(str(tmp_path / "a.py"), "a.py", frozenset({"MEM001"}), RuleOptions(),
                        content_digest(b"something else"), True)
    [outcome] = api.check_batch([task])
    assert outcome.cacheable is False  # the file changed after it was hashed
    same = api.FileTask(task.path, task.display, task.codes, task.options, content_digest(b"x = open\n"), True)
    assert api.check_batch([same])[0].cacheable is True

    (tmp_path / "crashing_rule.py").write_text(
        "from memlint.rules.base import Rule\n\n"
        "class Crash(Rule):\n    code = 'MEM100'\n\n    def check(self, ctx):\n        raise RuntimeError('boom')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(memlint.rules.RULE_CLASSES, "MEM100", "crashing_rule:Crash")
    monkeypatch.setattr(api, "_RULE_SET", api.RuleSet())
    crashing = api.FileTask(task.path, task.display, frozenset({"MEM100", "MEM900"}), task.options, same.digest, True)
    [outcome] = api.check_batch([crashing])
    assert [finding.code for finding in outcome.findings] == ["MEM900"]
    assert outcome.cacheable is False

"""benchmarks/realcode/run.py --verify-regions: findings with region parsing on and off,
compared per project (regions_check.py), on a small made-up project."""
import os
import sys

import memlint.api as api
from memlint.api import CheckResult
from memlint.diagnostics import Finding

REALCODE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks", "realcode")
sys.path.insert(0, REALCODE)

import regions_check  # noqa: E402


def _project(folder):
    (folder / "leaky.py").write_text("def read(path):\n    handle = open(path)\n    return handle.read()\n",
                                     encoding="utf-8")
    (folder / "plain.py").write_text("def add(x):\n    return x + 1\n", encoding="utf-8")
    return ["leaky.py", "plain.py"]


def test_a_project_checked_both_ways_gives_no_difference(tmp_path):
    files = _project(tmp_path)
    on, off, differences = regions_check.compare_project(str(tmp_path), files, None, 1)
    assert (on, off, differences) == (1, 1, [])


def test_a_finding_only_one_way_is_reported_and_counted(tmp_path, monkeypatch):
    files = _project(tmp_path)
    real = api.check_files
    extra = Finding("plain.py", 2, 5, 2, 9, "MEM001", "made up for the test")

    def check_files(found, resolver, jobs=1, regions=True, **kwargs):
        result = real(found, resolver, jobs=jobs, regions=regions, **kwargs)
        if not regions:
            return CheckResult(result.findings + [extra], result.sources, result.files_checked)
        return result

    monkeypatch.setattr(api, "check_files", check_files)
    lines = []
    projects = [{"set": "tuning", "name": "made-up"}, {"set": "tuning", "name": "absent"}]
    roots = {"made-up": str(tmp_path), "absent": str(tmp_path / "not-there")}
    total = regions_check.verify_regions(projects, lambda p: roots[p["name"]], lambda root: files, None, 1,
                                         write=lines.append)
    assert total == 1
    assert any("OFF only plain.py:2:5 MEM001" in line for line in lines)
    assert any("absent" in line and "not fetched" in line for line in lines)
    assert lines[-1].startswith("region parsing on vs off: 1 findings differ")

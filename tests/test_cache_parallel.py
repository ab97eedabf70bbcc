"""--jobs: worker processes give exactly the in-process result, in a deterministic order."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from memlint.api import MIN_FILES_FOR_WORKERS, check_files
from memlint.config import ConfigResolver, Overrides
from memlint.discovery import discover
from memlint.parallel import default_jobs, make_batches, ordered_map

from conftest import REPO_ROOT, run_memlint_process


def double_all(batch):
    return [item * 2 for item in batch]


def fail_on_three(batch):
    if 3 in batch:
        raise ValueError("three")
    return batch


def test_ordered_map_keeps_order_across_processes():
    batches = [[i, i + 100] for i in range(20)]
    expected = [value * 2 for batch in batches for value in batch]
    assert list(ordered_map(double_all, batches, workers=2)) == expected
    assert list(ordered_map(double_all, batches, workers=1)) == expected


def test_worker_errors_propagate():
    with pytest.raises(ValueError, match="three"):
        list(ordered_map(fail_on_three, [[1], [2], [3], [4]], workers=2))


def process_ids(batch):
    return [os.getpid() for _ in batch]


def test_isolate_runs_even_one_batch_in_a_worker_process():
    assert set(ordered_map(process_ids, [[1, 2]], workers=1)) == {os.getpid()}
    [worker] = set(ordered_map(process_ids, [[1, 2]], workers=1, isolate=True))
    assert worker != os.getpid()
    assert list(ordered_map(process_ids, [], workers=1, isolate=True)) == []


def test_a_consumer_that_stops_at_the_last_result_leaves_no_worker_running():
    # zip() never resumes the generator after its last result: the pool must already be
    # shut down by then, not left to garbage collection (which killed the workers and let
    # the pool's thread race the interpreter's exit).
    outcomes = ordered_map(double_all, [[1], [2], [3]], workers=2)
    assert list(zip(range(3), outcomes)) == [(0, 2), (1, 4), (2, 6)]
    assert multiprocessing.active_children() == []
    outcomes.close()


def test_make_batches_keeps_every_item_once_biggest_first():
    items = list("abcdefghij")
    sizes = [10, 500_000, 30, 40, 50, 60, 70, 80, 90, 100]
    batches = make_batches(items, sizes, max_bytes=200, max_items=3)
    assert batches[0] == ["b"]
    assert sorted(item for batch in batches for item in batch) == items
    assert all(len(batch) <= 3 for batch in batches)


def test_default_jobs_is_positive():
    assert default_jobs() >= 1


@pytest.mark.slow
def test_workers_give_the_in_process_result(monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    resolver = ConfigResolver(Overrides(select=("ALL",)), isolated=True)
    files = discover(["fixtures", "memlint"], resolver)
    assert len(files) >= MIN_FILES_FOR_WORKERS
    one = check_files(files, resolver, jobs=1)
    two = check_files(files, resolver, jobs=2)
    assert two.findings == one.findings
    assert two.sources == one.sources
    assert two.files_checked == one.files_checked == len(files)


@pytest.mark.slow
def test_cli_jobs_output_is_identical():
    args = ("check", "--isolated", "--no-cache", "--select", "ALL", "--output-format", "json", "fixtures")
    one = run_memlint_process(*args, "--jobs", "1", cwd=REPO_ROOT)
    two = run_memlint_process(*args, "--jobs", "2", cwd=REPO_ROOT)
    assert one.returncode == two.returncode == 1
    assert two.stdout == one.stdout

"""benchmarks/bench_corpus.py without timing anything: the result table and its ratios from
made-up measurements, the download failure path, the corpus copy and the arguments."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
sys.path.insert(0, BENCHMARKS)

import bench_corpus  # noqa: E402


def _measured(key, wall, cpu, peak=100.0, code=0):
    return {"key": key, "label": key, "wall": wall, "cpu": cpu, "peak_mb": peak, "code": code}


def test_ratios_are_taken_to_the_floor_and_to_memlint_jobs_1():
    rows = bench_corpus.with_ratios([
        _measured("floor", 40.0, 38.0),
        _measured("memlint-jobs1", 20.0, 19.0),
        _measured("pylint", 100.0, 190.0),
    ])
    pylint = rows[2]
    assert pylint["wall_x_floor"] == pytest.approx(2.5)
    assert pylint["cpu_x_floor"] == pytest.approx(5.0)
    assert pylint["wall_x_jobs1"] == pytest.approx(5.0)
    assert pylint["cpu_x_jobs1"] == pytest.approx(10.0)
    assert rows[1]["wall_x_floor"] == pytest.approx(0.5)


def test_table_names_tools_not_installed_and_failed_exits():
    rows = bench_corpus.with_ratios([
        _measured("floor", 40.0, 38.0),
        _measured("memlint-jobs1", 20.0, 19.0, peak=321.0),
        {"key": "flake8", "label": "flake8 default checks", "note": "not installed"},
        _measured("ruff-sim115", 0.5, 0.9, code=2),
    ])
    lines = bench_corpus.format_table(rows).splitlines()
    assert len(lines) == 5
    memlint = lines[2].split()
    assert memlint[-6:] == ["0.500", "1.000", "19.00", "0.500", "1.000", "321"]
    assert lines[3].split()[-2:] == ["not", "installed"]
    assert lines[4].endswith("(exit 2)")
    assert "0.013" in lines[4]  # ruff's wall time / the floor's


def test_without_memlint_jobs_1_its_ratios_are_left_blank():
    rows = bench_corpus.with_ratios([_measured("floor", 10.0, 10.0), _measured("ruff-default", 1.0, 2.0)])
    assert rows[1]["wall_x_jobs1"] is None
    cells = bench_corpus.format_table(rows).splitlines()[2].split()
    assert cells[2:4] == ["0.100", "-"] and cells[5:7] == ["0.200", "-"]


def test_a_failed_download_is_one_line_and_exit_code_2(tmp_path, monkeypatch, capsys):
    commands = []

    def pip_without_network(command, **kwargs):
        commands.append(command)
        return subprocess.CompletedProcess(command, 1, "", "WARNING: retrying\nERROR: No matching distribution found\n")

    monkeypatch.setattr(bench_corpus.subprocess, "run", pip_without_network)
    assert bench_corpus.main(["--cache", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert error.startswith("bench_corpus: cannot download Django==5.1.4")
    assert "No matching distribution found" in error
    assert commands[0][-1] == "Django==5.1.4" and "--no-deps" in commands[0]


def test_an_sdist_already_there_is_not_downloaded_again(tmp_path):
    (tmp_path / "django-5.1.4.tar.gz").write_bytes(b"")

    def no_download(command, **kwargs):
        raise AssertionError(f"ran {command}")

    found = bench_corpus.fetch_sdist("Django", "5.1.4", tmp_path, run=no_download)
    assert found.name == "django-5.1.4.tar.gz"


def test_the_corpus_leaves_test_folders_out_unless_asked(tmp_path):
    source = tmp_path / "pkg"
    (source / "tests").mkdir(parents=True)
    (source / "sub").mkdir()
    (source / "a.py").write_text("x = 1\ny = 2\n")
    (source / "sub" / "b.py").write_text("z = 3\n")
    (source / "sub" / "notes.txt").write_text("not python\n")
    (source / "tests" / "test_a.py").write_text("assert True\n")
    assert bench_corpus.copy_python_files(source, tmp_path / "without", with_tests=False) == (2, 3)
    assert not (tmp_path / "without" / "tests").exists()
    assert bench_corpus.copy_python_files(source, tmp_path / "with", with_tests=True) == (3, 4)
    assert (tmp_path / "with" / "tests" / "test_a.py").read_text() == "assert True\n"
    left_out = [source / "sub" / "b.py"]
    assert bench_corpus.copy_python_files(source, tmp_path / "less", with_tests=True, left_out=left_out) == (2, 3)
    assert not (tmp_path / "less" / "sub" / "b.py").exists()


def test_repeat_below_one_is_refused(capsys):
    with pytest.raises(SystemExit) as stopped:
        bench_corpus.parse_arguments(["--repeat", "0"])
    assert stopped.value.code == 2
    assert "--repeat must be at least 1" in capsys.readouterr().err


def test_default_cache_is_ignored_by_the_repository_tests():
    # test_py39_syntax and the package snapshot skip folders named .cache: sdists must land there.
    assert ".cache" in Path(bench_corpus.DEFAULT_CACHE).parts

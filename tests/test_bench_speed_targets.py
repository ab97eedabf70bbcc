"""benchmarks/bench_speed.py's list of aims, from made-up measurements (nothing is timed)."""
import os
import sys

BENCHMARKS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
sys.path.insert(0, BENCHMARKS)

import bench_speed  # noqa: E402


def _row(wall, cpu, peak=100.0):
    return {"wall": wall, "cpu": cpu, "peak_mb": peak, "code": 0}


def _verdicts(lines):
    return {line.split("  ")[0].strip(): line.rsplit("  ", 1)[1] for line in lines[1:]}


def test_every_aim_is_printed_with_its_figure_and_verdict():
    figures = {
        "floor": _row(20.0, 19.0),
        "jobs1": _row(9.0, 9.0),       # 0.47x the floor's CPU: met
        "default": _row(8.0, 16.0),    # 0.4x the floor's wall: not met
        "warm": _row(0.2, 0.2),        # 0.01x: met
        "ten": _row(0.5, 0.6),         # 0.5 s: not met
        "with-tests": _row(60.0, 60.0, peak=240.0),
        "pylint": _row(30.0, 54.0),    # 6x memlint --jobs 1: met
    }
    lines = bench_speed.target_lines(figures)
    assert len(lines) == 1 + len(bench_speed.TARGETS)
    verdicts = list(_verdicts(lines).values())
    assert verdicts == ["met", "NOT met", "met", "met", "NOT met", "met"]
    assert "0.474" in lines[1] and "<= 0.5" in lines[1]
    assert "6.000" in lines[4] and ">= 5.0" in lines[4]


def test_an_aim_without_its_measurement_says_so():
    figures = {"floor": _row(20.0, 19.0), "jobs1": _row(9.0, 9.0)}
    lines = bench_speed.target_lines(figures)
    assert lines[1].endswith("met")
    assert sum("not measured" in line for line in lines) == len(bench_speed.TARGETS) - 1
    assert "not measured (pylint)" in lines[4]

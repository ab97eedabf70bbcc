"""Memory growth of a repeated piece of work: does it keep what it allocates?

One call of a test may fill caches, intern strings, import modules: memory that stays, but
only once. So growth is judged per call over *repeated* calls after a first one:

1. The first call runs with ``tracemalloc`` tracing; its peak is checked against
   ``limit_mb``. If the traced memory grew by no more than ``leak_kb``, that is the end
   (a clean test costs one tracing run and no repeats).
2. Otherwise the work runs ``repeats`` more times between two ``tracemalloc`` snapshots;
   growth of more than ``leak_kb`` per call is reported with the five allocation sites
   that grew most. The process's RSS over the same calls is reported beside it, as a
   cross-check (it also sees memory that C code allocates outside tracemalloc's view).
"""

from __future__ import annotations

import gc
import os
import sys
import tracemalloc
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from memlint._leaks.model import printable

DEFAULT_LEAK_KB = 100.0
DEFAULT_REPEATS = 3
TOP_SITES = 5
_KIB = 1024.0

_HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "")


class MemoryGrowthError(AssertionError):
    """Raised when a measured call grew memory past its limits (a test failure)."""


@dataclass
class MemoryVerdict:
    """What one measurement found; ``problems`` is empty when the limits held."""

    peak_kb: float = 0.0
    first_call_kb: float = 0.0
    repeats: int = 0
    growth_kb_per_call: Optional[float] = None
    rss_kb_per_call: Optional[float] = None
    top: List[Dict[str, Any]] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)
    note: str = ""

    def message(self, what: str) -> str:
        lines = [f"{what}: {problem}" for problem in self.problems]
        if self.rss_kb_per_call is not None:
            lines.append(f"  RSS over the same calls: {self.rss_kb_per_call:+.1f} KiB per call (cross-check)")
        if self.top:
            lines.append(f"  allocation sites that grew most over {self.repeats} repeated calls:")
            lines.extend(
                f"    {site['file']}:{site['line']}: {site['size_kb']:+.1f} KiB in {site['count']:+d} blocks"
                for site in self.top
            )
        return "\n".join(lines)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "peak_kb": round(self.peak_kb, 1),
            "first_call_kb": round(self.first_call_kb, 1),
            "repeats": self.repeats,
            "growth_kb_per_call": None if self.growth_kb_per_call is None else round(self.growth_kb_per_call, 1),
            "rss_kb_per_call": None if self.rss_kb_per_call is None else round(self.rss_kb_per_call, 1),
            "top": self.top,
            "problems": list(self.problems),
            "note": self.note,
        }


def measure(
    call: Callable[[], Any],
    leak_kb: Optional[float] = DEFAULT_LEAK_KB,
    limit_mb: Optional[float] = None,
    repeats: int = DEFAULT_REPEATS,
) -> "tuple[Any, MemoryVerdict]":
    """Run ``call`` once (its result is returned), then again ``repeats`` times only if
    the first call grew memory past ``leak_kb``. Exceptions of the first call propagate."""
    verdict = MemoryVerdict()
    started_here = not tracemalloc.is_tracing()
    if started_here:
        tracemalloc.start(1)
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = call()
        after, peak = tracemalloc.get_traced_memory()
        verdict.peak_kb = (peak - before) / _KIB
        verdict.first_call_kb = (after - before) / _KIB
        if limit_mb is not None and verdict.peak_kb > limit_mb * _KIB:
            verdict.problems.append(
                f"used {verdict.peak_kb / _KIB:.1f} MiB at its peak, more than the limit of {limit_mb:g} MiB"
            )
        if leak_kb is not None and repeats > 0 and verdict.first_call_kb > leak_kb:
            _measure_growth(call, leak_kb, repeats, verdict)
    finally:
        if started_here:
            tracemalloc.stop()
    return result, verdict


def _measure_growth(call: Callable[[], Any], leak_kb: float, repeats: int, verdict: MemoryVerdict) -> None:
    gc.collect()
    first = tracemalloc.take_snapshot()
    traced_before = tracemalloc.get_traced_memory()[0]
    rss_before = resident_kb()
    try:
        for _ in range(repeats):
            call()
    except Exception as error:  # noqa: BLE001 - a test that cannot run twice is not judged
        verdict.note = f"not measured: the repeated call raised {type(error).__name__}: {error}"
        return
    gc.collect()
    traced_after = tracemalloc.get_traced_memory()[0]
    rss_after = resident_kb()
    verdict.repeats = repeats
    verdict.growth_kb_per_call = (traced_after - traced_before) / _KIB / repeats
    if rss_before is not None and rss_after is not None:
        verdict.rss_kb_per_call = (rss_after - rss_before) / repeats
    if verdict.growth_kb_per_call <= leak_kb:
        return  # the first call's growth was a one-time cache
    verdict.problems.append(
        f"memory grew by {verdict.growth_kb_per_call:.1f} KiB per call over {repeats} repeated calls "
        f"(limit {leak_kb:g} KiB per call)"
    )
    last = tracemalloc.take_snapshot()
    own = (tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, _HERE + "*"))
    differences = last.filter_traces(own).compare_to(first.filter_traces(own), "lineno")
    for difference in differences:
        if len(verdict.top) == TOP_SITES:
            break
        if difference.size_diff <= 0:
            continue
        frame = difference.traceback[0]
        verdict.top.append({
            "file": printable(frame.filename),  # plain text: it crosses xdist's channel
            "line": frame.lineno,
            "size_kb": round(difference.size_diff / _KIB, 1),
            "count": difference.count_diff,
        })


def resident_kb() -> Optional[float]:
    """The process's resident set size in KiB (``None`` when it cannot be read)."""
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/self/statm", "rb") as handle:
                return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / _KIB
        except (OSError, ValueError, IndexError):
            return None
    try:
        import psutil

        return psutil.Process().memory_info().rss / _KIB
    except Exception:  # noqa: BLE001 - the cross-check is optional
        return None

"""Run a batch function over work items in worker processes, returning results in order.

The parent sends small items (paths, not file contents) and receives small results, so
memory stays bounded by what the workers hold at once. At most ``2 * workers`` batches
are in flight; results that finish early wait in the parent (they are small) until the
ones before them arrive, so the output order never depends on timing. On Linux the pool
forks, which costs milliseconds and lets each worker start from the parent's imports.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, Sequence, Set, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    from concurrent.futures import Future

T = TypeVar("T")
R = TypeVar("R")


def default_jobs() -> int:
    """The number of CPUs this process may run on (at least 1)."""
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        try:
            return max(1, len(affinity(0)))
        except OSError:  # pragma: no cover - platform without affinity support at run time
            pass
    return max(1, os.cpu_count() or 1)


def make_batches(
    items: Sequence[T],
    sizes: Sequence[int],
    max_bytes: int = 256 * 1024,
    max_items: int = 16,
    workers: int = 1,
) -> List[List[T]]:
    """Group ``items`` into batches, biggest first, so that large files start early and
    small ones fill the gaps (the slowest file should not be the last one started).

    With several ``workers`` there are at least two batches per worker when there are
    enough items: ten files in one batch would keep one worker busy and the other idle.
    """
    if workers > 1:
        max_items = max(1, min(max_items, len(items) // (2 * workers)))
    order = sorted(range(len(items)), key=lambda index: -sizes[index])
    batches: List[List[T]] = []
    current: List[T] = []
    weight = 0
    for index in order:
        current.append(items[index])
        weight += sizes[index]
        if weight >= max_bytes or len(current) >= max_items:
            batches.append(current)
            current, weight = [], 0
    if current:
        batches.append(current)
    return batches


def _context() -> Optional[Any]:
    # fork is fast and safe here (the parent runs no threads while the pool exists);
    # macOS and Windows keep their default start method.
    if sys.platform.startswith("linux"):
        import multiprocessing

        return multiprocessing.get_context("fork")
    return None


def _worker_start(warm_up: Optional[Callable[[], None]] = None) -> None:
    """Run first in every worker process; then ``warm_up`` (see ``WorkerPool``).

    A worker leaves Ctrl-C to the parent, which ends it with SIGKILL: a worker that unwound
    itself could finalize the interpreter while its deep-stack thread is inside libcst's
    native parser, which aborts (a core dump). On Linux it is also killed when the parent
    dies, so that no worker outlives a parent killed by SIGKILL or SIGTERM.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no usable libc
            pass
    # The warm-up only imports (libcst alone adds some 18,000 objects the collector
    # tracks, none of them garbage), and what the worker holds then, inherited or imported,
    # lives as long as it: collecting is off meanwhile, and ``gc.freeze`` takes it all out
    # of later collections (they took some 30 ms of a pre-commit run's worker, now 10).
    collecting = gc.isenabled()
    gc.disable()
    try:
        if warm_up is not None:
            warm_up()
    except Exception:  # noqa: BLE001 - the work itself meets and reports the same failure
        pass
    finally:
        gc.freeze()
        gc.set_threshold(*_GC_THRESHOLDS)
        if collecting:
            gc.enable()


# A worker allocates syntax trees of hundreds of thousands of small objects per file, and
# frees them by reference counting (the analysis makes no reference cycles:
# tests/test_no_reference_cycles.py). The default thresholds run a collection every 700
# allocations and a full one every 70,000, each scanning the live trees: about a tenth of
# a cold run's CPU.
_GC_THRESHOLDS = (20_000, 20, 20)


def _nothing() -> None:
    """A task that does nothing: submitting it makes the pool start its workers now."""


class WorkerPool:
    """Worker processes started before the work is known, so that their start (forking, and
    ``warm_up``: importing libcst and loading the rules, about a fifth of a second) overlaps
    what this process still does (the project index, the cache lookups).

    Give it to ``ordered_map``; ``close`` it when no more work will come (``ordered_map``
    leaves that to the caller). This process must start no other pool while it runs: a fork
    with the pool's thread running could copy a lock that thread holds.
    """

    def __init__(self, workers: int, warm_up: Optional[Callable[[], None]] = None) -> None:
        from concurrent.futures import ProcessPoolExecutor

        self.workers = max(1, workers)
        self.executor = ProcessPoolExecutor(max_workers=self.workers, mp_context=_context(),
                                            initializer=_worker_start, initargs=(warm_up,))
        # Under fork every worker is started at the first submission (3.9 to 3.13).
        self.executor.submit(_nothing)

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, error_type: Any, error: Any, traceback: Any) -> None:
        # After an error the workers may be busy with work nobody will read: kill them.
        self.close(unused=error_type is not None)

    def close(self, unused: bool = False, wait: bool = True) -> None:
        """Stop the workers once they are idle. An ``unused`` pool (the cache answered every
        file after all, or the run failed) may still be busy: its workers are killed rather
        than waited for. ``wait=False`` leaves the pool's thread to end by itself."""
        if unused:
            _kill_workers(self.executor)
        self.executor.shutdown(wait=wait, cancel_futures=True)


def _kill_workers(pool: Any) -> None:
    """SIGKILL every worker of ``pool`` at once, without waiting for running batches.

    ``ProcessPoolExecutor`` has no public way to stop work already started (``shutdown``
    waits for it, which made Ctrl-C take many seconds); ``_processes`` is its own table of
    worker processes, read defensively.
    """
    processes = dict(getattr(pool, "_processes", None) or {})
    for process in processes.values():
        try:
            process.kill()
        except (OSError, ValueError, AttributeError):
            pass  # already gone
    for process in processes.values():
        try:
            process.join(1)
        except (OSError, ValueError, AttributeError, AssertionError):
            pass


def ordered_map(
    function: Callable[[List[T]], List[R]],
    batches: Sequence[List[T]],
    workers: int,
    isolate: bool = False,
    pool: Optional[WorkerPool] = None,
) -> Iterator[R]:
    """``function(batch)`` for every batch, flattened, in batch order.

    With ``pool`` the batches go to its workers (already started; ``workers`` is then its
    size), and the pool is left running for the caller to close; on an exception it is
    killed as a pool of its own would be.

    With ``workers <= 1`` (or a single batch) everything runs in this process, unless
    ``isolate`` asks for the work to run in worker processes anyway: the command line does,
    so that its main thread is never stuck behind a native parse and Ctrl-C ends the run at
    once. A worker that raises re-raises here. On any exception, Ctrl-C included, the
    workers are killed rather than waited for.
    """
    if not batches:
        return
    if pool is None and (workers <= 1 or len(batches) <= 1) and not isolate:
        for batch in batches:
            yield from function(batch)
        return
    # Imported here: a run that needs no workers (a warm cache, a few files) skips the cost.
    from concurrent.futures import FIRST_COMPLETED, wait

    owned = pool is None
    if pool is None:
        workers = max(1, min(workers, len(batches)))
        pool = WorkerPool(workers)
    else:
        workers = pool.workers
    executor = pool.executor
    try:
        in_flight: Dict["Future[List[R]]", int] = {}
        finished: Dict[int, List[R]] = {}
        next_to_submit = 0
        next_to_yield = 0
        while next_to_yield < len(batches):
            while next_to_submit < len(batches) and len(in_flight) < 2 * workers:
                in_flight[executor.submit(function, batches[next_to_submit])] = next_to_submit
                next_to_submit += 1
            done: Set["Future[List[R]]"] = wait(in_flight, return_when=FIRST_COMPLETED).done
            for future in done:
                finished[in_flight.pop(future)] = future.result()
            while next_to_yield in finished:
                results = finished.pop(next_to_yield)
                next_to_yield += 1
                if next_to_yield == len(batches) and owned:
                    # Before the last results: a consumer such as zip() stops at them and
                    # never resumes this generator.
                    pool.close()
                yield from results
    except BaseException as error:
        # After Ctrl-C the process ends at once (os._exit): nothing to wait for. Otherwise
        # the pool's own thread is joined (it ends as soon as it sees the workers gone), or
        # it could still be closing its pipes when the interpreter exits.
        pool.close(unused=True, wait=not isinstance(error, KeyboardInterrupt))
        raise
    if owned:
        pool.close()  # done already before the last results; a second call is free

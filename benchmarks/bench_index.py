"""Benchmark: LongTermMemoryIndex in memory, 100,000 vectors of 128 dimensions.

Prints the bytes of the vector matrix, the process's peak RSS, the time to add every
vector, and the time of a search right after an add (the old index threw its search
matrix away on every add and rebuilt it from tuples of Python floats: 464 ms measured
independently; it held 556 MB for these vectors). Runs with numpy when installed, and
with ``--no-numpy`` on the stdlib ``array`` path (slow to search: use fewer vectors).

    python benchmarks/bench_index.py [--vectors N] [--dimension D] [--no-numpy]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--dimension", type=int, default=128)
    parser.add_argument("--searches", type=int, default=20)
    parser.add_argument("--no-numpy", action="store_true")
    args = parser.parse_args()
    from memlint.runtime import LongTermMemoryIndex

    rng = random.Random(16)
    index = LongTermMemoryIndex(use_numpy=False if args.no_numpy else None)
    start_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    added = 0.0
    for number in range(args.vectors):
        vector = [rng.gauss(0, 1) for _ in range(args.dimension)]  # made outside the timing
        started = time.perf_counter()
        index.add({"id": number, "tags": [f"t{number % 10}"]}, vector)
        added += time.perf_counter() - started
    query = [rng.gauss(0, 1) for _ in range(args.dimension)]
    index.search_semantic(query, top_k=10)
    timings = []
    for number in range(args.searches):
        index.add({"id": f"late{number}"}, [rng.gauss(0, 1) for _ in range(args.dimension)])
        begun = time.perf_counter()
        index.search_semantic(query, top_k=10)
        timings.append(time.perf_counter() - begun)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    scale = 1 if sys.platform == "darwin" else 1024
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{args.vectors:,} vectors x {args.dimension}, {index.backend}, "
          f"{'stdlib array' if args.no_numpy else 'numpy if installed'}; load average {load:.2f}")
    print(f"vector matrix: {index.vector_bytes / 2**20:.1f} MB (float32, capacity included)")
    print(f"peak RSS: {peak * scale / 2**20:.1f} MB (growth {(peak - start_rss) * scale / 2**20:.1f} MB, entries included)")
    print(f"add: {added / args.vectors * 1e6:.1f} us per vector")
    timings.sort()
    print(f"search (top_k=10) right after an add: median {timings[len(timings) // 2] * 1e3:.1f} ms, "
          f"max {timings[-1] * 1e3:.1f} ms")


if __name__ == "__main__":
    main()

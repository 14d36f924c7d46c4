"""What the benchmarks share: the median wall time of repeated calls (single timings on these shared machines vary
by ±25%, so one call is never the figure)."""

import statistics
import time


def median_time(fn, repeats: int = 5) -> float:
    """Median wall time in seconds of ``repeats`` calls of ``fn()``."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)

"""What the micro-benchmarks share: run a measurement three times and keep the best, or
once under cProfile with its top functions printed (`--profile`)."""

from __future__ import annotations

import cProfile
import pstats
from collections.abc import Callable


def best_or_profile(measure: Callable[[], float], *, profile: bool, rows: int = 15) -> float | None:
    """The best of three `measure()` results; with `profile`, one profiled call and None."""
    if not profile:
        return min(measure() for _ in range(3))
    profiler = cProfile.Profile()
    profiler.enable()
    measure()
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(rows)
    return None

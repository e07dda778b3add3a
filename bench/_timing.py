"""Shared timing helpers for the benchmarks: medians of repeats, and the mmh3 floor loop."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence

import mmh3


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``repeats`` runs, with the collector off while timing."""
    samples = []
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            run()
            samples.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return statistics.median(samples)


def floor_loop(flag: str, users: Sequence[str]) -> Callable[[], int]:
    """The cheapest sticky 25% check there is: one f-string, one hash, one modulo."""

    def run() -> int:
        hash32 = mmh3.hash
        hits = 0
        for user in users:
            if hash32(f"{flag}:{user}") % 10000 < 2500:
                hits += 1
        return hits

    return run

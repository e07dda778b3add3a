"""Exact counter differences between scrapes, from a range selector's raw samples.

Prometheus' ``increase()`` extrapolates from the first and last samples in its range to the
range's edges, so its counts are floats above the number of requests actually counted
whenever an edge falls between scrapes (x1.05 in the median, up to x2.67 at a step's early
looks): the judge would see more requests, and more evidence, than there was. Here a count
is a sum of differences between **consecutive scrapes inside the window**: exactly the
requests served between the window's first and last scrape, never more. Requests before the
first scrape in the window (or before a series' first scrape) and after its last one are
not counted: they are counted at the next look, or by the next step.

A value lower than the one before is a counter reset (the process restarted): the count
since the restart is the value itself (requests between the last scrape and the restart are
lost, so a reset can only undercount).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import datetime
from typing import TypeVar

from ._http import Series
from ._promql import milliseconds

__all__ = ["increments", "windowed_totals"]

K = TypeVar("K", bound=Hashable)


def increments(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """``(scrape time, counted since the previous scrape)`` for each sample after the first."""
    result: list[tuple[float, float]] = []
    for (_, before), (at, value) in itertools.pairwise(points):
        result.append((at, value - before if value >= before else value))
    return result


def windowed_totals(
    series: Iterable[Series],
    key: Callable[[Series], K | None],
    bounds: Sequence[tuple[datetime, datetime]],
) -> dict[K, list[float]]:
    """Per key, the counts in each window of ``bounds`` (oldest first, consecutive).

    A difference between two scrapes belongs to the window holding the later scrape (its
    start inclusive, its end exclusive, the last window's end inclusive: the look's own
    instant), so a window's count only grows while it is open and never moves to another
    window between looks. Series whose ``key`` is None are skipped; several series with the
    same key (replicas, instances) add up.
    """
    starts = [milliseconds(start) for start, _ in bounds]  # integers: exact at the edges
    totals: dict[K, list[float]] = {}
    for one in series:
        name = key(one)
        if name is None:
            continue
        row = totals.setdefault(name, [0.0] * len(bounds))
        for at, count in increments(one.points):
            index = bisect.bisect_right(starts, round(at * 1000)) - 1
            if 0 <= index < len(bounds) and count > 0:
                row[index] += count
    return totals

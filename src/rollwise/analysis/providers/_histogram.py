"""A Prometheus histogram's bucket counts turned into a latency sketch the judge can read.

A histogram knows only how many values fell in each bucket ``(previous le, le]``, so the
sketch is as precise as the buckets: each bucket's count is placed at its **upper bound**
``le`` (which is what ``le`` promises: "at most"). A quantile read from it is the upper
bound of the histogram bucket the true quantile falls in (within the sketch's 1%): never
below the true value, at most one bucket width above it. Values above the last finite
bound (the ``+Inf`` bucket) are placed one sketch bucket above that bound, so they count
as "above" any threshold up to it; no threshold beyond it can be judged.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from ...stats.sketch import DEFAULT_ACCURACY, LatencySketch

__all__ = ["round_count", "sketch_from_buckets"]

_GAMMA = (1.0 + DEFAULT_ACCURACY) / (1.0 - DEFAULT_ACCURACY)


def round_count(value: float) -> int:
    """A count from ``increase()``: to the nearest integer (halves up), never negative."""
    return max(0, math.floor(value + 0.5))


def _bucket(value: float, count: int) -> LatencySketch:
    """A sketch holding ``count`` values equal to ``value`` (built without a loop)."""
    probe = LatencySketch()
    probe.add(value)
    data = probe.to_dict()
    if data["zero_count"]:
        data["zero_count"] = count
    else:
        data["bins"] = [count]
    data["count"] = count
    data["sum"] = data["min"] * count
    return LatencySketch.from_dict(data)


def sketch_from_buckets(buckets: Iterable[tuple[float, float]]) -> LatencySketch | None:
    """A sketch from ``(le, cumulative count)`` pairs (``+Inf`` included, any order).

    Counts are rounded (:func:`round_count`) and made non-decreasing in ``le``, as a
    cumulative histogram must be. None when there is no finite bound or no value.
    """
    ordered = sorted(buckets)
    finite = [le for le, _ in ordered if math.isfinite(le)]
    if not finite or finite[-1] <= 0:
        return None
    result = LatencySketch()
    seen = 0
    for le, raw in ordered:
        cumulative = max(seen, round_count(raw))
        count, seen = cumulative - seen, cumulative
        if count:
            where = le if math.isfinite(le) else finite[-1] * _GAMMA
            result.merge(_bucket(max(where, 0.0), count))
    return result if result.count else None

"""A Prometheus histogram's bucket counts turned into a latency sketch the judge can read.

A histogram knows only how many values fell in each bucket ``(previous le, le]``. The judge
reads a latency sketch in two opposite directions (:mod:`rollwise.stats.quantiles`):

- the **baseline's quantile upper bound** counts the values *at most* ``u``: a bucket counts
  only when its upper edge ``le`` is at most ``u``;
- the **canary's share above a threshold** ``t`` counts the values *above* ``t``: a bucket
  counts only when its lower edge (the previous ``le``) is at least ``t``.

Both read the sketch's :meth:`~LatencySketch.bucket_bounds`, so :class:`HistogramSketch`
answers it with the histogram's own buckets instead of the sketch's 1% log buckets: each
count is attributed to its whole interval, and each use takes the conservative edge for its
direction. A threshold that falls inside a bucket leaves that bucket's values out of "above
t" (they may all lie below it): such a verdict holds until the evidence lies in whole
buckets, it never fails on values that may be fast. (Placing each count at ``le``, as this
module once did, made "above t" count values below ``t`` whenever ``t`` fell inside a
bucket: a healthy canary at 1.2x against a 1.5x p95 gate was rolled back every time.)

Point estimates (``quantile()``, for "pass" and the evidence) place each bucket's count at
its upper bound ``le``, what ``le`` promises ("at most"): a quantile reads as the upper bound
of the bucket the true quantile lies in, never below it. Values above the last finite bound
(the ``+Inf`` bucket) lie in ``(last le, +inf)``: above any threshold up to the last bound,
never "at most" anything, and placed one sketch bucket above the last bound for estimates.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from ....stats.sketch import DEFAULT_ACCURACY, LatencySketch

__all__ = ["HistogramSketch", "round_count", "sketch_from_buckets"]

_GAMMA = (1.0 + DEFAULT_ACCURACY) / (1.0 - DEFAULT_ACCURACY)
_EXACT_EDGE = 1.0 + 2e-9
"""A histogram's bounds are exact, but the judge's "above t" keeps a 1e-9 margin for the
float edges of log buckets; lower edges are reported this much higher so that a threshold
on a bucket bound (``max: 0.25`` with an ``le="0.25"`` bucket) counts the bucket above it.
Values are strictly above their lower edge, so this misplaces nothing beyond 2e-9 of it."""


def round_count(value: float) -> int:
    """A count from a counter difference: to the nearest integer (halves up), never negative."""
    return max(0, math.floor(value + 0.5))


def _point(value: float, count: int) -> LatencySketch:
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


class HistogramSketch(LatencySketch):
    """A latency sketch that knows each count only up to an interval ``(lower, upper]``.

    :meth:`bucket_bounds` gives those intervals (sorted by upper edge, then lower edge), so
    the judge's counts are conservative in both directions (module docs); the rest of the
    sketch (quantiles, count, sum, min, max) places each count at its upper edge. Merging
    keeps the intervals: another histogram's as they are, a plain sketch's as its own
    buckets. Intervals may overlap after merging histograms with different bounds; every
    count still lies in its interval, which is all the judge relies on.
    """

    __slots__ = ("_intervals",)

    def __init__(self) -> None:
        super().__init__()
        self._intervals: dict[tuple[float, float], int] = {}

    def add_interval(self, lower: float, upper: float, count: int) -> None:
        """``count`` values somewhere in ``(lower, upper]`` (``upper`` may be ``+inf``)."""
        if count <= 0:
            return
        lower = max(lower, 0.0)
        where = upper if math.isfinite(upper) else max(lower, 0.0) * _GAMMA
        LatencySketch.merge(self, _point(max(where, 0.0), count))
        key = (lower, max(upper, lower))
        self._intervals[key] = self._intervals.get(key, 0) + count

    def add(self, value: float) -> None:
        before = self.count
        super().add(value)
        if self.count > before:  # NaN is ignored; everything else counts
            exact = min(max(float(value), 0.0), 1e18)
            key = (exact, exact)
            self._intervals[key] = self._intervals.get(key, 0) + 1

    def bucket_bounds(self) -> list[tuple[float, float, int]]:
        """``(lower, upper, count)`` of every interval: values lie in ``(lower, upper]``."""
        return [(lower * _EXACT_EDGE, upper, count) for lower, upper, count in self.intervals()]

    def intervals(self) -> list[tuple[float, float, int]]:
        """``(lower, upper, count)`` exactly as recorded, sorted by upper edge."""
        return [
            (lower, upper, count)
            for (lower, upper), count in sorted(
                self._intervals.items(), key=lambda item: (item[0][1], item[0][0])
            )
            if count
        ]

    def merge(self, other: LatencySketch) -> None:
        intervals = (
            list(other._intervals.items())
            if isinstance(other, HistogramSketch)
            else [((low, high), count) for low, high, count in other.bucket_bounds()]
        )
        super().merge(other)
        for key, count in intervals:
            self._intervals[key] = self._intervals.get(key, 0) + count

    def copy(self) -> HistogramSketch:
        """An independent :class:`HistogramSketch` with the same intervals."""
        clone = HistogramSketch()
        LatencySketch.merge(clone, self)
        clone._intervals = dict(self._intervals)
        return clone

    def __repr__(self) -> str:
        return f"HistogramSketch(count={self.count}, intervals={len(self._intervals)})"


def sketch_from_buckets(buckets: Iterable[tuple[float, float]]) -> HistogramSketch | None:
    """A sketch from ``(le, cumulative count)`` pairs (``+Inf`` included, any order).

    Counts are rounded (:func:`round_count`) and made non-decreasing in ``le``, as a
    cumulative histogram must be. Each bucket's values lie between the previous bound (0
    for the first) and its own. None when there is no finite bound or no value.
    """
    ordered = sorted(buckets)
    finite = [le for le, _ in ordered if math.isfinite(le)]
    if not finite or finite[-1] <= 0:
        return None
    result = HistogramSketch()
    seen = 0
    previous = 0.0
    for le, raw in ordered:
        cumulative = max(seen, round_count(raw))
        count, seen = cumulative - seen, cumulative
        result.add_interval(previous, le, count)
        if math.isfinite(le):
            previous = max(previous, le)
    return result if result.count else None

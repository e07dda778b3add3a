"""Anytime-valid tests on latency quantiles, from the counts of merged sketches.

A quantile is a statement about a proportion: "the canary's q-quantile is above ``t``" is
"more than ``1 - q`` of the canary's requests take longer than ``t``". So each test here is
the one-proportion test of :mod:`rollwise.stats.sequential` applied to sketch counts, and
inherits its validity under continuous monitoring. Counts are taken conservatively at the
sketch's bucket resolution: a request counts as *above* ``t`` only when its whole bucket is
above ``t``, and as *at most* ``u`` only when its whole bucket is at or below ``u``.

Relative bound (``Q_c(q) <= (1 + r) Q_b(q) + d``): the baseline's quantile is itself uncertain,
so the test uses its anytime-valid *upper* confidence bound ``U_b`` (the smallest bucket
bound ``u`` at which "more than q of the baseline is at most u" is significant at alpha/2) and
fails when the canary's share above ``t = (1 + r) U_b + d`` significantly exceeds ``1 - q`` at
alpha/2. With probability at least ``1 - alpha/2`` the baseline bound is never below the true
quantile, so ``t`` is never below the true threshold and the canary's share above ``t`` is
never above its share over the true threshold: the union of the two errors is at most alpha.
Until the baseline has enough requests for ``U_b`` to exist, the relative test cannot fail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .sequential import SequentialTest, exceeds
from .sketch import MIN_VALUE, LatencySketch

__all__ = [
    "QuantileTest",
    "count_above",
    "quantile_bound_test",
    "quantile_comparison_test",
    "quantile_min_samples",
    "quantile_upper_bound",
]


_EDGE_MARGIN = 1e-9


def quantile_min_samples(q: float) -> int:
    """Requests a variant needs before its q-quantile is judged: 10 expected above it."""
    if not 0.0 < q < 1.0:
        raise ValueError(f"quantile must be in (0, 1), got {q!r}")
    return math.ceil(10.0 / (1.0 - q) - 1e-9)


def count_above(sketch: LatencySketch, threshold: float) -> int:
    """Values whose whole bucket lies above ``threshold`` (a lower bound of the true count).

    The lowest log bucket may hold values folded in from below its range, so it counts only
    when the sketch's exact minimum is above ``threshold`` too. A relative margin of 1e-9
    keeps floating-point rounding of bucket edges on the conservative side.
    """
    floor = threshold * (1.0 + _EDGE_MARGIN)
    total = 0
    first = True
    for lower, upper, count in sketch.bucket_bounds():
        if upper <= MIN_VALUE:  # the zero bucket is never above a positive threshold
            if threshold < 0.0:
                total += count
            continue
        if lower >= floor and (not first or sketch.min > threshold):
            total += count
        first = False
    return total


def quantile_upper_bound(sketch: LatencySketch, q: float, alpha: float) -> float | None:
    """Anytime-valid (1 - alpha) upper confidence bound of the q-quantile, or None.

    The smallest bucket upper bound ``u`` such that "at most q of the values are <= u" is
    rejected; None while no bucket qualifies (too few values for this q and alpha).
    """
    n = sketch.count
    cumulative: list[tuple[float, int]] = []
    seen = 0
    for _lower, upper, count in sketch.bucket_bounds():
        seen += count
        cumulative.append((upper, seen))
    low, high = 0, len(cumulative)
    while low < high:  # rejection is monotone in the count, so bisect over buckets
        middle = (low + high) // 2
        if exceeds(cumulative[middle][1], n, q, alpha).rejected:
            high = middle
        else:
            low = middle + 1
    return cumulative[low][0] * (1.0 + _EDGE_MARGIN) if low < len(cumulative) else None


@dataclass(frozen=True, slots=True)
class QuantileTest:
    """Is the canary's q-quantile above ``threshold``? ``harmful`` is the valid verdict."""

    q: float
    threshold: float | None
    """The latency the canary's quantile is tested against (None: not testable yet)."""
    above: int
    """Canary requests surely slower than the threshold."""
    samples: int
    test: SequentialTest | None

    @property
    def harmful(self) -> bool:
        return self.test is not None and self.test.rejected

    @property
    def share_above(self) -> float | None:
        return self.above / self.samples if self.samples else None


def quantile_bound_test(
    canary: LatencySketch, q: float, threshold: float, alpha: float
) -> QuantileTest:
    """Test "``Q_c(q) <= threshold``": fails when more than ``1 - q`` are surely above it."""
    above = count_above(canary, threshold)
    test = exceeds(above, canary.count, 1.0 - q, alpha)
    return QuantileTest(q, threshold, above, canary.count, test)


def quantile_comparison_test(
    canary: LatencySketch,
    baseline: LatencySketch,
    q: float,
    *,
    max_increase: float = 0.0,
    max_difference: float = 0.0,
    alpha: float,
) -> tuple[QuantileTest, float | None]:
    """Test "``Q_c(q) <= (1 + max_increase) Q_b(q) + max_difference``".

    Returns the test and the baseline quantile's upper bound ``U_b`` (None while the
    baseline has too few values to bound it: the test then cannot fail).
    """
    baseline_upper = quantile_upper_bound(baseline, q, alpha / 2)
    if baseline_upper is None:
        return QuantileTest(q, None, 0, canary.count, None), None
    threshold = (1.0 + max_increase) * baseline_upper + max_difference
    return quantile_bound_test(canary, q, threshold, alpha / 2), baseline_upper

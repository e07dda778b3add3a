"""Anytime-valid tests on latency quantiles, from the counts of merged sketches.

A quantile is a statement about a proportion: "the canary's q-quantile is above ``t``" is
"more than ``1 - q`` of the canary's requests take longer than ``t``". So each test here is
the one-sided one-proportion test of :mod:`rollwise.stats.onesided` applied to sketch counts,
and inherits its validity under continuous monitoring. Counts are taken conservatively at the
sketch's bucket resolution: a request counts as *above* ``t`` only when its whole bucket is
above ``t``, and as *at most* ``u`` only when its whole bucket is at or below ``u``.

Relative bound (``Q_c(q) <= (1 + r) Q_b(q) + d``): the baseline's quantile is itself uncertain,
so the test uses its anytime-valid *upper* confidence bound ``U_b`` (the smallest bucket
bound ``u`` at which "more than q of the baseline is at most u" is significant at
``BASELINE_ALPHA_SHARE * alpha``) and fails when the canary's share above
``t = (1 + r) U_b + d`` significantly exceeds ``1 - q`` at the rest of alpha. With
probability at least ``1 - 0.3 alpha`` the baseline bound is never below the true quantile,
so ``t`` is never below the true threshold and the canary's share above ``t`` is never above
its share over the true threshold: the union of the two errors is at most alpha.
Until the baseline has enough requests for ``U_b`` to exist, the relative test cannot fail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .onesided import QUANTILE_SCALE, TiltMixture, default_mixture, rate_above
from .sequential import SequentialTest
from .sketch import MIN_VALUE, LatencySketch

__all__ = [
    "QuantileTest",
    "count_above",
    "quantile_bound_test",
    "quantile_comparison_test",
    "quantile_lower_bound",
    "quantile_min_samples",
    "quantile_upper_bound",
    "quantile_within",
]

BASELINE_ALPHA_SHARE = 0.3
"""Share of a relative latency check's alpha spent on the baseline's quantile bound.

The baseline has many more requests than the canary (9x at a 10% step), so its bound
stays tight with a smaller share, and the canary's test, where the evidence is slow to
build, gets the rest."""


_EDGE_MARGIN = 1e-9


def _mixture() -> TiltMixture:
    return default_mixture(QUANTILE_SCALE)


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
        if rate_above([(cumulative[middle][1], n, q)], alpha, _mixture()).rejected:
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
    test = rate_above([(above, canary.count, 1.0 - q)], alpha, _mixture())
    return QuantileTest(q, threshold, above, canary.count, test)


def quantile_comparison_test(
    canary: LatencySketch,
    baseline: LatencySketch,
    q: float,
    *,
    max_increase: float = 0.0,
    max_difference: float = 0.0,
    alpha: float,
    baseline_share: float = BASELINE_ALPHA_SHARE,
) -> tuple[QuantileTest, float | None]:
    """Test "``Q_c(q) <= (1 + max_increase) Q_b(q) + max_difference``".

    Returns the test and the baseline quantile's upper bound ``U_b`` (None while the
    baseline has too few values to bound it: the test then cannot fail).
    """
    if not 0.0 < baseline_share < 1.0:
        raise ValueError(f"baseline_share must be in (0, 1), got {baseline_share!r}")
    baseline_upper = quantile_upper_bound(baseline, q, alpha * baseline_share)
    if baseline_upper is None:
        return QuantileTest(q, None, 0, canary.count, None), None
    threshold = (1.0 + max_increase) * baseline_upper + max_difference
    test = quantile_bound_test(canary, q, threshold, alpha * (1.0 - baseline_share))
    return test, baseline_upper


def quantile_lower_bound(sketch: LatencySketch, q: float, alpha: float) -> float | None:
    """Anytime-valid (1 - alpha) lower confidence bound of the q-quantile, or None.

    The largest bucket lower bound ``l`` such that "at most ``1 - q`` of the values are at
    least ``l``" is rejected, counting a value only when its whole bucket is at least ``l``
    (the lowest bucket's values from the sketch's exact minimum); None while none qualifies.
    """
    n = sketch.count
    buckets = list(sketch.bucket_bounds())
    edges: list[tuple[float, int]] = []  # (a lower edge, values surely at least it)
    seen = 0
    for index in range(len(buckets) - 1, -1, -1):
        lower, upper, count = buckets[index]
        seen += count
        if upper <= MIN_VALUE:
            edge = 0.0
        elif index == 0 or buckets[index - 1][1] <= MIN_VALUE:
            edge = min(lower, sketch.min)
        else:
            edge = lower
        edges.append((edge / (1.0 + _EDGE_MARGIN), seen))
    low, high = 0, len(edges)  # counts grow along ``edges``: bisect for the first rejection
    while low < high:
        middle = (low + high) // 2
        if rate_above([(edges[middle][1], n, 1.0 - q)], alpha, _mixture()).rejected:
            high = middle
        else:
            low = middle + 1
    return edges[low][0] if low < len(edges) else None


def quantile_within(
    canary: LatencySketch,
    q: float,
    limit: float,
    alpha: float,
    baseline: LatencySketch | None = None,
    *,
    max_increase: float = 0.0,
    max_difference: float = 0.0,
    factor: float = 1.0,
) -> tuple[bool, float | None, float | None]:
    """Promotion side: is the canary's q-quantile significantly below the allowed value times
    ``factor``? Absolute (``baseline`` None): the allowed value is ``limit``. Relative: it is
    ``(1 + max_increase) * L_b + max_difference`` at the baseline's lower bound ``L_b``
    (alpha/2 each). Returns (confirmed, the canary's upper bound, the value it must be below).
    """
    if baseline is None:
        upper = quantile_upper_bound(canary, q, alpha)
        allowed: float | None = factor * limit
    else:
        upper = quantile_upper_bound(canary, q, alpha / 2)
        lower = quantile_lower_bound(baseline, q, alpha / 2)
        allowed = (
            None if lower is None else factor * ((1.0 + max_increase) * lower + max_difference)
        )
    confirmed = upper is not None and allowed is not None and upper < allowed
    return confirmed, upper, allowed

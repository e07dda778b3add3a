"""One arm's point estimate and its variance: what every comparison is built from.

Arms are independent samples, so each comparison (absolute or relative lift, Welch or
sequential, frequentist or Bayesian) needs per arm only the estimate, the variance of that
estimate and the sample size. This module reduces a :class:`~.samples.Sample` to that:

- mean and proportion: ``ȳ`` with variance ``s² / n``;
- ratio: ``ȳ / d̄`` with the delta-method variance
  ``(s²y / d̄² - 2 ȳ s_yd / d̄³ + ȳ² s²d / d̄⁴) / n`` (``var(L) / n`` of :mod:`._ratio`);
- with CUPED (any kind, given the comparison's :class:`~.cuped.Cuped`): the adjusted
  estimate and variance of :mod:`.cuped`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._ratio import linearise
from .cuped import Cuped, adjusted_moments
from .samples import RatioSample, Sample

__all__ = ["ArmStatistic", "arm_statistic"]


@dataclass(frozen=True, slots=True)
class ArmStatistic:
    """An arm's estimate, the variance of the estimate, and its units."""

    value: float
    variance: float
    n: int

    @property
    def std_error(self) -> float:
        return math.sqrt(self.variance) if self.variance >= 0 else math.nan


def arm_statistic(sample: Sample, cuped: Cuped | None = None) -> ArmStatistic:
    """The arm's estimate and its variance (CUPED-adjusted when ``cuped`` is given)."""
    n = sample.n
    if n < 2:
        return ArmStatistic(sample.mean, math.nan, n)
    if cuped is not None:
        value, variance = adjusted_moments(sample, cuped)
        return ArmStatistic(value, variance / n, n)
    if isinstance(sample, RatioSample):
        lin = linearise(sample)
        return ArmStatistic(lin.value, lin.variance / n, n)
    return ArmStatistic(sample.mean, sample.variance / n, n)

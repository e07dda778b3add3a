"""One arm's point estimate and its variance: what every comparison is built from.

Arms are independent samples, so each comparison (absolute or relative lift, Welch or
sequential, frequentist or Bayesian) needs per arm only the estimate, the variance of that
estimate and the sample size. This module reduces a :class:`~.samples.Sample` to that:

- mean and proportion: ``ȳ`` with variance ``s² / n``;
- ratio: ``ȳ / d̄`` with the delta-method variance
  ``(s²y / d̄² - 2 ȳ s_yd / d̄³ + ȳ² s²d / d̄⁴) / n``;
- CUPED (mean and proportion with a :class:`~.samples.Covariate`): ``ȳ - θ (x̄ - x̄_pool)``
  with variance ``(s²y - 2θ s_xy + θ² s²x) / n``, where ``θ`` is the within-arm pooled
  regression slope of ``y`` on ``x`` over the two arms compared and ``x̄_pool`` their pooled
  covariate mean. Randomisation makes ``x̄`` equal in expectation across arms, so the
  adjustment removes the part of the noise the pre-period explains without biasing the
  difference: the variance shrinks by ``1 - rho²``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .samples import Covariate, Proportion, RatioSample, Sample, SampleMean

__all__ = ["ArmStatistic", "Cuped", "arm_statistic", "cuped_adjustment"]


@dataclass(frozen=True, slots=True)
class ArmStatistic:
    """An arm's estimate, the variance of the estimate, and its units."""

    value: float
    variance: float
    n: int

    @property
    def std_error(self) -> float:
        return math.sqrt(self.variance) if self.variance >= 0 else math.nan


@dataclass(frozen=True, slots=True)
class Cuped:
    """The adjustment shared by the two arms of a comparison."""

    theta: float
    pooled_mean: float


def _moments(sample: SampleMean | Proportion) -> tuple[float, float, float, float, float]:
    """``ȳ, x̄, s²y, s²x, s_xy`` (unbiased; the proportion's s²y is ``p(1 - p)``)."""
    cov = sample.covariate
    if cov is None:
        raise ValueError("CUPED needs a covariate on both arms")
    n = sample.n
    my, mx = sample.mean, cov.sum / n
    vx = max(0.0, (cov.sum_squares - n * mx * mx) / (n - 1))
    cxy = (cov.cross - n * mx * my) / (n - 1)
    return my, mx, sample.variance, vx, cxy


def cuped_adjustment(control: Sample, treatment: Sample) -> Cuped | None:
    """The pooled slope and covariate mean, or None when CUPED does not apply."""
    if isinstance(control, RatioSample) or isinstance(treatment, RatioSample):
        return None
    if control.covariate is None or treatment.covariate is None:
        return None
    if control.n < 2 or treatment.n < 2:
        return None
    sxx = sxy = 0.0
    pairs: tuple[tuple[SampleMean | Proportion, Covariate], ...] = (
        (control, control.covariate),
        (treatment, treatment.covariate),
    )
    for sample, cov in pairs:
        n, mx, my = sample.n, cov.sum / sample.n, sample.mean
        sxx += cov.sum_squares - n * mx * mx
        sxy += cov.cross - n * mx * my
    if sxx <= 0:
        return None
    pooled = (control.covariate.sum + treatment.covariate.sum) / (control.n + treatment.n)
    return Cuped(sxy / sxx, pooled)


def arm_statistic(sample: Sample, cuped: Cuped | None = None) -> ArmStatistic:
    """The arm's estimate and its variance (CUPED-adjusted when ``cuped`` is given)."""
    n = sample.n
    if n < 2:
        return ArmStatistic(sample.mean, math.nan, n)
    if isinstance(sample, RatioSample):
        my, md, vy, vd, cyd = sample.moments()
        if md == 0:
            return ArmStatistic(math.nan, math.nan, n)
        r = my / md
        var = (vy - 2 * r * cyd + r * r * vd) / (md * md)
        return ArmStatistic(r, max(0.0, var) / n, n)
    if cuped is None:
        return ArmStatistic(sample.mean, sample.variance / n, n)
    my, mx, vy, vx, cxy = _moments(sample)
    theta = cuped.theta
    value = my - theta * (mx - cuped.pooled_mean)
    var = vy - 2 * theta * cxy + theta * theta * vx
    return ArmStatistic(value, max(0.0, var) / n, n)

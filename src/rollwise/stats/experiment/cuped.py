"""CUPED: the variance a pre-period covariate explains, removed from a comparison.

Much of a metric's noise is who the units are, not what the arm did (heavy buyers buy a
lot in both arms). CUPED subtracts the part of each arm's estimate that a pre-exposure
covariate predicts:

- mean and proportion with a :class:`~.samples.Covariate` ``x`` (the same metric before
  exposure): ``ȳ - θ (x̄ - x̄_pool)`` with per-unit variance ``s²y - 2θ s_xy + θ² s²x``;
- ratio with a :class:`~.samples.RatioCovariate` (the pre-period numerator ``x`` and
  denominator ``w``): the same on the linearised values (:mod:`._ratio`),
  ``r - θ (q - q_pool)`` with ``q = Σx / Σw`` the arm's pre-period ratio and per-unit
  variance ``var(L) - 2θ cov(L, K) + θ² var(K)``.

``θ`` is the within-arm pooled regression slope of the metric on the covariate over the two
arms compared (``Σ (n-1) cov / Σ (n-1) var``) and ``x̄_pool`` / ``q_pool`` their pooled
covariate. Randomisation makes the covariate equal across arms in expectation, so the
difference stays unbiased while its variance shrinks by ``1 - rho²``, ``rho`` the correlation
of the metric with the covariate (for a ratio: of ``L`` with ``K``). ``θ`` and the pooled
covariate are treated as known, as in the published method (Deng et al. 2013).
"""

from __future__ import annotations

from dataclasses import dataclass

from ._ratio import LinearisedRatio, linearise
from .samples import Proportion, RatioSample, Sample, SampleMean

__all__ = ["Cuped", "adjusted_moments", "cuped_adjustment"]


@dataclass(frozen=True, slots=True)
class Cuped:
    """The adjustment shared by the two arms of a comparison."""

    theta: float
    pooled_mean: float


def _mean_moments(sample: SampleMean | Proportion) -> tuple[float, float, float, float, float]:
    """``ȳ, x̄, s²y, s²x, s_xy`` (unbiased; the proportion's s²y is ``p(1 - p)``)."""
    cov = sample.covariate
    if cov is None:
        raise ValueError("CUPED needs a covariate on both arms")
    n = sample.n
    my, mx = sample.mean, cov.sum / n
    vx = max(0.0, (cov.sum_squares - n * mx * mx) / (n - 1))
    cxy = (cov.cross - n * mx * my) / (n - 1)
    return my, mx, sample.variance, vx, cxy


def _ratio_adjustment(control: RatioSample, treatment: RatioSample) -> Cuped | None:
    arms: list[tuple[RatioSample, LinearisedRatio]] = [
        (control, linearise(control)),
        (treatment, linearise(treatment)),
    ]
    if not all(lin.has_covariate for _, lin in arms):
        return None
    sxx = sum((lin.n - 1) * lin.pre_variance for _, lin in arms)
    sxy = sum((lin.n - 1) * lin.covariance for _, lin in arms)
    if sxx <= 0:
        return None
    x = w = 0.0
    for sample, _ in arms:
        assert sample.covariate is not None  # has_covariate
        x += sample.covariate.sum_x
        w += sample.covariate.sum_w
    return Cuped(sxy / sxx, x / w)


def cuped_adjustment(control: Sample, treatment: Sample) -> Cuped | None:
    """The pooled slope and covariate mean, or None when CUPED does not apply (a covariate
    missing on either arm, fewer than 2 units, or a covariate that does not vary)."""
    if control.n < 2 or treatment.n < 2:
        return None
    if isinstance(control, RatioSample) or isinstance(treatment, RatioSample):
        if isinstance(control, RatioSample) and isinstance(treatment, RatioSample):
            return _ratio_adjustment(control, treatment)
        return None
    if control.covariate is None or treatment.covariate is None:
        return None
    sxx = sxy = 0.0
    for sample in (control, treatment):
        _, _, _, vx, cxy = _mean_moments(sample)
        sxx += (sample.n - 1) * vx
        sxy += (sample.n - 1) * cxy
    if sxx <= 0:
        return None
    pooled = (control.covariate.sum + treatment.covariate.sum) / (control.n + treatment.n)
    return Cuped(sxy / sxx, pooled)


def adjusted_moments(sample: Sample, cuped: Cuped) -> tuple[float, float]:
    """The arm's CUPED-adjusted estimate and per-unit variance (``n >= 2``)."""
    if isinstance(sample, RatioSample):
        lin = linearise(sample)
        if not lin.has_covariate:
            raise ValueError("CUPED needs a covariate on both arms")
        theta = cuped.theta
        value = lin.value - theta * (lin.pre_value - cuped.pooled_mean)
        var = lin.variance - 2 * theta * lin.covariance + theta * theta * lin.pre_variance
        return value, max(0.0, var)
    my, mx, vy, vx, cxy = _mean_moments(sample)
    theta = cuped.theta
    value = my - theta * (mx - cuped.pooled_mean)
    return value, max(0.0, vy - 2 * theta * cxy + theta * theta * vx)

"""Bayesian chance to win and risk on the relative lift (GrowthBook-style).

The likelihood of the relative lift is the normal given by the delta method (the same
estimate and standard error as :mod:`.lift`). The prior is normal on the relative lift:
flat (no information, the default) or proper (mean and variance; e.g. ``N(0, 0.3²)`` says
lifts beyond ±60% are rare), combined by precision weighting::

    posterior precision = 1/se² + 1/prior_variance
    posterior mean      = (estimate/se² + prior_mean/prior_variance) / posterior precision

From the posterior ``N(m, s²)``:

- chance to win: ``P(lift > 0) = Φ(m / s)`` (``P(lift < 0)`` when lower is better);
- risk of shipping the arm: its expected loss ``E[max(0, -lift)] = s φ(m/s) - m Φ(-m/s)``
  (the lift one expects to give away if it is in fact worse), and the risk of keeping
  control, ``E[max(0, lift)] = s φ(m/s) + m Φ(m/s)``. Both are relative lifts.
- a credible interval ``m ± z s``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._special import norm_cdf, norm_pdf, norm_ppf
from .lift import Comparison

__all__ = ["FLAT", "BayesianLift", "GaussianPrior", "bayesian_lift", "posterior"]


@dataclass(frozen=True, slots=True)
class GaussianPrior:
    """A normal prior on the relative lift; ``variance=inf`` is flat."""

    mean: float = 0.0
    variance: float = math.inf

    def __post_init__(self) -> None:
        if not self.variance > 0:
            raise ValueError(f"a prior needs variance > 0, got {self.variance}")

    @property
    def flat(self) -> bool:
        return math.isinf(self.variance)


FLAT = GaussianPrior()


@dataclass(frozen=True, slots=True)
class BayesianLift:
    expected: float
    std_dev: float
    chance_to_win: float
    risk_treatment: float
    risk_control: float
    lower: float
    upper: float


def posterior(estimate: float, std_error: float, prior: GaussianPrior) -> tuple[float, float]:
    """Posterior mean and standard deviation of the lift."""
    if prior.flat:
        return estimate, std_error
    precision = 1.0 / std_error**2 + 1.0 / prior.variance
    mean = (estimate / std_error**2 + prior.mean / prior.variance) / precision
    return mean, math.sqrt(1.0 / precision)


def bayesian_lift(
    comparison: Comparison,
    prior: GaussianPrior = FLAT,
    *,
    higher_is_better: bool = True,
    credibility: float = 0.95,
) -> BayesianLift:
    """Posterior of the relative lift, chance to win and risks (relative)."""
    rel = comparison.relative
    if not (math.isfinite(rel.estimate) and rel.std_error > 0):
        nan = math.nan
        return BayesianLift(rel.estimate, nan, nan, nan, nan, nan, nan)
    m, s = posterior(rel.estimate, rel.std_error, prior)
    sign = 1.0 if higher_is_better else -1.0
    gain = sign * m  # the posterior mean of the improvement
    z = gain / s
    chance = norm_cdf(z)
    risk_treatment = s * norm_pdf(z) - gain * norm_cdf(-z)
    risk_control = s * norm_pdf(z) + gain * norm_cdf(z)
    q = norm_ppf(0.5 + credibility / 2.0)
    return BayesianLift(
        m, s, chance, max(0.0, risk_treatment), max(0.0, risk_control), m - q * s, m + q * s
    )

"""A ratio metric linearised: the delta method as moments of per-unit influence values.

A ratio ``r = ȳ / d̄`` of per-unit numerators ``y`` and denominators ``d`` (revenue per
session) is not a mean of per-unit values, so its variance cannot be read off one column.
To first order, though, ``r - E[r]`` is the mean of ``L = (y - r·d) / d̄``, each unit's
*linearised* value: the delta-method variance of ``r`` is ``var(L) / n``. The pre-period
ratio ``q = x̄ / w̄`` (revenue and sessions before exposure) linearises the same way into
``K = (x - q·w) / w̄``, and CUPED on a ratio is CUPED on ``L`` with covariate ``K``
(:mod:`.cuped`). Everything needed is ``var(L)``, ``var(K)`` and ``cov(L, K)``, which follow
from the per-arm sums of ``y, d, x, w`` and their products, so no unit is ever needed:

- ``var(L) = (s_yy - 2r·s_yd + r²·s_dd) / d̄²``
- ``var(K) = (s_xx - 2q·s_xw + q²·s_ww) / w̄²``
- ``cov(L, K) = (s_xy - q·s_wy - r·s_xd + r·q·s_wd) / (d̄·w̄)``

with ``s`` the unbiased (``n - 1``) per-unit (co)variances.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .samples import RatioSample

__all__ = ["LinearisedRatio", "linearise"]


@dataclass(frozen=True, slots=True)
class LinearisedRatio:
    """One arm's ratio ``r`` with the per-unit moments of ``L`` (and of ``K``, NaN without a
    usable pre-period: no covariate, or no pre-period denominator)."""

    n: int
    value: float
    variance: float
    pre_value: float = math.nan
    pre_variance: float = math.nan
    covariance: float = math.nan

    @property
    def has_covariate(self) -> bool:
        return math.isfinite(self.pre_variance) and math.isfinite(self.covariance)


def _cov(n: int, sum_ab: float, mean_a: float, mean_b: float) -> float:
    return (sum_ab - n * mean_a * mean_b) / (n - 1)


def linearise(sample: RatioSample) -> LinearisedRatio:
    """The arm's ratio and its linearised moments (NaN where they are not defined)."""
    n = sample.n
    if n < 2 or sample.denominator_sum == 0:
        return LinearisedRatio(n, sample.mean, math.nan)
    my, md, vy, vd, cyd = sample.moments()
    r = my / md
    var_l = max(0.0, (vy - 2 * r * cyd + r * r * vd) / (md * md))
    cov = sample.covariate
    if cov is None or cov.sum_w == 0:
        return LinearisedRatio(n, r, var_l)
    mx, mw = cov.sum_x / n, cov.sum_w / n
    q = mx / mw
    vx = max(0.0, _cov(n, cov.sum_x2, mx, mx))
    vw = max(0.0, _cov(n, cov.sum_w2, mw, mw))
    cxw = _cov(n, cov.sum_xw, mx, mw)
    var_k = max(0.0, (vx - 2 * q * cxw + q * q * vw) / (mw * mw))
    cxy = _cov(n, cov.sum_xy, mx, my)
    cwy = _cov(n, cov.sum_wy, mw, my)
    cxd = _cov(n, cov.sum_xd, mx, md)
    cwd = _cov(n, cov.sum_wd, mw, md)
    cov_lk = (cxy - q * cwy - r * cxd + r * q * cwd) / (md * mw)
    return LinearisedRatio(n, r, var_l, q, var_k, cov_lk)

"""The few distribution functions the experiment statistics need, typed.

SciPy ships no type information; this module is the one place that imports it, so every
other module stays strictly typed. ``scipy.special`` is used rather than ``scipy.stats``:
it is the same numerics without the distribution objects' import and call overhead.
"""

from __future__ import annotations

import math

from scipy import special  # type: ignore[import-untyped]

__all__ = ["chi2_sf", "norm_cdf", "norm_pdf", "norm_ppf", "t_cdf", "t_ppf", "t_sf"]

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def norm_cdf(x: float) -> float:
    return float(special.ndtr(x))


def norm_pdf(x: float) -> float:
    return _INV_SQRT_2PI * math.exp(-0.5 * x * x)


def norm_ppf(q: float) -> float:
    return float(special.ndtri(q))


def t_cdf(x: float, dof: float) -> float:
    """Student's t CDF; an infinite ``dof`` is the normal."""
    if math.isinf(dof):
        return norm_cdf(x)
    return float(special.stdtr(dof, x))


def t_sf(x: float, dof: float) -> float:
    return t_cdf(-x, dof)


def t_ppf(q: float, dof: float) -> float:
    if math.isinf(dof):
        return norm_ppf(q)
    return float(special.stdtrit(dof, q))


def chi2_sf(x: float, dof: float) -> float:
    """Upper tail of the chi-square distribution."""
    return float(special.chdtrc(dof, x))

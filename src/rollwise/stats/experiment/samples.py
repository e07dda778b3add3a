"""Sufficient statistics of one arm's metric: what analysis reads instead of raw events.

Every number the experiment statistics produce is a function of a few sums per arm, so the
control plane (or the user's warehouse) aggregates per unit, then per arm, and analysis never
sees a unit again. The sums are mergeable (``a + b``): two batches of units add up.

- :class:`SampleMean`: ``n`` units, ``sum`` and ``sum_squares`` of their per-unit values
  (engagement seconds per user). Variance with Bessel's correction (``n - 1``).
- :class:`Proportion`: ``n`` units of which ``conversions`` converted. Variance ``p(1 - p)``.
- :class:`RatioSample`: per unit a numerator and a denominator (revenue and sessions): their
  sums, sums of squares and the sum of their products; the metric is ``Σnum / Σden``.
- :class:`Covariate`: a pre-period value ``x`` per unit for CUPED: ``Σx``, ``Σx²`` and the
  cross product ``Σxy`` with the metric's value ``y`` over the same units.
- :class:`RatioCovariate`: CUPED for a ratio: the pre-period numerator ``x`` and denominator
  ``w`` per unit (revenue and sessions before exposure), their own ratio's sums and their
  cross products with the metric's numerator ``y`` and denominator ``d``.

Capping (winsorising) is applied to the *per-unit* value, after a unit's events are summed
and before the per-arm sums (:func:`cap_values`); the SQL source does the same in the
engine (``LEAST(unit_value, cap)``). Capping events one by one would leave a unit with many
moderate events uncapped.
"""

from __future__ import annotations

import math
from dataclasses import astuple, dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "Covariate",
    "Proportion",
    "RatioCovariate",
    "RatioSample",
    "Sample",
    "SampleMean",
    "cap_values",
    "percentile_cap",
    "proportion_of",
    "ratio_of",
    "sample_mean_of",
]

FloatArray = npt.NDArray[np.float64]


def _check_n(n: int) -> None:
    if n < 0:
        raise ValueError(f"a sample needs n >= 0, got {n}")


@dataclass(frozen=True, slots=True)
class Covariate:
    """Pre-period sums for CUPED over the same units as the metric: Σx, Σx², Σxy."""

    sum: float
    sum_squares: float
    cross: float

    def __add__(self, other: Covariate) -> Covariate:
        return Covariate(
            self.sum + other.sum, self.sum_squares + other.sum_squares, self.cross + other.cross
        )


def _add_covariates(a: Covariate | None, b: Covariate | None) -> Covariate | None:
    if a is None and b is None:
        return None
    if a is None or b is None:
        raise ValueError("cannot merge a sample with a covariate and one without")
    return a + b


@dataclass(frozen=True, slots=True)
class SampleMean:
    """Per-unit values of a mean metric: ``n``, ``Σy``, ``Σy²``."""

    n: int
    sum: float
    sum_squares: float
    covariate: Covariate | None = None

    def __post_init__(self) -> None:
        _check_n(self.n)

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n else math.nan

    @property
    def variance(self) -> float:
        """Unbiased per-unit variance (``n - 1``), floored at 0 against rounding."""
        if self.n < 2:
            return math.nan
        return max(0.0, (self.sum_squares - self.sum * self.sum / self.n) / (self.n - 1))

    def __add__(self, other: SampleMean) -> SampleMean:
        return SampleMean(
            self.n + other.n,
            self.sum + other.sum,
            self.sum_squares + other.sum_squares,
            _add_covariates(self.covariate, other.covariate),
        )


@dataclass(frozen=True, slots=True)
class Proportion:
    """Units that converted: ``conversions`` of ``n``."""

    n: int
    conversions: float
    covariate: Covariate | None = None

    def __post_init__(self) -> None:
        _check_n(self.n)
        if not 0 <= self.conversions <= self.n:
            raise ValueError(f"conversions must be in [0, n], got {self.conversions} of {self.n}")

    @property
    def mean(self) -> float:
        return self.conversions / self.n if self.n else math.nan

    @property
    def variance(self) -> float:
        """Per-unit Bernoulli variance ``p(1 - p)``."""
        p = self.mean
        return p * (1.0 - p)

    @property
    def sum(self) -> float:
        return self.conversions

    @property
    def sum_squares(self) -> float:
        return self.conversions

    def __add__(self, other: Proportion) -> Proportion:
        return Proportion(
            self.n + other.n,
            self.conversions + other.conversions,
            _add_covariates(self.covariate, other.covariate),
        )


@dataclass(frozen=True, slots=True)
class RatioCovariate:
    """Pre-period sums for a ratio's CUPED over the same units as the metric.

    Per unit: ``x`` the pre-period numerator, ``w`` the pre-period denominator; ``y`` and
    ``d`` the metric's numerator and denominator. The pre-period ratio ``Σx / Σw`` is the
    covariate; its linearisation against the metric's needs Σx, Σx², Σw, Σw², Σxw and the
    four cross products Σxy, Σwy, Σxd, Σwd (:mod:`._ratio`).
    """

    sum_x: float
    sum_x2: float
    sum_w: float
    sum_w2: float
    sum_xw: float
    sum_xy: float
    sum_wy: float
    sum_xd: float
    sum_wd: float

    def __add__(self, other: RatioCovariate) -> RatioCovariate:
        return RatioCovariate(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


def _add_ratio_covariates(
    a: RatioCovariate | None, b: RatioCovariate | None
) -> RatioCovariate | None:
    if a is None and b is None:
        return None
    if a is None or b is None:
        raise ValueError("cannot merge a sample with a covariate and one without")
    return a + b


@dataclass(frozen=True, slots=True)
class RatioSample:
    """Per-unit numerator ``y`` and denominator ``d``: Σy, Σy², Σd, Σd², Σyd (and, for
    CUPED, the pre-period's :class:`RatioCovariate`)."""

    n: int
    numerator_sum: float
    numerator_sum_squares: float
    denominator_sum: float
    denominator_sum_squares: float
    cross_sum: float
    covariate: RatioCovariate | None = None

    def __post_init__(self) -> None:
        _check_n(self.n)

    @property
    def mean(self) -> float:
        """The metric: ``Σy / Σd`` (revenue per session), NaN without denominator."""
        return self.numerator_sum / self.denominator_sum if self.denominator_sum else math.nan

    def moments(self) -> tuple[float, float, float, float, float]:
        """Per-unit means and unbiased (co)variances: ``ȳ, d̄, s²y, s²d, s_yd``."""
        n = self.n
        if n < 2:
            return (math.nan,) * 5
        my, md = self.numerator_sum / n, self.denominator_sum / n
        vy = (self.numerator_sum_squares - n * my * my) / (n - 1)
        vd = (self.denominator_sum_squares - n * md * md) / (n - 1)
        cyd = (self.cross_sum - n * my * md) / (n - 1)
        return my, md, max(0.0, vy), max(0.0, vd), cyd

    def __add__(self, other: RatioSample) -> RatioSample:
        return RatioSample(
            self.n + other.n,
            self.numerator_sum + other.numerator_sum,
            self.numerator_sum_squares + other.numerator_sum_squares,
            self.denominator_sum + other.denominator_sum,
            self.denominator_sum_squares + other.denominator_sum_squares,
            self.cross_sum + other.cross_sum,
            _add_ratio_covariates(self.covariate, other.covariate),
        )


Sample = SampleMean | Proportion | RatioSample


def cap_values(
    values: npt.ArrayLike, upper: float | None = None, lower: float | None = None
) -> FloatArray:
    """Winsorise per-unit values into ``[lower, upper]`` (either bound optional)."""
    array = np.asarray(values, dtype=np.float64)
    if upper is None and lower is None:
        return array
    return np.clip(array, lower, upper)


def percentile_cap(values: npt.ArrayLike, quantile: float) -> float:
    """The per-unit value at ``quantile`` (e.g. 0.99): a cap chosen from the data itself."""
    if not 0.0 < quantile <= 1.0:
        raise ValueError(f"a percentile cap needs 0 < quantile <= 1, got {quantile}")
    return float(np.quantile(np.asarray(values, dtype=np.float64), quantile))


def _covariate(x: npt.ArrayLike | None, y: FloatArray) -> Covariate | None:
    if x is None:
        return None
    xs = np.asarray(x, dtype=np.float64)
    if xs.shape != y.shape:
        raise ValueError("the covariate needs one value per unit")
    return Covariate(float(xs.sum()), float(np.dot(xs, xs)), float(np.dot(xs, y)))


def sample_mean_of(
    values: npt.ArrayLike, covariate: npt.ArrayLike | None = None, *, cap: float | None = None
) -> SampleMean:
    """Sufficient statistics of per-unit values (capped first when ``cap`` is given)."""
    y = cap_values(values, cap)
    return SampleMean(int(y.size), float(y.sum()), float(np.dot(y, y)), _covariate(covariate, y))


def proportion_of(converted: npt.ArrayLike, covariate: npt.ArrayLike | None = None) -> Proportion:
    """Sufficient statistics of per-unit 0/1 outcomes."""
    y = (np.asarray(converted) != 0).astype(np.float64)
    return Proportion(int(y.size), float(y.sum()), _covariate(covariate, y))


def ratio_of(
    numerator: npt.ArrayLike,
    denominator: npt.ArrayLike,
    pre_numerator: npt.ArrayLike | None = None,
    pre_denominator: npt.ArrayLike | None = None,
) -> RatioSample:
    """Sufficient statistics of per-unit numerators and denominators (with both pre-period
    arrays: the CUPED covariate, the pre-period ratio)."""
    y = np.asarray(numerator, dtype=np.float64)
    d = np.asarray(denominator, dtype=np.float64)
    if y.shape != d.shape:
        raise ValueError("a ratio needs one numerator and one denominator per unit")
    covariate = None
    if (pre_numerator is None) != (pre_denominator is None):
        raise ValueError("a ratio's covariate needs both a pre-period numerator and denominator")
    if pre_numerator is not None and pre_denominator is not None:
        x = np.asarray(pre_numerator, dtype=np.float64)
        w = np.asarray(pre_denominator, dtype=np.float64)
        if x.shape != y.shape or w.shape != y.shape:
            raise ValueError("the covariate needs one value per unit")
        covariate = RatioCovariate(
            float(x.sum()),
            float(np.dot(x, x)),
            float(w.sum()),
            float(np.dot(w, w)),
            float(np.dot(x, w)),
            float(np.dot(x, y)),
            float(np.dot(w, y)),
            float(np.dot(x, d)),
            float(np.dot(w, d)),
        )
    return RatioSample(
        int(y.size),
        float(y.sum()),
        float(np.dot(y, y)),
        float(d.sum()),
        float(np.dot(d, d)),
        float(np.dot(y, d)),
        covariate,
    )

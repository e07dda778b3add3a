"""CUPED for ratio metrics: the pre-period ratio's linearisation as covariate.

A seeded shop: each user has an activity level (sessions before and after exposure) and a
spend level (revenue per session in both periods), so a user's pre-period revenue per
session predicts the post-period one. The expected narrowing is computed here from the
per-unit linearised values with NumPy, independently of the sums the statistics read.
"""

from __future__ import annotations

import math
from dataclasses import astuple

import numpy as np
import numpy.typing as npt
import pytest

from rollwise.stats.experiment import (
    compare,
    cuped_adjustment,
    ratio_of,
    sample_mean_of,
)

Arrays = tuple[npt.NDArray[np.float64], ...]


def _shop(rng: np.random.Generator, shape: tuple[int, ...], lift: float = 1.0) -> Arrays:
    """Revenue ``y`` over sessions ``d`` after exposure, ``x`` over ``w`` before it."""
    activity = rng.gamma(2.0, 1.5, shape)
    spend = rng.lognormal(0.0, 0.6, shape)
    w = rng.poisson(activity).astype(np.float64)
    d = rng.poisson(activity).astype(np.float64)
    x = w * spend * rng.gamma(12.0, 1 / 12, shape)
    y = d * spend * rng.gamma(12.0, 1 / 12, shape) * lift
    return y, d, x, w


def _linearised(y: np.ndarray, d: np.ndarray, x: np.ndarray, w: np.ndarray) -> Arrays:
    """Per-unit ``L = (y - r d) / mean(d)`` and ``K = (x - q w) / mean(w)`` of one arm."""
    r, q = y.mean() / d.mean(), x.mean() / w.mean()
    return (y - r * d) / d.mean(), (x - q * w) / w.mean()


def test_ratio_cuped_narrows_the_interval_by_sqrt_one_minus_rho_squared() -> None:
    rng = np.random.default_rng(21)
    n = 200_000
    control, treatment = _shop(rng, (n,)), _shop(rng, (n,))
    plain = compare(ratio_of(*control), ratio_of(*treatment), cuped=False)
    result = compare(ratio_of(*control), ratio_of(*treatment))
    lc, kc = _linearised(*control)
    lt, kt = _linearised(*treatment)
    # L and K have mean 0 in each arm, so the pooled within-arm correlation is the plain one
    rho = float(np.corrcoef(np.concatenate([lc, lt]), np.concatenate([kc, kt]))[0, 1])
    assert 0.6 < rho < 0.7  # a strongly correlated pre-period, as designed
    width = result.absolute.upper - result.absolute.lower
    plain_width = plain.absolute.upper - plain.absolute.lower
    assert width / plain_width == pytest.approx(math.sqrt(1 - rho**2), rel=1e-3)
    # theta: the pooled least-squares slope of L on K
    assert result.cuped_theta is not None
    assert result.cuped_theta == pytest.approx(
        float(np.dot(lc, kc) + np.dot(lt, kt)) / float(np.dot(kc, kc) + np.dot(kt, kt)), rel=1e-9
    )
    # the arms stay comparable: the adjusted difference is the plain one minus theta times
    # the pre-period difference
    q_c, q_t = control[2].sum() / control[3].sum(), treatment[2].sum() / treatment[3].sum()
    assert result.absolute.estimate == pytest.approx(
        plain.absolute.estimate - result.cuped_theta * (q_t - q_c), rel=1e-9
    )


def test_ratio_cuped_a_a_rejects_about_alpha_and_covers_about_95_percent() -> None:
    rng = np.random.default_rng(22)
    runs, n = 2000, 500
    control, treatment = _shop(rng, (runs, n)), _shop(rng, (runs, n))
    rejected = covered = 0
    for i in range(runs):
        result = compare(ratio_of(*(a[i] for a in control)), ratio_of(*(a[i] for a in treatment)))
        assert result.cuped_theta is not None
        rejected += result.absolute.p_value < 0.05
        covered += result.relative.lower <= 0 <= result.relative.upper
    assert 0.035 <= rejected / runs <= 0.065
    assert 0.935 <= covered / runs <= 0.965


def test_ratio_cuped_intervals_cover_a_true_lift() -> None:
    rng = np.random.default_rng(23)
    runs, n = 800, 1000
    control, treatment = _shop(rng, (runs, n)), _shop(rng, (runs, n), lift=1.1)
    covered = narrower = 0
    for i in range(runs):
        c, t = ratio_of(*(a[i] for a in control)), ratio_of(*(a[i] for a in treatment))
        adjusted, plain = compare(c, t).relative, compare(c, t, cuped=False).relative
        covered += adjusted.lower <= 0.1 <= adjusted.upper
        narrower += adjusted.std_error < plain.std_error
    assert 0.93 <= covered / runs <= 0.97
    assert narrower / runs > 0.99


def test_with_unit_denominators_ratio_cuped_is_mean_cuped() -> None:
    rng = np.random.default_rng(24)
    y, x = rng.normal(10.0, 3.0, (2, 2, 5000)), rng.normal(0.0, 1.0, (2, 2, 5000))
    y = y + 2.0 * x
    ones = np.ones(5000)
    as_ratio = compare(*(ratio_of(y[a, 0], ones, x[a, 0], ones) for a in range(2)))
    as_mean = compare(*(sample_mean_of(y[a, 0], x[a, 0]) for a in range(2)))
    assert as_ratio.cuped_theta == pytest.approx(as_mean.cuped_theta, rel=1e-9)
    for mine, theirs in (
        (as_ratio.absolute, as_mean.absolute),
        (as_ratio.relative, as_mean.relative),
    ):
        assert astuple(mine) == pytest.approx(astuple(theirs), rel=1e-9)


def test_ratio_covariates_merge_and_cuped_needs_a_pre_period_on_both_arms() -> None:
    rng = np.random.default_rng(25)
    y, d, x, w = _shop(rng, (100,))
    whole = ratio_of(y, d, x, w)
    halves = ratio_of(y[:40], d[:40], x[:40], w[:40]) + ratio_of(y[40:], d[40:], x[40:], w[40:])
    assert astuple(halves)[:-1] == pytest.approx(astuple(whole)[:-1], rel=1e-12)
    assert halves.covariate is not None
    assert whole.covariate is not None
    assert astuple(halves.covariate) == pytest.approx(astuple(whole.covariate), rel=1e-12)
    with pytest.raises(ValueError, match="covariate"):
        ratio_of(y[:40], d[:40], x[:40], w[:40]) + ratio_of(y[40:], d[40:])
    with pytest.raises(ValueError, match="both"):
        ratio_of(y, d, x)
    without = ratio_of(y, d)
    assert cuped_adjustment(whole, without) is None
    assert compare(whole, without).cuped_theta is None
    # no pre-period denominators at all (every unit new): nothing to regress on
    new = ratio_of(y, d, np.zeros(100), np.zeros(100))
    assert cuped_adjustment(new, new) is None
    assert compare(new, new).absolute == compare(without, without).absolute

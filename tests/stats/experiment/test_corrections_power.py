"""Multiple-comparison corrections, power planning and the sufficient statistics' algebra."""

from __future__ import annotations

import math
from dataclasses import astuple

import numpy as np
import pytest

from rollwise.stats.experiment import (
    Covariate,
    NormalMixture,
    PowerModel,
    Proportion,
    RatioSample,
    SampleMean,
    adjust,
    benjamini_hochberg,
    cap_values,
    holm,
    percentile_cap,
    proportion_of,
    ratio_of,
    sample_mean_of,
    sample_ratio_test,
)

P_VALUES = [0.01, 0.04, 0.03, 0.005, math.nan]


def test_holm_matches_the_step_down_by_hand() -> None:
    result = holm(P_VALUES, alpha=0.05)
    # sorted: 0.005*4, 0.01*3, 0.03*2, 0.04*1 -> 0.02, 0.03, 0.06, 0.06 (monotone)
    assert result.p_values[:4] == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert math.isnan(result.p_values[4])
    assert result.significant == (True, False, False, True, False)


def test_benjamini_hochberg_matches_the_step_up_by_hand() -> None:
    result = benjamini_hochberg(P_VALUES, alpha=0.05)
    # sorted: 0.005*4/1=0.02, 0.01*4/2=0.02, 0.03*4/3=0.04, 0.04*4/4=0.04
    assert result.p_values[:4] == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert result.significant[:4] == (True, True, True, True)


def test_corrections_never_lower_a_p_value_and_none_keeps_them() -> None:
    rng = np.random.default_rng(1)
    raw = list(rng.uniform(size=40))
    for method in ("holm", "benjamini_hochberg"):
        adjusted = adjust(raw, method)
        assert all(a >= p - 1e-15 for a, p in zip(adjusted.p_values, raw, strict=True))
        assert all(a <= 1.0 for a in adjusted.p_values)
    assert adjust(raw, "none").p_values == tuple(raw)
    assert sum(holm(raw).significant) <= sum(benjamini_hochberg(raw).significant)


def test_srm_with_three_arms_and_unequal_weights() -> None:
    ok = sample_ratio_test({"c": 5010, "a": 2480, "b": 2510}, {"c": 50, "a": 25, "b": 25})
    assert not ok.mismatch
    assert ok.dof == 2
    assert ok.expected == {"c": 5000.0, "a": 2500.0, "b": 2500.0}
    bad = sample_ratio_test({"c": 5300, "a": 2300, "b": 2400}, {"c": 50, "a": 25, "b": 25})
    assert bad.mismatch
    zero = sample_ratio_test({"c": 10, "a": 3}, {"c": 1, "a": 0})
    assert zero.mismatch


def test_power_at_the_minimum_detectable_effect_is_the_target() -> None:
    model = PowerModel(control_mean=0.10, control_variance=0.09)
    mde = model.minimum_detectable_effect(10_000, 10_000, power=0.8)
    assert model.power(mde, 10_000, 10_000) == pytest.approx(0.8, abs=1e-6)
    # the textbook (z_a/2 + z_b) * se, with the delta method's se at the treatment's mean
    se = math.sqrt(0.09 * (1 + (1 + mde) ** 2) / 10_000) / 0.10
    assert mde == pytest.approx((1.959964 + 0.841621) * se, rel=1e-4)
    assert model.power(0.0, 10_000, 10_000) == pytest.approx(0.05, abs=1e-9)


def test_units_needed_reach_the_power_and_one_fewer_does_not() -> None:
    model = PowerModel(control_mean=0.10, control_variance=0.09)
    needed = model.units_needed(0.05, 0.5, 0.5, power=0.8)
    assert model.power(0.05, needed / 2, needed / 2) >= 0.8
    assert model.power(0.05, (needed - 2) / 2, (needed - 2) / 2) < 0.8
    sequential = PowerModel(0.10, 0.09, sequential=NormalMixture(0.05, needed))
    assert sequential.units_needed(0.05) > needed
    assert sequential.minimum_detectable_effect(5000, 5000) > model.minimum_detectable_effect(
        5000, 5000
    )


def test_samples_merge_by_adding_their_sums() -> None:
    rng = np.random.default_rng(2)
    y, x = rng.normal(size=100), rng.normal(size=100)
    whole = sample_mean_of(y, x)
    parts = sample_mean_of(y[:30], x[:30]) + sample_mean_of(y[30:], x[30:])
    assert parts.n == whole.n
    assert parts.sum == pytest.approx(whole.sum)
    assert parts.variance == pytest.approx(whole.variance)
    assert parts.covariate is not None
    assert whole.covariate is not None
    assert astuple(parts.covariate) == pytest.approx(astuple(whole.covariate))
    assert whole.variance == pytest.approx(float(np.var(y, ddof=1)))
    assert Proportion(10, 3) + Proportion(5, 1) == Proportion(15, 4)
    d = rng.poisson(2.0, size=50) + 1
    r = ratio_of(d * 2.5, d)
    assert r.mean == pytest.approx(2.5)
    assert r + r == RatioSample(
        100,
        2 * r.numerator_sum,
        2 * r.numerator_sum_squares,
        2 * r.denominator_sum,
        2 * r.denominator_sum_squares,
        2 * r.cross_sum,
    )


def test_capping_applies_to_per_unit_values_before_the_sums() -> None:
    values = [1.0, 2.0, 3.0, 1000.0]
    assert list(cap_values(values, upper=10.0)) == [1.0, 2.0, 3.0, 10.0]
    capped = sample_mean_of(values, cap=10.0)
    assert capped.sum == 16.0
    assert capped.sum_squares == 1 + 4 + 9 + 100
    assert percentile_cap(list(range(101)), 0.99) == pytest.approx(99.0)
    with pytest.raises(ValueError, match="quantile"):
        percentile_cap(values, 0.0)


def test_invalid_samples_are_refused() -> None:
    with pytest.raises(ValueError, match="conversions"):
        Proportion(10, 11)
    with pytest.raises(ValueError, match="n >= 0"):
        SampleMean(-1, 0.0, 0.0)
    with pytest.raises(ValueError, match="covariate"):
        SampleMean(1, 1.0, 1.0, Covariate(1, 1, 1)) + SampleMean(1, 1.0, 1.0)
    assert proportion_of([0, 1, 1, 0]).conversions == 2

"""Published reference vectors (GrowthBook's gbstats test cases) reproduced to 1e-4."""

from __future__ import annotations

import math

import pytest

from rollwise.stats.experiment import (
    FLAT,
    GaussianPrior,
    Proportion,
    SampleMean,
    bayesian_lift,
    compare,
)

CONTROL = SampleMean(n=3407, sum=1396.87, sum_squares=52377.9767)
TREATMENT = SampleMean(n=3461, sum=2422.7, sum_squares=134698.29)


def test_welch_relative_lift_matches_the_reference() -> None:
    result = compare(CONTROL, TREATMENT, alpha=0.05, test="welch")
    rel = result.relative
    assert rel.estimate == pytest.approx(0.70732, abs=1e-4)
    assert rel.lower == pytest.approx(-0.03526, abs=1e-4)
    assert rel.upper == pytest.approx(1.44989, abs=1e-4)
    assert rel.p_value == pytest.approx(0.06191, abs=1e-4)


def test_welch_absolute_lift_matches_the_reference() -> None:
    result = compare(CONTROL, TREATMENT, alpha=0.05, test="welch")
    ab = result.absolute
    assert ab.estimate == pytest.approx(0.29, abs=1e-4)
    assert ab.lower == pytest.approx(0.04538, abs=1e-4)
    assert ab.upper == pytest.approx(0.53462, abs=1e-4)
    assert ab.p_value == pytest.approx(0.02016, abs=1e-4)
    assert result.method == "welch"
    assert result.dof == pytest.approx(5841.74, abs=0.01)


def test_bayesian_flat_prior_matches_the_reference() -> None:
    result = bayesian_lift(compare(Proportion(100, 49), Proportion(100, 51)), FLAT)
    assert result.expected == pytest.approx(0.04082, abs=1e-4)
    assert result.std_dev == pytest.approx(0.14725, abs=1e-4)
    assert result.chance_to_win == pytest.approx(0.60918, abs=1e-4)


def test_lower_is_better_flips_the_chance_to_win() -> None:
    comparison = compare(Proportion(100, 49), Proportion(100, 51))
    higher = bayesian_lift(comparison)
    lower = bayesian_lift(comparison, higher_is_better=False)
    assert lower.chance_to_win == pytest.approx(1 - higher.chance_to_win)
    assert lower.risk_treatment == pytest.approx(higher.risk_control)


def test_risks_are_the_expected_losses_of_a_normal_posterior() -> None:
    result = bayesian_lift(compare(Proportion(100, 49), Proportion(100, 51)))
    m, s = result.expected, result.std_dev
    # E[max(0, X)] - E[max(0, -X)] = E[X]
    assert result.risk_control - result.risk_treatment == pytest.approx(m)
    assert result.risk_treatment > 0
    assert result.lower == pytest.approx(m - 1.959964 * s, abs=1e-5)


def test_a_proper_prior_shrinks_towards_its_mean() -> None:
    comparison = compare(Proportion(100, 49), Proportion(100, 51))
    prior = GaussianPrior(mean=0.0, variance=0.1**2)
    shrunk = bayesian_lift(comparison, prior)
    flat = bayesian_lift(comparison, FLAT)
    assert 0 < shrunk.expected < flat.expected
    assert shrunk.std_dev < flat.std_dev
    precision = 1 / flat.std_dev**2 + 1 / 0.01
    assert shrunk.expected == pytest.approx(flat.expected / flat.std_dev**2 / precision)


def test_z_test_uses_the_normal_quantile() -> None:
    result = compare(CONTROL, TREATMENT, test="z")
    ab = result.absolute
    assert math.isinf(result.dof)
    assert ab.upper - ab.estimate == pytest.approx(1.959964 * ab.std_error, rel=1e-6)


def test_too_small_arms_give_no_result_rather_than_a_number() -> None:
    result = compare(SampleMean(1, 1.0, 1.0), TREATMENT)
    assert math.isnan(result.absolute.p_value)
    assert math.isnan(result.relative.estimate)

"""Seeded A/A (and A/B) simulations: the error rates the statistics promise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rollwise.stats.experiment import (
    NormalMixture,
    Proportion,
    SampleMean,
    compare,
    ratio_of,
    sample_mean_of,
    sample_ratio_test,
)


def _arm_sums(rng: np.random.Generator, runs: int, units: int) -> list[SampleMean]:
    """``runs`` A/A arms of lognormal per-unit values (skewed, like engagement)."""
    values = rng.lognormal(0.0, 1.0, size=(runs, units))
    sums = values.sum(axis=1)
    squares = np.einsum("ij,ij->i", values, values)
    return [SampleMean(units, float(s), float(q)) for s, q in zip(sums, squares, strict=True)]


def test_fixed_horizon_rejects_about_alpha_at_one_look() -> None:
    rng = np.random.default_rng(7)
    runs = 4000
    control, treatment = _arm_sums(rng, runs, 500), _arm_sums(rng, runs, 500)
    rejected = sum(
        compare(c, t).absolute.p_value < 0.05 for c, t in zip(control, treatment, strict=True)
    )
    assert 0.04 <= rejected / runs <= 0.06


def test_fixed_horizon_intervals_of_the_relative_lift_cover_about_95_percent() -> None:
    rng = np.random.default_rng(8)
    runs = 4000
    control, treatment = _arm_sums(rng, runs, 500), _arm_sums(rng, runs, 500)
    covered = sum(
        compare(c, t).relative.lower <= 0 <= compare(c, t).relative.upper
        for c, t in zip(control, treatment, strict=True)
    )
    assert 0.94 <= covered / runs <= 0.96


def _peeking(rng: np.random.Generator, runs: int, looks: int, batch: int) -> tuple[float, float]:
    """Share of A/A runs ever significant over ``looks`` looks: (fixed, sequential)."""
    mixture = NormalMixture(alpha=0.05, tuning=looks * batch * 2)
    ever_fixed = ever_sequential = 0
    for _ in range(runs):
        draws = rng.normal(10.0, 3.0, size=(2, looks, batch))
        sums = np.cumsum(draws.sum(axis=2), axis=1)
        squares = np.cumsum((draws * draws).sum(axis=2), axis=1)
        fixed = sequential = False
        for look in range(looks):
            n = (look + 1) * batch
            c = SampleMean(n, float(sums[0, look]), float(squares[0, look]))
            t = SampleMean(n, float(sums[1, look]), float(squares[1, look]))
            fixed = fixed or compare(c, t).absolute.p_value < 0.05
            result = compare(c, t, sequential=mixture).absolute
            sequential = sequential or result.p_value < 0.05
            assert (result.p_value < 0.05) == result.excludes_zero()
        ever_fixed += fixed
        ever_sequential += sequential
    return ever_fixed / runs, ever_sequential / runs


def test_sequential_test_looked_at_after_every_batch_stays_below_alpha() -> None:
    fixed, sequential = _peeking(np.random.default_rng(11), runs=600, looks=30, batch=100)
    assert sequential <= 0.05
    # the peeking problem the sequential test solves: the same looks at fixed intervals
    assert fixed > 0.10


def test_sequential_interval_is_wider_than_the_fixed_one() -> None:
    c, t = SampleMean(5000, 50000.0, 545000.0), SampleMean(5000, 50500.0, 555000.0)
    fixed = compare(c, t).absolute
    sequential = compare(c, t, sequential=NormalMixture(0.05, 10000)).absolute
    assert sequential.estimate == fixed.estimate
    assert sequential.upper - sequential.lower > fixed.upper - fixed.lower
    assert sequential.p_value > fixed.p_value


def test_srm_fires_about_one_in_a_thousand_without_a_mismatch() -> None:
    rng = np.random.default_rng(5)
    runs = 20000
    control = rng.binomial(20000, 0.5, size=runs)
    fired = sum(
        sample_ratio_test({"control": int(c), "b": 20000 - int(c)}, {"control": 1, "b": 1}).mismatch
        for c in control
    )
    assert fired / runs <= 0.0025


def test_srm_always_fires_on_52_48_with_20000_units() -> None:
    result = sample_ratio_test({"control": 10400, "b": 9600}, {"control": 0.5, "b": 0.5})
    assert result.mismatch
    assert result.p_value < 1e-6
    # assignments drawn at a true 52/48 are caught nearly always (power ~99%)
    rng = np.random.default_rng(6)
    drawn = rng.binomial(20000, 0.52, size=2000)
    caught = sum(
        sample_ratio_test({"control": int(c), "b": 20000 - int(c)}, {"control": 1, "b": 1}).mismatch
        for c in drawn
    )
    assert caught / 2000 >= 0.97


def test_cuped_narrows_intervals_by_sqrt_one_minus_rho_squared() -> None:
    rng = np.random.default_rng(3)
    n, rho = 200_000, 0.7
    widths = []
    for _ in range(2):
        x = rng.normal(0.0, 1.0, size=(2, n))
        y = 5.0 + rho * x + math.sqrt(1 - rho**2) * rng.normal(0.0, 1.0, size=(2, n))
        control, treatment = sample_mean_of(y[0], x[0]), sample_mean_of(y[1], x[1])
        plain = compare(control, treatment, cuped=False).absolute
        adjusted = compare(control, treatment, cuped=True).absolute
        widths.append((adjusted.upper - adjusted.lower) / (plain.upper - plain.lower))
        assert compare(control, treatment).cuped_theta == pytest.approx(rho, abs=0.01)
    for ratio in widths:
        assert ratio == pytest.approx(math.sqrt(1 - rho**2), rel=0.01)


def test_cuped_keeps_coverage_in_a_a_tests() -> None:
    rng = np.random.default_rng(4)
    runs, n = 1500, 400
    covered = 0
    for _ in range(runs):
        x = rng.normal(0.0, 1.0, size=(2, n))
        y = 5.0 + 0.8 * x + 0.6 * rng.normal(0.0, 1.0, size=(2, n))
        lift = compare(sample_mean_of(y[0], x[0]), sample_mean_of(y[1], x[1])).absolute
        covered += lift.lower <= 0 <= lift.upper
    assert 0.935 <= covered / runs <= 0.965


def test_ratio_metric_delta_method_covers_about_95_percent() -> None:
    rng = np.random.default_rng(9)
    runs, n = 1500, 800
    covered = 0
    for _ in range(runs):
        sessions = rng.poisson(3.0, size=(2, n)) + 1
        revenue = sessions * rng.gamma(2.0, 5.0, size=(2, n))
        lift = compare(ratio_of(revenue[0], sessions[0]), ratio_of(revenue[1], sessions[1]))
        covered += lift.relative.lower <= 0 <= lift.relative.upper
    assert 0.935 <= covered / runs <= 0.965


def test_a_real_difference_in_conversion_is_found() -> None:
    result = compare(Proportion(20000, 2000), Proportion(20000, 2300))
    assert result.relative.estimate == pytest.approx(0.15)
    assert result.relative.p_value < 1e-4
    assert result.relative.lower > 0

"""Canary-vs-baseline rate tests: false failures under every-tick looks, power, monotonicity."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom

from rollwise.stats import margin_test, ratio_test

ALPHA = 0.05
SHARE = 0.1  # the canary's share of requests
PER_TICK = 1000


def allowed_false_rate(runs: int) -> float:
    """alpha plus what a binomial count of runs exceeds it by with probability 1e-3."""
    return float(binom.ppf(1 - 1e-3, runs, ALPHA)) / runs


def cumulative_ticks(
    rng: np.random.Generator, ticks: int, canary_rate: float, baseline_rate: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n_c = rng.binomial(PER_TICK, SHARE, ticks)
    n_b = PER_TICK - n_c
    x_c = rng.binomial(n_c, canary_rate)
    x_b = rng.binomial(n_b, baseline_rate)
    return np.cumsum(x_c), np.cumsum(n_c), np.cumsum(x_b), np.cumsum(n_b)


def first_failure(kind: str, data: tuple[np.ndarray, ...], bound: float) -> int | None:
    """Canary trials at the first tick whose test says harmful (None: never)."""
    x_c, n_c, x_b, n_b = data
    for t in range(len(n_c)):
        args = (int(x_c[t]), int(n_c[t]), int(x_b[t]), int(n_b[t]))
        if kind == "ratio":
            harmful = ratio_test(*args, max_ratio=1 + bound, alpha=ALPHA).harmful
        else:
            harmful = margin_test(*args, slope=1.0, intercept=bound, alpha=ALPHA).harmful
        if harmful:
            return int(n_c[t])
    return None


@pytest.mark.slow  # a simulation
@pytest.mark.parametrize(
    ("canary_rate", "baseline_rate", "max_increase"),
    [
        (0.01, 0.01, 0.0),  # A/A, at the boundary of "no increase"
        (0.012, 0.01, 0.2),  # exactly at the allowed 20% increase
        (0.3, 0.3, 0.0),  # frequent bad events: conditioning is conservative, still valid
        (0.36, 0.3, 0.2),
    ],
)
def test_ratio_test_false_failures_stay_below_alpha_looking_every_tick(
    canary_rate: float, baseline_rate: float, max_increase: float
) -> None:
    rng = np.random.default_rng(4242)
    runs = 600
    failures = sum(
        first_failure("ratio", cumulative_ticks(rng, 40, canary_rate, baseline_rate), max_increase)
        is not None
        for _ in range(runs)
    )
    assert failures / runs <= allowed_false_rate(runs)


@pytest.mark.slow  # a simulation: many sequences of looks
@pytest.mark.parametrize(("canary_rate", "baseline_rate", "difference"), [(0.015, 0.01, 0.005)])
def test_margin_test_false_failures_stay_below_alpha(
    canary_rate: float, baseline_rate: float, difference: float
) -> None:
    rng = np.random.default_rng(99)
    runs = 600
    failures = sum(
        first_failure("margin", cumulative_ticks(rng, 40, canary_rate, baseline_rate), difference)
        is not None
        for _ in range(runs)
    )
    assert failures / runs <= allowed_false_rate(runs)


def test_ratio_test_detects_five_percent_against_one_well_within_2000_canary_requests() -> None:
    rng = np.random.default_rng(1)
    firsts = [
        first_failure("ratio", cumulative_ticks(rng, 40, 0.05, 0.01), 0.2) for _ in range(200)
    ]
    detected = [f for f in firsts if f is not None]
    assert len(detected) == 200
    assert float(np.median(detected)) < 600


def test_margin_test_detects_a_four_point_difference() -> None:
    rng = np.random.default_rng(2)
    firsts = [
        first_failure("margin", cumulative_ticks(rng, 60, 0.05, 0.01), 0.005) for _ in range(100)
    ]
    detected = [f for f in firsts if f is not None]
    assert len(detected) == 100
    assert float(np.median(detected)) < 2000


def test_ratio_test_evidence() -> None:
    result = ratio_test(50, 1000, 90, 9000, max_ratio=1.2, alpha=ALPHA)
    assert result.harmful
    assert result.canary_share == pytest.approx(50 / 140)
    assert result.null_share == pytest.approx(1200 / (1200 + 9000))
    assert result.ratio == pytest.approx(5.0)
    assert 1.2 < result.ratio_lower_bound < 5.0
    assert result.e_value >= result.threshold == pytest.approx(20.0)
    calm = ratio_test(10, 1000, 90, 9000, max_ratio=1.2, alpha=ALPHA)
    assert not calm.harmful
    assert calm.ratio_lower_bound < 1.2
    assert ratio_test(0, 100, 0, 900, max_ratio=1.0, alpha=ALPHA).canary_share is None
    assert ratio_test(3, 100, 0, 900, max_ratio=1.0, alpha=ALPHA).ratio is None


def test_invalid_input_is_refused() -> None:
    with pytest.raises(ValueError, match="canary"):
        ratio_test(5, 4, 0, 10, max_ratio=1.0, alpha=ALPHA)
    with pytest.raises(ValueError, match="both variants"):
        ratio_test(0, 0, 0, 10, max_ratio=1.0, alpha=ALPHA)
    with pytest.raises(ValueError, match="max_ratio"):
        ratio_test(0, 10, 0, 10, max_ratio=0.0, alpha=ALPHA)
    with pytest.raises(ValueError, match="slope"):
        margin_test(0, 10, 0, 10, slope=-1.0, intercept=0.0, alpha=ALPHA)


trials = st.integers(1, 20_000)


@st.composite
def two_variants(draw: st.DrawFn) -> tuple[int, int, int, int]:
    n_c, n_b = draw(trials), draw(trials)
    return draw(st.integers(0, n_c - 1)), n_c, draw(st.integers(0, n_b)), n_b


@settings(max_examples=150, deadline=None)
@given(two_variants(), st.sampled_from([0.0, 0.2, 1.0]))
def test_more_canary_errors_never_turn_a_failure_into_a_non_failure(
    counts: tuple[int, int, int, int], increase: float
) -> None:
    x_c, n_c, x_b, n_b = counts
    before = ratio_test(x_c, n_c, x_b, n_b, max_ratio=1 + increase, alpha=ALPHA)
    after = ratio_test(x_c + 1, n_c, x_b, n_b, max_ratio=1 + increase, alpha=ALPHA)
    assert after.e_value >= before.e_value * (1 - 1e-9)
    assert after.harmful or not before.harmful
    looser = ratio_test(x_c, n_c, x_b, n_b, max_ratio=2 + increase, alpha=ALPHA)
    assert before.harmful or not looser.harmful
    m_before = margin_test(x_c, n_c, x_b, n_b, slope=1.0, intercept=increase / 10, alpha=ALPHA)
    m_after = margin_test(x_c + 1, n_c, x_b, n_b, slope=1.0, intercept=increase / 10, alpha=ALPHA)
    assert m_after.canary_lower >= m_before.canary_lower
    assert m_after.harmful or not m_before.harmful


@settings(max_examples=150, deadline=None)
@given(two_variants())
def test_more_baseline_errors_never_make_the_canary_look_worse(
    counts: tuple[int, int, int, int],
) -> None:
    x_c, n_c, x_b, n_b = counts
    if x_b < n_b:
        before = ratio_test(x_c, n_c, x_b, n_b, max_ratio=1.0, alpha=ALPHA)
        after = ratio_test(x_c, n_c, x_b + 1, n_b, max_ratio=1.0, alpha=ALPHA)
        assert after.e_value <= before.e_value * (1 + 1e-9)
        assert before.harmful or not after.harmful

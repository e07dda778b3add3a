"""The one-proportion confidence sequence and tests: validity under many looks, power, shape."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import betaln
from scipy.stats import beta as beta_dist
from scipy.stats import binom

from rollwise.stats import (
    BetaPrior,
    confidence_sequence,
    exceeds,
    falls_below,
    log_mixture_ratio,
)

ALPHA = 0.05


def allowed_false_rate(alpha: float, runs: int) -> float:
    """alpha plus what a binomial count of runs can exceed it by with probability 1e-4."""
    return float(binom.ppf(1 - 1e-4, runs, alpha)) / runs


def looks_rejecting(
    path: np.ndarray, p0: float, alpha: float, every: int, test: str = "mixture"
) -> bool:
    """Whether a test of "rate <= p0" rejects at any look along a cumulative path."""
    for n in range(every, len(path) + 1, every):
        x = int(path[n - 1])
        if test == "mixture":
            if exceeds(x, n, p0, alpha).rejected:
                return True
        else:  # a fixed-sample one-sided z-test, peeked at every look
            z = (x - n * p0) / math.sqrt(n * p0 * (1 - p0))
            if z > 1.6448536269514722:
                return True
    return False


@pytest.mark.parametrize("rate", [0.01, 0.1, 0.5])
def test_false_rejections_stay_below_alpha_when_looking_every_ten_trials(rate: float) -> None:
    rng = np.random.default_rng(20240501)
    runs, trials = 1500, 1000
    paths = np.cumsum(rng.random((runs, trials)) < rate, axis=1)
    rejected = sum(looks_rejecting(path, rate, ALPHA, every=10) for path in paths)
    assert rejected / runs <= allowed_false_rate(ALPHA, runs)


def test_the_same_looks_inflate_a_fixed_sample_test_far_beyond_alpha() -> None:
    # The simulation above can see invalidity: a peeked z-test fails it by a wide margin.
    rng = np.random.default_rng(7)
    runs, trials = 500, 1000
    paths = np.cumsum(rng.random((runs, trials)) < 0.1, axis=1)
    rejected = sum(looks_rejecting(path, 0.1, ALPHA, every=10, test="z") for path in paths)
    assert rejected / runs > 3 * ALPHA


def test_a_rate_below_the_null_is_rejected_even_less() -> None:
    rng = np.random.default_rng(11)
    runs, trials = 1000, 1000
    paths = np.cumsum(rng.random((runs, trials)) < 0.08, axis=1)
    rejected = sum(looks_rejecting(path, 0.1, ALPHA, every=10) for path in paths)
    assert rejected / runs <= ALPHA / 5


@pytest.mark.slow  # a simulation
def test_the_interval_covers_the_true_rate_at_every_look() -> None:
    rng = np.random.default_rng(3)
    runs, trials, rate = 600, 2000, 0.03
    paths = np.cumsum(rng.random((runs, trials)) < rate, axis=1)
    missed = 0
    for path in paths:
        for n in range(20, trials + 1, 20):
            if rate not in confidence_sequence(int(path[n - 1]), n, ALPHA):
                missed += 1
                break
    assert missed / runs <= allowed_false_rate(ALPHA, runs)


def test_detects_five_percent_against_one_within_a_few_hundred_trials() -> None:
    rng = np.random.default_rng(5)
    firsts = []
    for _ in range(200):
        path = np.cumsum(rng.random(3000) < 0.05)
        first = next(
            (n for n in range(10, 3001, 10) if exceeds(int(path[n - 1]), n, 0.01, ALPHA).rejected),
            None,
        )
        firsts.append(first if first is not None else math.inf)
    assert float(np.median(firsts)) < 400
    assert sum(math.isfinite(f) for f in firsts) == 200


def test_log_mixture_ratio_matches_the_beta_binomial_formula() -> None:
    x, n, p = 7, 120, 0.02
    prior = BetaPrior(0.5, 0.5)
    expected = betaln(x + 0.5, n - x + 0.5) - betaln(0.5, 0.5) - x * math.log(p)
    expected -= (n - x) * math.log1p(-p)
    assert log_mixture_ratio(x, n, p, prior) == pytest.approx(expected, rel=1e-12)


def test_interval_is_where_the_mixture_ratio_stays_below_one_over_alpha() -> None:
    interval = confidence_sequence(12, 400, ALPHA)
    for p in (interval.lower, interval.upper):
        assert log_mixture_ratio(12, 400, p) == pytest.approx(math.log(1 / ALPHA), abs=1e-6)
    assert interval.lower < 12 / 400 < interval.upper


def test_edges() -> None:
    assert confidence_sequence(0, 0, ALPHA) == confidence_sequence(0, 0, 0.01)
    assert confidence_sequence(0, 0, ALPHA).lower == 0.0
    assert confidence_sequence(0, 0, ALPHA).upper == 1.0
    assert confidence_sequence(0, 50, ALPHA).lower == 0.0
    assert confidence_sequence(50, 50, ALPHA).upper == 1.0
    assert log_mixture_ratio(1, 10, 0.0) == math.inf
    assert exceeds(0, 0, 0.1, ALPHA).rejected is False
    assert exceeds(5, 5, 0.0, ALPHA).rejected is True
    assert exceeds(5, 5, 0.0, ALPHA).e_value == 1e12
    with pytest.raises(ValueError, match="successes"):
        exceeds(5, 4, 0.1, ALPHA)
    with pytest.raises(ValueError, match="alpha"):
        confidence_sequence(1, 4, 1.5)
    with pytest.raises(ValueError, match="beta prior"):
        BetaPrior(0.0, 1.0)


def test_jeffreys_interval_is_wider_than_the_fixed_sample_jeffreys_interval() -> None:
    # Anytime validity costs width: the sequence is wider than a one-look interval.
    x, n = 30, 1000
    fixed = beta_dist.ppf([ALPHA / 2, 1 - ALPHA / 2], x + 0.5, n - x + 0.5)
    interval = confidence_sequence(x, n, ALPHA)
    assert interval.lower < fixed[0]
    assert interval.upper > fixed[1]


counts = st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))
nulls = st.floats(0.001, 0.999)
alphas = st.sampled_from([0.001, 0.01, 0.05, 0.2])


@settings(max_examples=200, deadline=None)
@given(counts, nulls, alphas)
def test_more_successes_never_weaken_the_evidence_that_the_rate_exceeds(
    xn: tuple[int, int], p0: float, alpha: float
) -> None:
    x, n = xn
    if x < n:
        less, more = exceeds(x, n, p0, alpha), exceeds(x + 1, n, p0, alpha)
        assert more.log_e_value >= less.log_e_value - 1e-9
        assert more.rejected or not less.rejected


@settings(max_examples=200, deadline=None)
@given(counts, alphas)
def test_intervals_contain_the_estimate_and_shrink_as_alpha_grows(
    xn: tuple[int, int], alpha: float
) -> None:
    x, n = xn
    narrow = confidence_sequence(x, n, min(0.5, alpha * 2))
    wide = confidence_sequence(x, n, alpha)
    assert 0.0 <= wide.lower <= narrow.lower <= x / n <= narrow.upper <= wide.upper <= 1.0


@settings(max_examples=200, deadline=None)
@given(counts, nulls, alphas)
def test_rejection_agrees_with_the_interval(xn: tuple[int, int], p0: float, alpha: float) -> None:
    x, n = xn
    interval = confidence_sequence(x, n, alpha)
    if exceeds(x, n, p0, alpha).rejected:
        assert p0 <= interval.lower + 1e-9
    elif p0 < interval.lower - 1e-9:
        pytest.fail(f"{p0} below the interval {interval} but not rejected")
    if falls_below(x, n, p0, alpha).rejected:
        assert p0 >= interval.upper - 1e-9

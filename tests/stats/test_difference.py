"""The per-window difference test: valid under every-tick looks and a drifting split, powerful
at small counts, and never stuck near 1 on a large, clearly worse step."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom

from rollwise.stats.difference import difference_log_e, difference_test

ALPHA = 0.05


def allowed_false_rate(runs: int) -> float:
    return float(binom.ppf(1 - 1e-3, runs, ALPHA)) / runs


def _looks(
    rng: np.random.Generator,
    ticks: int,
    share: np.ndarray,
    p_c: np.ndarray,
    p_b: np.ndarray,
    per_tick: int,
    window: int = 10,
) -> list[list[tuple[int, int, int, int]]]:
    """Per look (one a tick), the step's windows of ``window`` ticks so far."""
    n_c = rng.binomial(per_tick, share)
    n_b = per_tick - n_c
    x_c, x_b = rng.binomial(n_c, p_c), rng.binomial(n_b, p_b)
    looks = []
    for t in range(ticks):
        windows = []
        for k in range(0, t + 1, window):
            end = min(k + window, t + 1)
            windows.append(
                (
                    int(x_c[k:end].sum()),
                    int(n_c[k:end].sum()),
                    int(x_b[k:end].sum()),
                    int(n_b[k:end].sum()),
                )
            )
        looks.append(windows)
    return looks


def _first_failure(looks: list[list[tuple[int, int, int, int]]], bound: float) -> int | None:
    for windows in looks:
        if difference_test(windows, slope=1.0, intercept=bound, alpha=ALPHA).harmful:
            return sum(w[1] for w in windows)
    return None


@pytest.mark.slow  # a simulation
@pytest.mark.parametrize(
    ("canary_rate", "baseline_rate", "bound"),
    [(0.012, 0.01, 0.002), (0.015, 0.01, 0.005), (0.31, 0.3, 0.01)],
)
def test_false_failures_at_the_bound_stay_below_alpha(
    canary_rate: float, baseline_rate: float, bound: float
) -> None:
    rng = np.random.default_rng(7)
    runs, ticks = 400, 40
    ones = np.ones(ticks)
    failures = sum(
        _first_failure(
            _looks(rng, ticks, 0.1 * ones, canary_rate * ones, baseline_rate * ones, 1000), bound
        )
        is not None
        for _ in range(runs)
    )
    assert failures / runs <= allowed_false_rate(runs)


@pytest.mark.slow  # a simulation
def test_a_split_drifting_with_the_error_rate_does_not_fail_an_aa_canary() -> None:
    """Share 12% when errors are 1.8%, 8% when 0.2%: pooled, the canary's rate is 0.18 points
    above the baseline's; per window, a +0.1-point bound holds."""
    rng = np.random.default_rng(8)
    runs, ticks = 300, 60
    peak = (np.arange(ticks) % 20) < 10
    share, rate = np.where(peak, 0.12, 0.08), np.where(peak, 0.018, 0.002)
    failures = sum(
        _first_failure(_looks(rng, ticks, share, rate, rate, 2000), 0.001) is not None
        for _ in range(runs)
    )
    assert failures / runs <= allowed_false_rate(runs)


def _drift_windows(pairs: int) -> list[tuple[int, int, int, int]]:
    """Expected counts of the drifting A/A pattern, two windows (peak, night) a pair."""
    peak = (216, 12_000, 1_584, 88_000)  # 1.8% each, canary share 12%
    night = (16, 8_000, 184, 92_000)  # 0.2% each, canary share 8%
    return [peak, night] * pairs


def test_per_window_judging_removes_the_drifting_splits_bias() -> None:
    windows = _drift_windows(20)
    pooled = tuple(sum(w[i] for w in windows) for i in range(4))
    # pooled: 1.16% vs 0.98%, 0.18 points apart, against an allowed 0.1
    assert difference_test([pooled], slope=1.0, intercept=0.001, alpha=ALPHA).harmful
    per_window = difference_test(windows, slope=1.0, intercept=0.001, alpha=ALPHA)
    assert not per_window.harmful
    assert per_window.e_value == 1.0
    assert per_window.windows == 40


def test_a_large_clearly_worse_step_is_significant_at_any_size() -> None:
    """The failure of a bet on the rate difference's own scale: its best bet grows with the
    counts, so a capped or fixed grid stays near e-value 1 on large steps. The tilt here is
    per request: the evidence grows with the data."""
    small = difference_log_e([(25, 500, 45, 4_500)], slope=1.0, intercept=0.002)
    previous = small
    for scale in (10, 100, 1_000, 10_000):
        one = difference_log_e(
            [(25 * scale, 500 * scale, 45 * scale, 4_500 * scale)], slope=1.0, intercept=0.002
        )
        assert one > previous
        previous = one
    assert previous > 1e4
    many = [(500, 10_000, 900, 90_000)] * 200  # 2M canary requests, 5% vs 1%, 200 windows
    test = difference_test(many, slope=1.0, intercept=0.002, alpha=ALPHA)
    assert test.harmful
    assert test.log_e_value > 1e4
    # a success-rate style bound (slope below 1) at large counts too
    assert difference_test(
        [(800, 10_000, 300, 90_000)] * 50, slope=0.9, intercept=0.05, alpha=ALPHA
    ).harmful
    # just at the bound, large counts: no evidence
    at_bound = [(120, 10_000, 900, 90_000)] * 200
    assert not difference_test(at_bound, slope=1.0, intercept=0.002, alpha=ALPHA).harmful


def test_detects_five_percent_against_one_within_a_few_hundred_canary_requests() -> None:
    rng = np.random.default_rng(3)
    ones = np.ones(60)
    firsts = [
        _first_failure(_looks(rng, 60, 0.1 * ones, 0.05 * ones, 0.01 * ones, 100), 0.002)
        for _ in range(100)
    ]
    detected = [f for f in firsts if f is not None]
    assert len(detected) == 100
    assert float(np.median(detected)) < 300


def test_windows_without_both_variants_carry_no_evidence() -> None:
    assert difference_log_e([(5, 10, 0, 0), (0, 0, 3, 90)], slope=1.0, intercept=0.0) == 0.0
    with_empty = difference_log_e([(50, 1000, 90, 9000), (9, 9, 0, 0)], slope=1.0, intercept=0.002)
    assert with_empty == difference_log_e([(50, 1000, 90, 9000)], slope=1.0, intercept=0.002)
    assert difference_log_e([(50, 100, 0, 100)], slope=1.0, intercept=1.0) == 0.0


def test_invalid_input_is_refused() -> None:
    with pytest.raises(ValueError, match="slope"):
        difference_log_e([(0, 10, 0, 10)], slope=-1.0, intercept=0.0)
    with pytest.raises(ValueError, match="intercept"):
        difference_log_e([(0, 10, 0, 10)], slope=1.0, intercept=-0.1)
    with pytest.raises(ValueError, match="window canary"):
        difference_log_e([(11, 10, 0, 10)], slope=1.0, intercept=0.0)
    with pytest.raises(ValueError, match="window baseline"):
        difference_log_e([(1, 10, 0, -1)], slope=1.0, intercept=0.0)
    with pytest.raises(ValueError, match="alpha"):
        difference_test([(1, 10, 0, 10)], slope=1.0, intercept=0.0, alpha=1.0)


window = st.tuples(st.integers(1, 5_000), st.integers(1, 20_000)).flatmap(
    lambda n: st.tuples(st.integers(0, n[0]), st.just(n[0]), st.integers(0, n[1]), st.just(n[1]))
)


@settings(max_examples=150, deadline=None)
@given(st.lists(window, min_size=1, max_size=6), st.sampled_from([0.0, 0.002, 0.05]))
def test_more_canary_errors_and_fewer_baseline_errors_only_add_evidence(
    windows: list[tuple[int, int, int, int]], bound: float
) -> None:
    before = difference_log_e(windows, slope=1.0, intercept=bound)
    assert math.isfinite(before)
    x_c, n_c, x_b, n_b = windows[-1]
    if x_c < n_c:
        worse = [*windows[:-1], (x_c + 1, n_c, x_b, n_b)]
        assert difference_log_e(worse, slope=1.0, intercept=bound) >= before - 1e-9
    if x_b > 0:
        better_baseline = [*windows[:-1], (x_c, n_c, x_b - 1, n_b)]
        assert difference_log_e(better_baseline, slope=1.0, intercept=bound) >= before - 1e-9

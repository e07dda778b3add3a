"""One-sided tilt mixtures: valid under continuous monitoring (also with a null rate that
changes from window to window), sharper than the inverted two-sided mixture, and their
confidence bounds agree with the test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom

from rollwise.stats import LatencySketch, quantile_upper_bound
from rollwise.stats.onesided import (
    default_mixture,
    log_e_above,
    one_sided_lower,
    one_sided_upper,
    rate_above,
    rate_below,
)
from rollwise.stats.quantiles import quantile_lower_bound, quantile_within
from rollwise.stats.sequential import exceeds

ALPHA = 0.05


def allowed_false_rate(runs: int) -> float:
    return float(binom.ppf(1 - 1e-3, runs, ALPHA)) / runs


def test_the_mixture_weights_sum_to_one() -> None:
    for scale in (0.5, 1.0, 1.5):
        mixture = default_mixture(scale)
        assert math.fsum(math.exp(w) for w in mixture.log_weights) == pytest.approx(1.0)
        assert min(mixture.deltas) > 0
    with pytest.raises(ValueError, match="scale"):
        default_mixture(0.0)


@pytest.mark.slow  # a simulation
@pytest.mark.parametrize("p0", [0.01, 0.1, 0.5])
def test_false_rejections_stay_below_alpha_looking_after_every_batch(p0: float) -> None:
    rng = np.random.default_rng(int(p0 * 1000))
    runs, looks, batch = 400, 150, 20
    rejected = 0
    for _ in range(runs):
        successes = np.cumsum(rng.binomial(batch, p0, looks))
        for look in range(looks):
            if rate_above([(int(successes[look]), (look + 1) * batch, p0)], ALPHA).rejected:
                rejected += 1
                break
    assert rejected / runs <= allowed_false_rate(runs)


@pytest.mark.slow  # a simulation: many sequences of windows
def test_windows_with_different_null_rates_stay_valid() -> None:
    # each window's rate is exactly its own null rate, which drifts from window to window
    rng = np.random.default_rng(9)
    runs, windows, per_window = 300, 60, 40
    rejected = 0
    for _ in range(runs):
        rates = 0.05 + 0.2 * rng.random(windows)
        counts = rng.binomial(per_window, rates)
        data: list[tuple[int, int, float]] = []
        for k in range(windows):
            data.append((int(counts[k]), per_window, float(rates[k])))
            if rate_above(data, ALPHA).rejected:
                rejected += 1
                break
    assert rejected / runs <= allowed_false_rate(runs)


def test_one_sided_reaches_the_threshold_sooner_than_the_inverted_two_sided_mixture() -> None:
    rng = np.random.default_rng(4)
    one, two = [], []
    for _ in range(200):
        hits = np.cumsum(rng.binomial(1, 0.2, 2000))
        n_one = n_two = None
        for n in range(1, 2001):
            x = int(hits[n - 1])
            if n_one is None and rate_above([(x, n, 0.1)], ALPHA).rejected:
                n_one = n
            if n_two is None and exceeds(x, n, 0.1, ALPHA).rejected:
                n_two = n
            if n_one and n_two:
                break
        one.append(n_one or 2001)
        two.append(n_two or 2001)
    assert np.median(one) < 0.9 * np.median(two)


def test_the_mirror_test_and_the_bounds_agree_with_the_test() -> None:
    assert rate_below([(2, 1000, 0.01)], ALPHA).rejected
    assert not rate_below([(9, 1000, 0.01)], ALPHA).rejected
    for successes, trials in [(5, 100), (50, 1000), (10, 10), (3, 10_000)]:
        lower = one_sided_lower(successes, trials, ALPHA)
        upper = one_sided_upper(successes, trials, ALPHA)
        assert 0.0 <= lower <= successes / trials <= upper <= 1.0
        if lower > 0:
            assert rate_above([(successes, trials, lower * 0.99)], ALPHA).rejected
        assert not rate_above([(successes, trials, lower * 1.01 + 1e-9)], ALPHA).rejected
    assert one_sided_lower(0, 10, ALPHA) == 0.0
    assert one_sided_upper(10, 10, ALPHA) == 1.0


def test_windows_without_information_are_neutral_and_bad_input_is_refused() -> None:
    assert log_e_above([]) == 0.0
    assert log_e_above([(0, 0, 0.3), (5, 5, 1.0), (0, 7, 0.0)]) == 0.0
    with pytest.raises(ValueError, match="successes"):
        log_e_above([(3, 2, 0.5)])
    with pytest.raises(ValueError, match="null rate"):
        log_e_above([(1, 2, 1.5)])
    with pytest.raises(ValueError, match="alpha"):
        rate_above([(1, 2, 0.5)], 0.0)


def _sketch(values: np.ndarray) -> LatencySketch:
    sketch = LatencySketch()
    for value in values:
        sketch.add(float(value))
    return sketch


def test_quantile_bounds_cover_the_true_quantile() -> None:
    rng = np.random.default_rng(2)
    true_p95 = 0.1 * math.exp(0.5 * 1.6448536269514722)
    misses = 0
    runs = 60
    for _ in range(runs):
        sketch = _sketch(rng.lognormal(math.log(0.1), 0.5, 3000))
        lower = quantile_lower_bound(sketch, 0.95, ALPHA)
        upper = quantile_upper_bound(sketch, 0.95, ALPHA)
        assert lower is not None
        assert upper is not None
        assert lower <= upper
        misses += not lower <= true_p95 <= upper
    assert misses / runs <= allowed_false_rate(runs) * 2
    few = quantile_lower_bound(_sketch(np.array([0.1] * 5)), 0.95, ALPHA)
    assert few is not None
    assert few <= 0.1
    assert quantile_lower_bound(_sketch(np.array([0.1])), 0.95, 0.001) is None


def test_quantile_within_confirms_only_with_room_below_the_bound() -> None:
    rng = np.random.default_rng(8)
    base = _sketch(rng.lognormal(math.log(0.1), 0.5, 20_000))
    same = _sketch(rng.lognormal(math.log(0.1), 0.5, 20_000))
    worse = _sketch(1.5 * rng.lognormal(math.log(0.1), 0.5, 20_000))
    confirmed, upper, allowed = quantile_within(
        same, 0.95, 0.0, ALPHA, base, max_increase=0.2, factor=1.2
    )
    assert confirmed
    assert upper is not None
    assert allowed is not None
    assert upper < allowed
    assert not quantile_within(worse, 0.95, 0.0, ALPHA, base, max_increase=0.2, factor=1.2)[0]
    assert quantile_within(same, 0.95, 0.5, ALPHA)[0]
    assert not quantile_within(same, 0.95, 0.15, ALPHA)[0]

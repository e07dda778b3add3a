"""Quantile tests on sketches: coverage under many looks, false failures, power, counting."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom

from rollwise.stats import (
    LatencySketch,
    count_above,
    quantile_bound_test,
    quantile_comparison_test,
    quantile_min_samples,
    quantile_upper_bound,
)
from rollwise.stats.onesided import default_mixture, log_e_curve
from rollwise.stats.quantiles import (
    BASELINE_FLOOR,
    BASELINE_SCALE,
    CANARY_SCALE,
    counts_above,
    profile_log_e,
)

ALPHA = 0.05
ACCURACY = 0.01
LOG_GAMMA = math.log((1 + ACCURACY) / (1 - ACCURACY))
MEDIAN, SIGMA = 0.1, 0.5
LOW, HIGH = -1500, 500  # bucket indexes the simulated latencies can reach


def allowed_false_rate(runs: int) -> float:
    return float(binom.ppf(1 - 1e-3, runs, ALPHA)) / runs


class Cumulative:
    """Bucket counts of lognormal latencies, turned into a real sketch at each look."""

    def __init__(self) -> None:
        self.counts = np.zeros(HIGH - LOW + 1, dtype=np.int64)
        self.total, self.low, self.high = 0.0, math.inf, 0.0

    def add(self, values: np.ndarray) -> None:
        index = np.clip(np.ceil(np.log(values) / LOG_GAMMA).astype(np.int64), LOW, HIGH)
        self.counts += np.bincount(index - LOW, minlength=len(self.counts))
        self.total += float(values.sum())
        self.low, self.high = min(self.low, float(values.min())), max(self.high, values.max())

    def sketch(self) -> LatencySketch:
        occupied = np.nonzero(self.counts)[0]
        first, last = int(occupied[0]), int(occupied[-1])
        return LatencySketch.from_dict(
            {
                "accuracy": ACCURACY,
                "offset": first + LOW,
                "bins": self.counts[first : last + 1].tolist(),
                "zero_count": 0,
                "count": int(self.counts.sum()),
                "sum": self.total,
                "min": self.low,
                "max": float(self.high),
            }
        )


def latencies(rng: np.random.Generator, n: int, scale: float = 1.0) -> np.ndarray:
    return scale * rng.lognormal(math.log(MEDIAN), SIGMA, n)


def true_quantile(q: float, scale: float = 1.0) -> float:
    from scipy.stats import norm

    return scale * MEDIAN * math.exp(SIGMA * float(norm.ppf(q)))


def test_min_samples_leave_ten_expected_values_above_the_quantile() -> None:
    assert [quantile_min_samples(q) for q in (0.5, 0.95, 0.99)] == [20, 200, 1000]
    with pytest.raises(ValueError, match="quantile"):
        quantile_min_samples(1.0)


@pytest.mark.slow  # a simulation
def test_upper_bound_covers_the_true_quantile_at_every_look() -> None:
    rng = np.random.default_rng(17)
    runs, looks, per_look = 300, 30, 100
    truth = true_quantile(0.95)
    missed = 0
    for _ in range(runs):
        data = Cumulative()
        for _ in range(looks):
            data.add(latencies(rng, per_look))
            bound = quantile_upper_bound(data.sketch(), 0.95, ALPHA)
            if bound is not None and bound < truth:
                missed += 1
                break
    assert missed / runs <= allowed_false_rate(runs)


def test_upper_bound_needs_enough_values_and_tightens_with_more() -> None:
    rng = np.random.default_rng(2)
    data = Cumulative()
    data.add(latencies(rng, 30))
    assert quantile_upper_bound(data.sketch(), 0.99, ALPHA) is None
    data.add(latencies(rng, 5000))
    early = quantile_upper_bound(data.sketch(), 0.95, ALPHA)
    data.add(latencies(rng, 50000))
    late = quantile_upper_bound(data.sketch(), 0.95, ALPHA)
    assert early is not None
    assert late is not None
    assert true_quantile(0.95) <= late <= early
    assert late < true_quantile(0.95) * 1.05


def run_comparison(
    rng: np.random.Generator, scale: float, ticks: int, increase: float
) -> int | None:
    """Canary values at the first look whose comparison test fails (None: never)."""
    canary, baseline = Cumulative(), Cumulative()
    seen = 0
    for _ in range(ticks):
        n_c = int(rng.binomial(1000, 0.1))
        canary.add(latencies(rng, n_c, scale))
        baseline.add(latencies(rng, 1000 - n_c))
        seen += n_c
        if seen < quantile_min_samples(0.95):
            continue
        test, _ = quantile_comparison_test(
            canary.sketch(), baseline.sketch(), 0.95, max_increase=increase, alpha=ALPHA
        )
        if test.harmful:
            return seen
    return None


@pytest.mark.slow  # a simulation: many sequences of looks
@pytest.mark.timeout(900)  # a busy 2-core machine: bounds are failure limits only
@pytest.mark.parametrize(("scale", "increase"), [(1.0, 0.0), (1.2, 0.2)])
def test_comparison_false_failures_stay_below_alpha_looking_every_tick(
    scale: float, increase: float
) -> None:
    rng = np.random.default_rng(31)
    runs = 300
    failures = sum(run_comparison(rng, scale, 30, increase) is not None for _ in range(runs))
    assert failures / runs <= allowed_false_rate(runs)


def test_comparison_detects_latencies_half_again_as_slow() -> None:
    rng = np.random.default_rng(8)
    firsts = [run_comparison(rng, 1.5, 40, 0.2) for _ in range(60)]
    detected = [f for f in firsts if f is not None]
    assert len(detected) >= 57
    assert float(np.median(detected)) < 2000


def test_absolute_bound_fails_only_when_the_tail_is_significantly_slower() -> None:
    rng = np.random.default_rng(4)
    data = Cumulative()
    data.add(latencies(rng, 2000))
    sketch = data.sketch()
    p95 = true_quantile(0.95)
    slow = quantile_bound_test(sketch, 0.95, p95 / 1.5, ALPHA)
    assert slow.harmful
    assert slow.share_above is not None
    assert slow.share_above > 0.05
    assert not quantile_bound_test(sketch, 0.95, p95 * 1.2, ALPHA).harmful
    assert not quantile_bound_test(sketch, 0.95, p95, ALPHA).harmful


def test_an_unbounded_baseline_means_the_comparison_cannot_fail_yet() -> None:
    rng = np.random.default_rng(5)
    canary, baseline = Cumulative(), Cumulative()
    canary.add(latencies(rng, 2000, scale=3.0))
    baseline.add(latencies(rng, 20))
    test, upper = quantile_comparison_test(
        canary.sketch(), baseline.sketch(), 0.99, max_increase=0.0, alpha=ALPHA
    )
    assert upper is None
    assert test.threshold is None
    assert not test.harmful


values = st.lists(st.floats(1e-6, 100.0), min_size=1, max_size=300)
unfolded = st.lists(st.floats(1e-4, 100.0), min_size=1, max_size=300)
"""Values within the range a sketch holds without folding its lowest buckets (800 bins at
1%: a ratio of about 10^7 between the largest and the smallest value); a folded bucket
counts its values at the lowest kept one, which the lower bound below does not allow for."""


@settings(max_examples=200, deadline=None)
@given(unfolded, st.floats(1e-6, 100.0))
def test_count_above_never_counts_a_value_at_or_below_the_threshold(
    xs: list[float], threshold: float
) -> None:
    sketch = LatencySketch(ACCURACY)
    for x in xs:
        sketch.add(x)
    counted = count_above(sketch, threshold)
    assert counted <= sum(x > threshold for x in xs)
    gamma = (1 + ACCURACY) / (1 - ACCURACY)
    assert counted >= sum(x > threshold * gamma * gamma for x in xs)


@settings(max_examples=100, deadline=None)
@given(values, st.floats(1e-5, 1.0))
def test_count_above_stays_conservative_when_low_buckets_are_folded(
    xs: list[float], tiny: float
) -> None:
    sketch = LatencySketch(ACCURACY, max_bins=20)  # folds everything below the top 20 buckets
    for x in [*xs, tiny]:
        sketch.add(x)
    for threshold in (tiny / 2, tiny, min(xs), float(np.median(xs))):
        assert count_above(sketch, threshold) <= sum(x > threshold for x in [*xs, tiny])


@settings(max_examples=100, deadline=None)
@given(values, st.floats(1.0, 3.0))
def test_a_slower_canary_never_looks_better(xs: list[float], slowdown: float) -> None:
    base, canary, slower = LatencySketch(), LatencySketch(), LatencySketch()
    for x in xs:
        base.add(x)
        canary.add(x)
        slower.add(x * slowdown)
    before, _ = quantile_comparison_test(canary, base, 0.5, max_increase=0.1, alpha=0.2)
    after, _ = quantile_comparison_test(slower, base, 0.5, max_increase=0.1, alpha=0.2)
    assert after.above >= before.above
    assert after.harmful or not before.harmful


def split_alpha_fails(canary: LatencySketch, baseline: LatencySketch, increase: float) -> bool:
    """The construction the profile test replaced: the baseline's p95 bounded at 0.3 alpha,
    then the canary tested at 1 + increase times that bound at 0.7 alpha."""
    upper = quantile_upper_bound(baseline, 0.95, 0.3 * ALPHA)
    if upper is None:
        return False
    return quantile_bound_test(canary, 0.95, (1 + increase) * upper, 0.7 * ALPHA).harmful


def test_the_profile_test_detects_sooner_than_splitting_alpha() -> None:
    """Power as counts over seeded steps (a look every 50 canary requests): the profile test
    fails first, or together, in nearly every step, and in fewer requests on the median."""
    rng = np.random.default_rng(12)
    profile_first: list[int] = []
    split_first: list[int] = []
    for _ in range(40):
        canary, baseline = Cumulative(), Cumulative()
        seen, found = 0, {"profile": 0, "split": 0}
        for _ in range(60):
            canary.add(latencies(rng, 50, 1.5))
            baseline.add(latencies(rng, 450))
            seen += 50
            if seen < quantile_min_samples(0.95):
                continue
            c, b = canary.sketch(), baseline.sketch()
            test, _ = quantile_comparison_test(c, b, 0.95, max_increase=0.2, alpha=ALPHA)
            if not found["profile"] and test.harmful:
                found["profile"] = seen
            if not found["split"] and split_alpha_fails(c, b, 0.2):
                found["split"] = seen
            if found["profile"] and found["split"]:
                break
        profile_first.append(found["profile"] or 10**9)
        split_first.append(found["split"] or 10**9)
    sooner_or_same = sum(p <= q for p, q in zip(profile_first, split_first, strict=True))
    assert sooner_or_same >= 36
    assert float(np.median(profile_first)) < float(np.median(split_first))


def test_the_profile_is_the_exact_minimum_over_every_candidate_quantile() -> None:
    rng = np.random.default_rng(3)
    for scale, increase, difference in ((1.0, 0.2, 0.0), (1.4, 0.2, 0.0), (2.0, 0.0, 0.01)):
        canary, baseline = Cumulative(), Cumulative()
        canary.add(latencies(rng, 400, scale))
        baseline.add(latencies(rng, 3600))
        c, b = canary.sketch(), baseline.sketch()
        got, where = profile_log_e(c, b, 0.95, max_increase=increase, max_difference=difference)
        below, seen, uppers = [0], 0, []
        for _lower, upper, count in b.bucket_bounds():
            seen += count
            below.append(seen)
            uppers.append(upper)
        above = [count_above(c, (1 + increase) * u + difference) for u in uppers] + [0]
        e_b = log_e_curve(b.count, 0.95, default_mixture(BASELINE_SCALE))
        e_c = log_e_curve(c.count, 0.05, default_mixture(CANARY_SCALE))
        floor = math.log(BASELINE_FLOOR)
        sums = [
            np.logaddexp(floor, math.log1p(-BASELINE_FLOOR) + e_b(x)) + e_c(y)
            for x, y in zip(below, above, strict=True)
        ]
        assert got == pytest.approx(min(sums), abs=1e-9)
        assert where in [*uppers, math.inf]


@settings(max_examples=100, deadline=None)
@given(values, st.lists(st.floats(1e-7, 200.0), min_size=1, max_size=20))
def test_counts_above_agrees_with_count_above(xs: list[float], thresholds: list[float]) -> None:
    sketch = LatencySketch(ACCURACY, max_bins=64)  # may fold the lowest buckets
    for x in xs:
        sketch.add(x)
    ordered = sorted(thresholds)
    assert counts_above(sketch, ordered) == [count_above(sketch, t) for t in ordered]

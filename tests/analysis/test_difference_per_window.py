"""The difference gate judged per window, through judge_step: a split drifting in phase with
the error rate (issue 12, item 2) no longer biases it, and a large, clearly worse step is
significant at any size (the failure of the per-window attempt that was removed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy.stats import binom

from rollwise.analysis import Decision, VariantMetrics, WindowCounts, judge_step
from rollwise.core.gates import Gate, GateMetric

ALPHA = 0.05
T0 = datetime(2026, 1, 1, tzinfo=UTC)
TIGHT = Gate(metric=GateMetric.ERROR_RATE, max_difference=0.001, alpha=ALPHA)
PEAK = (216, 12_000, 1_584, 88_000)  # errors 1.8% in both variants, canary share 12%
NIGHT = (16, 8_000, 184, 92_000)  # 0.2% in both, share 8%


def _variants(
    windows: list[tuple[int, int, int, int]], per_window: bool = True
) -> tuple[VariantMetrics, VariantMetrics]:
    """(baseline, canary) over the windows ``(x_c, n_c, x_b, n_b)``, one a minute."""
    starts = [T0 + timedelta(minutes=k) for k in range(len(windows))]
    one = timedelta(minutes=1)
    wc = tuple(WindowCounts(s, s + one, w[1], w[0]) for s, w in zip(starts, windows, strict=True))
    wb = tuple(WindowCounts(s, s + one, w[3], w[2]) for s, w in zip(starts, windows, strict=True))
    baseline = VariantMetrics(
        "legacy", sum(w[3] for w in windows), sum(w[2] for w in windows),
        windows=wb if per_window else None,
    )  # fmt: skip
    canary = VariantMetrics(
        "domain", sum(w[1] for w in windows), sum(w[0] for w in windows),
        windows=wc if per_window else None,
    )  # fmt: skip
    return baseline, canary


def _judge(gate: Gate, baseline: VariantMetrics, canary: VariantMetrics) -> Decision:
    return judge_step([gate], baseline, canary, min_samples=100, bake_elapsed=False).decision


def test_a_drifting_split_biases_the_pooled_step_but_not_the_windows() -> None:
    windows = [PEAK, NIGHT] * 20  # identical rates in every window; pooled 1.16% vs 0.98%
    per_window = judge_step([TIGHT], *_variants(windows), min_samples=100, bake_elapsed=False)
    assert per_window.decision is Decision.HOLD, per_window.summary
    evidence = per_window.gates[0].evidence
    assert (evidence["windows"], evidence["pooled"]) == (40, False)
    check = evidence["checks"][0]
    assert check["test"] == "difference_mixture"
    assert check["statistic"] == 1.0
    assert check["threshold"] == pytest.approx(20.0)
    # the same counts pooled: the confounded step is rolled back
    assert _judge(TIGHT, *_variants(windows, per_window=False)) is Decision.ROLLBACK


def test_a_large_clearly_worse_step_is_rolled_back_per_window() -> None:
    """Regression: a per-window difference test that bet on the rate difference's own scale
    returned e-value 1 on large steps like this one (2M canary requests, 5% vs 1%)."""
    windows = [(500, 10_000, 900, 90_000)] * 200
    judgement = judge_step([TIGHT], *_variants(windows), min_samples=100, bake_elapsed=False)
    assert judgement.decision is Decision.ROLLBACK
    check = judgement.gates[0].evidence["checks"][0]
    assert check["verdict"] == "fail"
    assert check["statistic"] >= 1e12  # capped for JSON; the evidence is overwhelming
    one_window = [(100_000, 2_000_000, 180_000, 18_000_000)]
    assert _judge(TIGHT, *_variants(one_window)) is Decision.ROLLBACK


def test_a_small_worse_step_is_rolled_back_per_window() -> None:
    windows = [(5, 100, 9, 900), (6, 100, 8, 900), (5, 100, 10, 900)]
    assert _judge(TIGHT, *_variants(windows)) is Decision.ROLLBACK
    calm = [(1, 100, 9, 900), (2, 100, 8, 900), (1, 100, 10, 900)]
    assert _judge(TIGHT, *_variants(calm)) is not Decision.ROLLBACK


@pytest.mark.slow  # a simulation
def test_an_aa_canary_under_a_drifting_split_is_not_rolled_back_by_a_tight_difference() -> None:
    rng = np.random.default_rng(21)
    runs, ticks = 80, 30
    rolled = 0
    for _ in range(runs):
        peak = (np.arange(ticks) % 10) < 5
        n_c = rng.binomial(30_000, np.where(peak, 0.12, 0.08))
        n_b = 30_000 - n_c
        p = np.where(peak, 0.018, 0.002)
        x_c, x_b = rng.binomial(n_c, p), rng.binomial(n_b, p)
        for t in range(ticks):
            windows = [(int(x_c[k]), int(n_c[k]), int(x_b[k]), int(n_b[k])) for k in range(t + 1)]
            if _judge(TIGHT, *_variants(windows)) is Decision.ROLLBACK:
                rolled += 1
                break
    assert rolled / runs <= binom.ppf(1 - 1e-3, runs, ALPHA) / runs

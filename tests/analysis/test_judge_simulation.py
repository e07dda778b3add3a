"""The whole judge, asked every tick on cumulative data: false rollbacks stay below alpha."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom

from rollwise.analysis import Decision, VariantMetrics, judge_step
from rollwise.core.gates import Gate, GateMetric

ALPHA = 0.05


@pytest.mark.slow  # a simulation: thousands of steps judged every tick
def test_a_two_bound_gate_at_its_boundary_rolls_back_at_most_alpha_of_steps() -> None:
    # Canary and baseline both fail 1% of requests: exactly at "max 1%" and "no increase".
    gate = Gate(metric=GateMetric.ERROR_RATE, max=0.01, max_increase=0.0, alpha=ALPHA)
    rng = np.random.default_rng(2025)
    runs, ticks = 500, 40
    rollbacks = 0
    for _ in range(runs):
        n_c = np.cumsum(rng.binomial(1000, 0.1, ticks))
        n_b = np.arange(1, ticks + 1) * 1000 - n_c
        x_c = np.cumsum(rng.binomial(np.diff(n_c, prepend=0), 0.01))
        x_b = np.cumsum(rng.binomial(np.diff(n_b, prepend=0), 0.01))
        for t in range(ticks):
            judgement = judge_step(
                [gate],
                VariantMetrics("legacy", int(n_b[t]), int(x_b[t])),
                VariantMetrics("domain", int(n_c[t]), int(x_c[t])),
                min_samples=100,
                bake_elapsed=True,
            )
            if judgement.decision is Decision.ROLLBACK:
                rollbacks += 1
                break
    assert rollbacks / runs <= binom.ppf(1 - 1e-3, runs, ALPHA) / runs


def test_a_clearly_worse_canary_is_rolled_back_within_the_step() -> None:
    gate = Gate(metric=GateMetric.ERROR_RATE, max=0.01, max_increase=0.0, alpha=ALPHA)
    rng = np.random.default_rng(6)
    caught = []
    for _ in range(100):
        seen = errors = base_seen = base_errors = 0
        for _tick in range(40):
            n_c = int(rng.binomial(1000, 0.1))
            seen, errors = seen + n_c, errors + int(rng.binomial(n_c, 0.05))
            base_seen += 1000 - n_c
            base_errors += int(rng.binomial(1000 - n_c, 0.01))
            judgement = judge_step(
                [gate],
                VariantMetrics("legacy", base_seen, base_errors),
                VariantMetrics("domain", seen, errors),
                min_samples=100,
                bake_elapsed=False,
            )
            if judgement.decision is Decision.ROLLBACK:
                caught.append(seen)
                break
    assert len(caught) == 100
    assert float(np.median(caught)) < 1000

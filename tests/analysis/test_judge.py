"""The canary judge: verdicts, decisions, no-data handling and the evidence it records."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollwise.analysis import (
    ComparisonCounts,
    CustomValue,
    Decision,
    InvalidMetricsError,
    StepJudgement,
    VariantMetrics,
    Verdict,
    judge_gate,
    judge_step,
)
from rollwise.core.gates import Gate, GateMetric
from rollwise.errors import ProviderError, RollwiseError
from rollwise.stats import LatencySketch

ERRORS = Gate(metric=GateMetric.ERROR_RATE, max_increase=0.2)
P95 = Gate(metric=GateMetric.LATENCY_P95, max_increase=0.2)


def sketch(n: int, scale: float = 1.0, seed: int = 0) -> LatencySketch:
    result = LatencySketch()
    for value in np.random.default_rng(seed).lognormal(math.log(0.1 * scale), 0.5, n):
        result.add(float(value))
    return result


def variants(
    *,
    base: tuple[int, int] = (9000, 90),
    canary: tuple[int, int] = (1000, 10),
    latency: tuple[float, float] | None = None,
    **canary_fields: Any,
) -> tuple[VariantMetrics, VariantMetrics]:
    b_latency = c_latency = None
    if latency is not None:
        b_latency = sketch(base[0], latency[0], seed=1)
        c_latency = sketch(canary[0], latency[1], seed=2)
    baseline = VariantMetrics("legacy", base[0], base[1], latency=b_latency)
    return baseline, VariantMetrics(
        "domain", canary[0], canary[1], latency=c_latency, **canary_fields
    )


def as_json(judgement: StepJudgement) -> dict[str, Any]:
    encoded = json.dumps(judgement.to_dict(), allow_nan=False)
    decoded: dict[str, Any] = json.loads(encoded)
    return decoded


def test_a_significantly_worse_canary_is_rolled_back_even_while_baking() -> None:
    baseline, canary = variants(canary=(1000, 50))
    judgement = judge_step([ERRORS], baseline, canary, min_samples=100, bake_elapsed=False)
    assert judgement.decision is Decision.ROLLBACK
    assert judgement.failed[0].gate == "error_rate"
    assert judgement.summary.startswith("rollback: error_rate")


def test_a_healthy_canary_holds_while_baking_and_is_promoted_after() -> None:
    baseline, canary = variants(canary=(1000, 9), latency=(1.0, 1.0))
    gates = [ERRORS, P95]
    baking = judge_step(gates, baseline, canary, min_samples=100, bake_elapsed=False)
    assert baking.decision is Decision.HOLD
    assert "baking" in baking.summary
    done = judge_step(gates, baseline, canary, min_samples=100, bake_elapsed=True)
    assert done.decision is Decision.PROMOTE
    assert [g.verdict for g in done.gates] == [Verdict.PASS, Verdict.PASS]


def test_an_estimate_above_the_bound_without_significance_holds() -> None:
    baseline, canary = variants(canary=(1000, 14))  # 1.4% vs 1%: above 1.2x, not significant
    judgement = judge_step([ERRORS], baseline, canary, min_samples=100, bake_elapsed=True)
    assert judgement.decision is Decision.HOLD
    assert judgement.gates[0].verdict is Verdict.HOLD
    assert "not significant" in judgement.gates[0].reason


def test_too_few_samples_is_no_data_never_a_pass_or_a_failure() -> None:
    baseline, canary = variants(canary=(50, 50))  # every canary request failed, but only 50
    judgement = judge_step([ERRORS], baseline, canary, min_samples=100, bake_elapsed=True)
    assert judgement.decision is Decision.NO_DATA
    assert judgement.gates[0].verdict is Verdict.NO_DATA
    assert "50 of 100" in judgement.summary
    baseline, canary = variants(base=(60, 0), canary=(1000, 10))
    judgement = judge_step([ERRORS], baseline, canary, min_samples=100, bake_elapsed=True)
    assert judgement.decision is Decision.NO_DATA
    assert "baseline has 60 of 100" in judgement.gates[0].reason


def test_step_minimum_applies_without_gates_too() -> None:
    baseline, canary = variants(canary=(99, 0))
    assert judge_step([], baseline, canary, min_samples=100, bake_elapsed=True).decision is (
        Decision.NO_DATA
    )
    baseline, canary = variants(canary=(100, 0))
    done = judge_step([], baseline, canary, min_samples=100, bake_elapsed=True)
    assert done.decision is Decision.PROMOTE
    assert "no gates" in done.summary


def test_a_gate_minimum_overrides_the_rollout_minimum() -> None:
    strict = Gate(metric=GateMetric.ERROR_RATE, max_increase=0.2, min_samples=5000)
    baseline, canary = variants(canary=(1000, 10))
    result = judge_gate(strict, baseline, canary, min_samples=100)
    assert result.verdict is Verdict.NO_DATA
    assert result.evidence["min_samples"] == 5000


def test_no_data_outranks_hold_and_failure_outranks_everything() -> None:
    _, canary = variants(canary=(1000, 14), latency=(1.0, 1.0))
    p99 = Gate(metric=GateMetric.LATENCY_P99, max_increase=0.5)  # needs 1000 per variant
    short_baseline = VariantMetrics("legacy", 9000, 90, latency=sketch(500))
    judgement = judge_step(
        [ERRORS, p99], short_baseline, canary, min_samples=100, bake_elapsed=True
    )
    assert [g.verdict for g in judgement.gates] == [Verdict.HOLD, Verdict.NO_DATA]
    assert judgement.decision is Decision.NO_DATA
    _, bad = variants(canary=(1000, 60))
    judgement = judge_step([ERRORS, p99], short_baseline, bad, min_samples=100, bake_elapsed=True)
    assert judgement.decision is Decision.ROLLBACK


def test_relative_bounds_without_a_baseline_are_no_data_absolute_ones_still_judged() -> None:
    _, canary = variants(canary=(1000, 50))
    relative = judge_gate(ERRORS, None, canary, min_samples=100)
    assert relative.verdict is Verdict.NO_DATA
    assert "baseline" in relative.reason
    absolute = Gate(metric=GateMetric.ERROR_RATE, max=0.01)
    assert judge_gate(absolute, None, canary, min_samples=100).verdict is Verdict.FAIL
    judgement = judge_step([absolute], None, canary, min_samples=100, bake_elapsed=True)
    assert judgement.samples == {"baseline": None, "canary": 1000}


def test_rate_evidence_has_samples_rates_statistic_threshold_alpha_and_verdict() -> None:
    baseline, canary = variants(canary=(1000, 50))
    gate = Gate(name="errors", metric=GateMetric.ERROR_RATE, max_increase=0.2, max=0.02)
    data = as_json(judge_step([gate], baseline, canary, min_samples=100, bake_elapsed=False))
    assert data["decision"] == "rollback"
    result = data["gates"][0]
    assert result["gate"] == "errors"
    assert result["metric"] == "error_rate"
    assert result["verdict"] == "fail"
    evidence = result["evidence"]
    assert evidence["samples"] == {"canary": 1000, "baseline": 9000}
    assert evidence["canary"] == {"trials": 1000, "bad": 50, "rate": 0.05}
    assert evidence["baseline"] == {"trials": 9000, "bad": 90, "rate": 0.01}
    assert evidence["alpha"] == 0.05
    checks = {check["bound"]: check for check in evidence["checks"]}
    assert set(checks) == {"max", "max_increase"}
    for check in checks.values():
        assert check["alpha"] == 0.025  # two bounds share the gate's alpha
        assert check["threshold"] == 40.0
        assert check["statistic"] >= 40.0
        assert check["verdict"] == "fail"
        assert check["reason"]
    ratio = checks["max_increase"]
    assert ratio["test"] == "conditional_binomial_mixture"
    assert ratio["bad_rate_ratio"] == 5.0
    assert 1.2 < ratio["bad_rate_ratio_lower_bound"] < 5.0
    assert ratio["allowed"] == pytest.approx(0.012)
    low, high = checks["max"]["confidence_sequence"]
    assert 0.02 < low < 0.05 < high


def test_latency_evidence_and_verdicts_on_synthetic_sketches() -> None:
    baseline, slow = variants(base=(9000, 0), canary=(1500, 0), latency=(1.0, 2.0))
    result = judge_gate(P95, baseline, slow, min_samples=100)
    assert result.verdict is Verdict.FAIL
    check = result.evidence["checks"][0]
    assert check["test"] == "quantile_share_above"
    assert check["max_share_above"] == pytest.approx(0.05)
    assert check["share_above"] > 0.05
    assert check["baseline_upper_bound"] >= result.evidence["baseline"]["p95"]
    assert check["latency_threshold"] == pytest.approx(
        1.2 * check["baseline_upper_bound"], rel=1e-5
    )
    assert result.evidence["canary"]["p95"] > 1.8 * result.evidence["baseline"]["p95"]
    assert result.evidence["unit"] == "seconds"
    json.dumps(result.to_dict(), allow_nan=False)
    baseline, same = variants(base=(9000, 0), canary=(1500, 0), latency=(1.0, 1.0))
    assert judge_gate(P95, baseline, same, min_samples=100).verdict is Verdict.PASS
    ceiling = Gate(metric=GateMetric.LATENCY_P95, max=0.1)  # p95 is ~0.23 s
    assert judge_gate(ceiling, None, same, min_samples=100).verdict is Verdict.FAIL
    roomy = Gate(metric=GateMetric.LATENCY_P95, max=1.0)
    assert judge_gate(roomy, None, same, min_samples=100).verdict is Verdict.PASS


@pytest.mark.parametrize("metric", [GateMetric.LATENCY_P50, GateMetric.LATENCY_P99])
def test_every_latency_quantile_fails_a_slow_canary_and_passes_a_same_one(
    metric: GateMetric,
) -> None:
    gate = Gate(metric=metric, max_increase=0.5)
    baseline, slow = variants(base=(9000, 0), canary=(3000, 0), latency=(1.0, 2.0))
    failed = judge_gate(gate, baseline, slow, min_samples=100)
    assert failed.verdict is Verdict.FAIL
    quantile = {"latency_p50": "p50", "latency_p99": "p99"}[metric.value]
    assert failed.evidence["canary"][quantile] > 1.8 * failed.evidence["baseline"][quantile]
    baseline, same = variants(base=(9000, 0), canary=(3000, 0), latency=(1.0, 1.0))
    assert judge_gate(gate, baseline, same, min_samples=100).verdict is Verdict.PASS


def test_latency_needs_enough_samples_for_its_quantile() -> None:
    baseline, canary = variants(base=(9000, 0), canary=(900, 0), latency=(1.0, 3.0))
    p99 = Gate(metric=GateMetric.LATENCY_P99, max_increase=0.2)
    result = judge_gate(p99, baseline, canary, min_samples=100)
    assert result.verdict is Verdict.NO_DATA
    assert "900 of 1000" in result.reason
    no_sketch = VariantMetrics("domain", 5000, 0)
    assert judge_gate(P95, baseline, no_sketch, min_samples=100).verdict is Verdict.NO_DATA


def test_success_rate_bounds_read_lower_as_worse() -> None:
    baseline, canary = variants(base=(9000, 90), canary=(2000, 100))  # 99% vs 95%
    floor = Gate(metric=GateMetric.SUCCESS_RATE, min=0.99)
    result = judge_gate(floor, baseline, canary, min_samples=100)
    assert result.verdict is Verdict.FAIL
    assert result.evidence["canary"]["rate"] == pytest.approx(0.95)
    assert result.evidence["bad_events"] == "failures"
    relative = Gate(metric=GateMetric.SUCCESS_RATE, max_increase=0.01)  # >= 98.01%
    assert judge_gate(relative, baseline, canary, min_samples=100).verdict is Verdict.FAIL
    strict = Gate(metric=GateMetric.SUCCESS_RATE, max_increase=0.0)  # conditional test
    assert judge_gate(strict, baseline, canary, min_samples=100).verdict is Verdict.FAIL
    _, good = variants(canary=(2000, 16))  # 99.2%
    for gate in (floor, relative, strict):
        assert judge_gate(gate, baseline, good, min_samples=100).verdict is Verdict.PASS


def test_mismatch_rate_is_judged_on_comparisons() -> None:
    gate = Gate(metric=GateMetric.MISMATCH_RATE, max=0.01)
    _, canary = variants(comparisons=ComparisonCounts(total=2000, mismatches=80, fallbacks=3))
    result = judge_gate(gate, None, canary, min_samples=100)
    assert result.verdict is Verdict.FAIL
    assert result.evidence["canary"] == {"trials": 2000, "bad": 80, "rate": 0.04}
    _, few = variants(comparisons=ComparisonCounts(total=50, mismatches=40))
    assert judge_gate(gate, None, few, min_samples=100).verdict is Verdict.NO_DATA
    _, clean = variants(comparisons=ComparisonCounts(total=2000, mismatches=4))
    assert judge_gate(gate, None, clean, min_samples=100).verdict is Verdict.PASS


def test_custom_gates_are_plain_checks_with_a_sample_minimum() -> None:
    cost = Gate(name="cost", metric=GateMetric.CUSTOM, query="q", max_increase=0.1)
    conversion = Gate(
        name="conversion", metric=GateMetric.CUSTOM, query="q", min=0.02, higher_is_worse=False
    )
    baseline = VariantMetrics("legacy", 9000, 0, custom={"cost": CustomValue(10.0, 9000)})
    canary = VariantMetrics(
        "domain",
        1000,
        0,
        custom={"cost": CustomValue(10.5, 1000), "conversion": CustomValue(0.03, 1000)},
    )
    assert judge_gate(cost, baseline, canary, min_samples=100).verdict is Verdict.PASS
    assert judge_gate(conversion, baseline, canary, min_samples=100).verdict is Verdict.PASS
    pricey = VariantMetrics("domain", 1000, 0, custom={"cost": CustomValue(11.5, 1000)})
    result = judge_gate(cost, baseline, pricey, min_samples=100)
    assert result.verdict is Verdict.FAIL
    assert result.evidence["checks"][0]["allowed"] == pytest.approx(11.0)
    assert judge_gate(conversion, baseline, pricey, min_samples=100).verdict is Verdict.NO_DATA
    thin = VariantMetrics("domain", 1000, 0, custom={"cost": CustomValue(50.0, 10)})
    assert judge_gate(cost, baseline, thin, min_samples=100).verdict is Verdict.NO_DATA
    lower_is_worse = Gate(
        name="cost", metric=GateMetric.CUSTOM, query="q", max_difference=1.0, higher_is_worse=False
    )
    assert judge_gate(lower_is_worse, baseline, pricey, min_samples=100).verdict is Verdict.PASS
    cheap = VariantMetrics("domain", 1000, 0, custom={"cost": CustomValue(8.5, 1000)})
    assert judge_gate(lower_is_worse, baseline, cheap, min_samples=100).verdict is Verdict.FAIL


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: VariantMetrics("domain", 10, 11), "errors"),
        (lambda: VariantMetrics("domain", -1), "requests"),
        (lambda: VariantMetrics("domain", 10, 5, 6), "client_errors"),
        (lambda: ComparisonCounts(10, 11), "comparisons.mismatches"),
        (lambda: CustomValue(math.nan, 1), "custom.value"),
    ],
)
def test_impossible_counts_are_refused_naming_the_field(
    make: Callable[[], object], field: str
) -> None:
    with pytest.raises(InvalidMetricsError) as caught:
        make()
    assert isinstance(caught.value, ProviderError)
    assert isinstance(caught.value, RollwiseError)
    assert caught.value.details["field"] == field
    assert str(caught.value).startswith(field)


def test_merged_adds_counts_and_latency() -> None:
    one = VariantMetrics("domain", 100, 2, 1, sketch(100), ComparisonCounts(10, 1, 0))
    two = VariantMetrics("domain", 50, 1, 0, sketch(50, seed=3), ComparisonCounts(5, 2, 1))
    both = one.merged(two)
    assert (both.requests, both.errors, both.client_errors) == (150, 3, 1)
    assert both.comparisons == ComparisonCounts(15, 3, 1)
    assert both.latency is not None
    assert both.latency.count == 150
    assert one.latency is not None
    assert one.latency.count == 100  # inputs untouched
    assert json.dumps(both.summary(), allow_nan=False)


def test_min_samples_must_be_positive() -> None:
    baseline, canary = variants()
    with pytest.raises(ValueError, match="min_samples"):
        judge_step([ERRORS], baseline, canary, min_samples=0, bake_elapsed=True)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(100, 5000),
    st.floats(0.0, 0.2),
    st.integers(0, 50),
    st.sampled_from([ERRORS, Gate(metric=GateMetric.ERROR_RATE, max=0.02, max_difference=0.01)]),
)
def test_more_canary_errors_never_turn_a_rollback_into_something_milder(
    canary_requests: int, rate: float, extra: int, gate: Gate
) -> None:
    errors = int(canary_requests * rate)
    baseline = VariantMetrics("legacy", 9 * canary_requests, int(0.01 * 9 * canary_requests))
    before = VariantMetrics("domain", canary_requests, errors)
    after = VariantMetrics("domain", canary_requests, min(canary_requests, errors + extra))
    order = [Verdict.PASS, Verdict.HOLD, Verdict.FAIL]
    first = judge_gate(gate, baseline, before, min_samples=100).verdict
    second = judge_gate(gate, baseline, after, min_samples=100).verdict
    assert order.index(second) >= order.index(first)


def test_the_data_verdict_ignores_bake_time() -> None:
    baseline, healthy = variants(canary=(1000, 9))
    baking = judge_step([ERRORS], baseline, healthy, min_samples=100, bake_elapsed=False)
    assert (baking.decision, baking.verdict) == (Decision.HOLD, Verdict.PASS)
    assert baking.to_dict()["verdict"] == "pass"
    _, doubtful = variants(canary=(1000, 14))
    holding = judge_step([ERRORS], baseline, doubtful, min_samples=100, bake_elapsed=True)
    assert holding.verdict is Verdict.HOLD
    _, bad = variants(canary=(1000, 60))
    assert judge_step([ERRORS], baseline, bad, min_samples=100, bake_elapsed=True).verdict is (
        Verdict.FAIL
    )
    _, short = variants(canary=(10, 0))
    assert judge_step([ERRORS], baseline, short, min_samples=100, bake_elapsed=True).verdict is (
        Verdict.NO_DATA
    )

"""The results engine: SRM first, lifts per arm, corrections, power and guardrail verdicts."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest

from rollwise.analysis.experiment import (
    AnalysisSettings,
    Capping,
    ExperimentData,
    ExperimentMetric,
    MetricData,
    analyze,
    collect,
)
from rollwise.analysis.experiment.sources import (
    AnalysisWindow,
    ArmTotals,
    BuiltinSource,
    InMemoryUnitAggregates,
    to_sample,
)
from rollwise.stats.experiment import (
    Proportion,
    RatioSample,
    Sample,
    SampleMean,
    proportion_of,
    sample_mean_of,
)

WEIGHTS = {"control": 50.0, "variant_a": 25.0, "variant_b": 25.0}
T0 = datetime(2026, 11, 1)


def _shop(seed: int = 12, units: int = 40_000) -> ExperimentData:
    """A 50/25/25 shop where variant_b truly converts better and nothing else changes."""
    rng = np.random.default_rng(seed)
    arms = rng.choice(list(WEIGHTS), p=[0.5, 0.25, 0.25], size=units)
    rate = np.where(arms == "variant_b", 0.115, 0.10)
    converted = rng.random(units) < rate
    seconds = rng.gamma(2.0, 30.0, size=units)
    latency = rng.normal(200.0, 40.0, size=units)
    metrics: list[tuple[ExperimentMetric, Callable[[Any], Sample]]] = [
        (ExperimentMetric("converted", "proportion"), lambda m: proportion_of(converted[m])),
        (
            ExperimentMetric("engagement", "mean", role="secondary"),
            lambda m: sample_mean_of(seconds[m]),
        ),
        (
            ExperimentMetric(
                "latency_ms", "mean", direction="lower", role="guardrail", threshold=0.05
            ),
            lambda m: sample_mean_of(latency[m]),
        ),
    ]
    data = [
        MetricData(metric, {arm: build(arms == arm) for arm in WEIGHTS})
        for metric, build in metrics
    ]
    counts = {arm: int((arms == arm).sum()) for arm in WEIGHTS}
    return ExperimentData("control", WEIGHTS, counts, data)


def test_the_truly_better_arm_wins_with_srm_clear() -> None:
    results = analyze(_shop())
    assert not results.sample_ratio.mismatch
    converted = results.metric("converted")
    b = next(arm for arm in converted.arms if arm.arm == "variant_b")
    a = next(arm for arm in converted.arms if arm.arm == "variant_a")
    assert b.significant
    assert b.improved is True
    assert b.relative.lower > 0
    assert b.bayesian.chance_to_win > 0.99
    assert not a.significant
    assert a.improved is None
    assert results.guardrails.action == "continue"
    assert {v.status for v in results.guardrails.verdicts} == {"pass"}
    assert all(v.method == "sequential" for v in results.guardrails.verdicts)
    assert results.correction == "holm"


def test_the_result_is_json_with_srm_first() -> None:
    body = results = analyze(_shop(units=2000)).to_dict()
    text = json.dumps(body, allow_nan=False)
    assert next(iter(results)) == "sample_ratio"
    assert '"chance_to_win"' in text


def test_srm_is_flagged_when_units_do_not_follow_the_weights() -> None:
    data = _shop(units=4000)
    skewed = ExperimentData(
        "control", WEIGHTS, {"control": 2300, "variant_a": 850, "variant_b": 850}, data.metrics
    )
    results = analyze(skewed)
    assert results.sample_ratio.mismatch
    assert results.guardrails.sample_ratio_mismatch
    assert "not trustworthy" in results.guardrails.reason


def test_corrections_adjust_primary_and_secondary_comparisons_only() -> None:
    data = _shop(units=8000)
    raw = analyze(data, AnalysisSettings(correction="none"))
    holm = analyze(data, AnalysisSettings(correction="holm"))
    bh = analyze(data, AnalysisSettings(correction="benjamini_hochberg"))
    for key in ("converted", "engagement"):
        for r, h, b in zip(
            raw.metric(key).arms, holm.metric(key).arms, bh.metric(key).arms, strict=True
        ):
            assert r.adjusted_p_value == pytest.approx(r.relative.p_value)
            assert h.adjusted_p_value >= b.adjusted_p_value >= r.adjusted_p_value - 1e-12
    # 4 corrected comparisons: the smallest Holm p-value is 4x the raw one
    smallest = min(
        (arm for m in raw.metrics[:2] for arm in m.arms), key=lambda a: a.relative.p_value
    )
    holm_arm = next(
        a
        for a in holm.metric("converted").arms + holm.metric("engagement").arms
        if a.arm == smallest.arm and a.relative == smallest.relative
    )
    assert holm_arm.adjusted_p_value == pytest.approx(min(1.0, 4 * smallest.relative.p_value))
    guard = holm.metric("latency_ms").arms[0]
    assert guard.adjusted_p_value == guard.relative.p_value


def _guardrail_data(
    control: SampleMean, treatment: SampleMean, metric: ExperimentMetric
) -> ExperimentData:
    return ExperimentData(
        "control",
        {"control": 1.0, "b": 1.0},
        {"control": control.n, "b": treatment.n},
        [MetricData(metric, {"control": control, "b": treatment})],
    )


@pytest.mark.parametrize(
    ("treatment_mean", "direction", "status"),
    [
        (230.0, "lower", "fail"),  # latency up 15%, tolerance 5%
        (201.0, "lower", "pass"),
        (209.0, "lower", "inconclusive"),
        (170.0, "higher", "fail"),  # a higher-is-better metric down 15%
        (260.0, "higher", "pass"),
    ],
)
def test_guardrails_judge_the_interval_against_the_tolerance(
    treatment_mean: float, direction: str, status: str
) -> None:
    n, sd = 20_000, 40.0
    control = SampleMean(n, 200.0 * n, n * (200.0**2 + sd**2))
    treatment = SampleMean(n, treatment_mean * n, n * (treatment_mean**2 + sd**2))
    metric = ExperimentMetric("m", "mean", direction=direction, role="guardrail", threshold=0.05)  # type: ignore[arg-type]
    report = analyze(_guardrail_data(control, treatment, metric)).guardrails
    assert report.verdicts[0].status == status
    assert report.stop == (status == "fail")
    assert report.action == ("stop" if status == "fail" else "continue")
    if status == "fail":
        assert report.reason.startswith("guardrail failed: m on b")
        assert report.to_dict()["failures"][0]["relative"]["upper"] is not None


def test_a_guardrail_without_data_is_inconclusive_never_a_pass() -> None:
    metric = ExperimentMetric("m", "mean", role="guardrail")
    empty = SampleMean(0, 0.0, 0.0)
    report = analyze(_guardrail_data(empty, empty, metric)).guardrails
    assert report.verdicts[0].status == "inconclusive"
    assert not report.stop


def test_power_figures_say_how_many_units_are_still_needed() -> None:
    metric = ExperimentMetric("converted", "proportion", target_effect=0.05)
    data = ExperimentData(
        "control",
        {"control": 1.0, "b": 1.0},
        {"control": 5000, "b": 5000},
        [MetricData(metric, {"control": Proportion(5000, 500), "b": Proportion(5000, 510)})],
    )
    power = analyze(data).metric("converted").arms[0].power
    assert power.power_at_target is not None
    assert power.power_at_target < 0.8
    assert power.units_needed is not None
    assert power.units_needed > 10_000
    assert power.units_remaining == pytest.approx(power.units_needed - 10_000)
    assert power.minimum_detectable_effect > 0.05
    sequential = analyze(data, AnalysisSettings(sequential=True, tuning=10_000))
    seq_power = sequential.metric("converted").arms[0].power
    assert seq_power.units_needed is not None
    assert seq_power.units_needed > power.units_needed


def test_missing_arm_data_is_an_error_naming_the_metric() -> None:
    metric = ExperimentMetric("m", "proportion")
    data = ExperimentData(
        "control", {"control": 1, "b": 1}, {}, [MetricData(metric, {"control": Proportion(10, 1)})]
    )
    with pytest.raises(ValueError, match="'m' has no data for arm 'b'"):
        analyze(data)


def test_builtin_source_counts_exposed_units_without_events_as_zero() -> None:
    store = InMemoryUnitAggregates()
    for i in range(8):
        store.expose("exp", f"u{i}", "control" if i < 4 else "b", T0 + timedelta(minutes=i))
    store.expose("exp", "u0", "control", T0 + timedelta(hours=1))  # again: first one counts
    store.expose("exp", "u7", "control", T0 + timedelta(hours=1))  # two arms: dropped
    store.record("exp", "revenue", "u1", 10.0, pre_value=4.0)
    store.record("exp", "revenue", "u1", 5.0)
    store.record("exp", "revenue", "u4", 1000.0, pre_value=1.0)
    store.record("exp", "revenue", "u5", 2.0)
    source = BuiltinSource(store, "exp")
    exposures = source.exposures(AnalysisWindow())
    assert exposures.units == {"control": 4, "b": 3}
    assert exposures.excluded_units == 1
    capped = ExperimentMetric("revenue", "mean", capping=Capping(upper=100.0), cuped=True)
    totals = source.arm_totals(capped, AnalysisWindow())
    assert totals["control"].n == 4
    assert totals["control"].sum == 15.0
    assert totals["b"].sum == 102.0
    assert totals["b"].sum_squares == 100.0**2 + 4.0
    assert totals["control"].covariate_sum == 4.0
    assert totals["control"].covariate_cross == 60.0
    converted = source.arm_totals(ExperimentMetric("revenue", "proportion"), AnalysisWindow())
    assert converted["b"].sum == 2.0
    later = AnalysisWindow(start=T0 + timedelta(minutes=5))
    assert source.exposures(later).units == {"b": 2}
    data = collect(source, [capped], control="control", weights={"control": 1, "b": 1})
    assert data.units == {"control": 4, "b": 3}
    sample = data.metrics[0].samples["b"]
    assert isinstance(sample, SampleMean)
    assert sample.covariate is not None
    quantile = ExperimentMetric("revenue", "mean", capping=Capping(quantile=0.5))
    assert source.arm_totals(quantile, AnalysisWindow())["b"].sum == 0.0  # median of units is 0


def test_an_arm_without_units_yet_gives_no_result_rather_than_an_error() -> None:
    store = InMemoryUnitAggregates()
    for i in range(20):
        store.expose("exp", f"u{i}", "control", T0)
    data = collect(
        BuiltinSource(store, "exp"),
        [ExperimentMetric("m", "mean")],
        control="control",
        weights={"control": 1, "b": 1},
    )
    results = analyze(data)
    arm = results.metric("m").arms[0]
    assert arm.units == 0
    assert math.isnan(arm.relative.estimate)
    assert not arm.significant
    assert results.sample_ratio.mismatch


def test_ratio_cuped_through_the_builtin_source_shows_theta_like_other_kinds() -> None:
    rng = np.random.default_rng(31)
    store = InMemoryUnitAggregates()
    for i in range(4000):
        unit, arm = f"u{i}", "control" if i % 2 else "b"
        store.expose("exp", unit, arm, T0 + timedelta(seconds=i))
        activity, spend = rng.gamma(2.0, 1.5), rng.lognormal(0.0, 0.6)
        sessions, before = float(rng.poisson(activity)), float(rng.poisson(activity))
        store.record(
            "exp",
            "revenue_per_session",
            unit,
            sessions * spend * rng.gamma(12.0, 1 / 12),
            denominator=sessions,
            pre_value=before * spend * rng.gamma(12.0, 1 / 12),
            pre_denominator=before,
        )
    weights = {"control": 1.0, "b": 1.0}
    plain = ExperimentMetric("revenue_per_session", "ratio")
    cuped = ExperimentMetric("revenue_per_session", "ratio", cuped=True)
    source = BuiltinSource(store, "exp")
    raw = analyze(collect(source, [plain], control="control", weights=weights))
    adjusted = analyze(collect(source, [cuped], control="control", weights=weights))
    body = adjusted.to_dict()["metrics"][0]
    assert body["kind"] == "ratio"
    assert body["cuped_theta"]["b"] == pytest.approx(0.6, abs=0.15)
    assert raw.to_dict()["metrics"][0]["cuped_theta"] == {"b": None}
    narrowed = adjusted.metric(cuped.key).arms[0].relative.std_error
    assert narrowed < 0.85 * raw.metric(plain.key).arms[0].relative.std_error


def test_a_ratio_source_without_pre_period_denominators_analyses_without_cuped() -> None:
    """A reader that returns only the numerator's covariate sums (no ``sum_w`` ...) leaves
    a CUPED ratio unadjusted rather than failing."""
    totals = ArmTotals(
        n=100,
        sum=250.0,
        sum_squares=900.0,
        denominator_sum=120.0,
        denominator_sum_squares=200.0,
        cross_sum=380.0,
        covariate_sum=200.0,
        covariate_sum_squares=700.0,
        covariate_cross=400.0,
    )
    sample = to_sample(ExperimentMetric("r", "ratio", cuped=True), totals)
    assert isinstance(sample, RatioSample)
    assert sample.covariate is None

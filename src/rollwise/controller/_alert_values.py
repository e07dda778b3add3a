"""An alert rule's metric from traffic windows, and whether its condition holds."""

from __future__ import annotations

from collections.abc import Iterable

from ..analysis import VariantMetrics
from ..analysis.providers import VariantWindowLike, comparison_counts
from ..core.durations import format_duration
from ..core.gates import GateMetric
from ..store import AlertComparison, AlertRuleRecord

__all__ = ["condition_holds", "describe", "merged_metrics", "metric_value", "waiting_for"]


def merged_metrics(name: str, windows: Iterable[VariantWindowLike]) -> VariantMetrics:
    """The traffic of several windows (variants, flags) as one."""
    total = VariantMetrics(name)
    for window in windows:
        latency = window.latency.copy() if window.latency.count else None
        total = total.merged(
            VariantMetrics(
                variant=name,
                requests=window.requests,
                errors=window.errors,
                client_errors=window.client_errors,
                latency=latency,
                comparisons=comparison_counts(window.comparisons),
            )
        )
    return total


def metric_value(metric: GateMetric, metrics: VariantMetrics) -> tuple[float | None, int]:
    """The metric's value and the samples behind it; None without samples.

    Rates are over requests (mismatch rate: over compared calls); latencies are the
    quantile of the merged sketch, in seconds. Custom metrics come from the provider.
    """
    if metric is GateMetric.ERROR_RATE or metric is GateMetric.SUCCESS_RATE:
        rate = metrics.error_rate
        if rate is None:
            return None, 0
        return (rate if metric is GateMetric.ERROR_RATE else 1.0 - rate), metrics.requests
    if metric is GateMetric.MISMATCH_RATE:
        return metrics.mismatch_rate, metrics.comparisons.total
    quantile = metric.quantile
    if quantile is not None:
        sketch = metrics.latency
        if sketch is None or sketch.count == 0:
            return None, 0
        return sketch.quantile(quantile), sketch.count
    raise ValueError(f"{metric.value} is not computed from traffic windows")


def condition_holds(rule: AlertRuleRecord, value: float, baseline_value: float | None) -> bool:
    """``above``/``below`` the threshold, or more than ``threshold`` above the baseline."""
    if rule.comparison is AlertComparison.ABOVE:
        return value > rule.threshold
    if rule.comparison is AlertComparison.BELOW:
        return value < rule.threshold
    assert baseline_value is not None
    return value > baseline_value * (1.0 + rule.threshold)


def waiting_for(rule: AlertRuleRecord, samples: int, baseline_samples: int | None) -> str | None:
    """Why the rule cannot be judged yet (fewer than ``min_samples``), or None."""
    window = format_duration(rule.window)
    if samples < rule.min_samples:
        return f"waiting for samples: {samples} of {rule.min_samples} in the last {window}"
    if baseline_samples is not None and baseline_samples < rule.min_samples:
        return (
            f"waiting for samples: the baseline has {baseline_samples} of "
            f"{rule.min_samples} in the last {window}"
        )
    return None


def _format(metric: GateMetric, value: float) -> str:
    if metric.is_rate:
        return f"{value * 100:.3g}%"
    if metric.is_latency:
        return f"{value * 1000:.4g} ms"
    return f"{value:.6g}"


def describe(
    rule: AlertRuleRecord,
    value: float,
    baseline_value: float | None,
    samples: int,
    holds: bool,
) -> str:
    """One line for the event and the notification: value, condition, window, samples."""
    shown = f"{rule.metric.value} {_format(rule.metric, value)}"
    if rule.comparison is AlertComparison.INCREASE_ABOVE:
        assert baseline_value is not None
        limit = (
            f"{rule.threshold * 100:g}% above the baseline's {_format(rule.metric, baseline_value)}"
        )
        relation = "more than" if holds else "not more than"
    else:
        limit = _format(rule.metric, rule.threshold)
        word = rule.comparison.value
        relation = word if holds else f"not {word}"
    window = format_duration(rule.window)
    return f"{shown}, {relation} {limit}, over the last {window} ({samples} samples)"

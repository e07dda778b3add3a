"""Judging rollout steps: per-variant data in, verdicts with their evidence out.

The data comes from a metric provider (:mod:`rollwise.analysis.providers`: the builtin
telemetry store, Prometheus, nop).

See docs/judging.md for the statistics and why they stay valid when the controller looks
at a step every tick.
"""

from .data import (
    ComparisonCounts,
    CustomValue,
    InvalidMetricsError,
    VariantMetrics,
    WindowCounts,
)
from .judge import judge_gate, judge_step
from .providers import (
    Comparison,
    MetricProvider,
    MetricQuery,
    ProviderConfig,
    ProviderRegistry,
    StepMetrics,
)
from .verdicts import Decision, GateResult, StepJudgement, Verdict

__all__ = [
    "Comparison",
    "ComparisonCounts",
    "CustomValue",
    "Decision",
    "GateResult",
    "InvalidMetricsError",
    "MetricProvider",
    "MetricQuery",
    "ProviderConfig",
    "ProviderRegistry",
    "StepJudgement",
    "StepMetrics",
    "VariantMetrics",
    "Verdict",
    "WindowCounts",
    "judge_gate",
    "judge_step",
]

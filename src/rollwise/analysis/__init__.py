"""Judging rollout steps: per-variant data in, verdicts with their evidence out.

See docs/judging.md for the statistics and why they stay valid when the controller looks
at a step every tick.
"""

from .data import ComparisonCounts, CustomValue, InvalidMetricsError, VariantMetrics
from .judge import judge_gate, judge_step
from .verdicts import Decision, GateResult, StepJudgement, Verdict

__all__ = [
    "ComparisonCounts",
    "CustomValue",
    "Decision",
    "GateResult",
    "InvalidMetricsError",
    "StepJudgement",
    "VariantMetrics",
    "Verdict",
    "judge_gate",
    "judge_step",
]

"""Experiment analysis: metric sources in, results and guardrail verdicts out.

``collect`` asks a source (``sources.builtin`` or ``sources.sql``) for per-arm sums,
``analyze`` turns them into results (SRM first, lifts, corrections, guardrails) using the
pure statistics of :mod:`rollwise.stats.experiment`. See docs/experiments.md.
"""

from .collect import collect
from .engine import AnalysisSettings, ExperimentData, MetricData, analyze
from .guardrails import GuardrailReport, GuardrailStatus, GuardrailVerdict, judge_guardrail
from .metrics import Capping, Direction, ExperimentMetric, MetricKind, Role
from .results import ArmResult, ExperimentResults, MetricResult, PowerSummary, SampleRatio

__all__ = [
    "AnalysisSettings",
    "ArmResult",
    "Capping",
    "Direction",
    "ExperimentData",
    "ExperimentMetric",
    "ExperimentResults",
    "GuardrailReport",
    "GuardrailStatus",
    "GuardrailVerdict",
    "MetricData",
    "MetricKind",
    "MetricResult",
    "PowerSummary",
    "Role",
    "SampleRatio",
    "analyze",
    "collect",
    "judge_guardrail",
]

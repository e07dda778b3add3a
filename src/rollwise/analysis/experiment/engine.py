"""The experiment results engine: per-arm sufficient statistics in, results out.

Pure: sources (``sources/``) fetch the per-arm sums, this module only computes. The order
of the output is the order a reader should take it in: the sample-ratio check first (a
mismatch makes every number below it suspect), then each metric's arms against control
(lifts with intervals, p-values, Bayesian chance to win and risk, power), the
multiple-comparison correction over all primary and secondary comparisons, and the
guardrail verdict the experiment controller acts on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ...stats.experiment import (
    DEFAULT_TUNING,
    FLAT,
    SRM_THRESHOLD,
    Comparison,
    Correction,
    GaussianPrior,
    NormalMixture,
    PowerModel,
    Sample,
    Test,
    adjust,
    bayesian_lift,
    compare,
    sample_ratio_test,
)
from .guardrails import GuardrailReport, GuardrailVerdict, judge_guardrail
from .metrics import ExperimentMetric
from .results import ArmResult, ExperimentResults, MetricResult, PowerSummary, SampleRatio

__all__ = ["AnalysisSettings", "ExperimentData", "MetricData", "analyze"]


@dataclass(frozen=True, slots=True)
class AnalysisSettings:
    """How to analyse. ``sequential`` makes every interval and p-value always-valid
    (tightest at ``tuning`` units); guardrails are judged sequentially regardless unless
    ``guardrails_sequential`` is off."""

    alpha: float = 0.05
    test: Test = "welch"
    sequential: bool = False
    tuning: float = DEFAULT_TUNING
    prior: GaussianPrior = FLAT
    correction: Correction = "holm"
    srm_threshold: float = SRM_THRESHOLD
    target_power: float = 0.8
    guardrails_sequential: bool = True

    def mixture(self) -> NormalMixture:
        return NormalMixture(self.alpha, self.tuning)


@dataclass(frozen=True, slots=True)
class MetricData:
    """One metric's sufficient statistics per arm."""

    metric: ExperimentMetric
    samples: Mapping[str, Sample]


@dataclass(frozen=True, slots=True)
class ExperimentData:
    """Everything the engine reads: arms with planned weights (control among them), exposed
    units per arm (for the SRM check), and the metrics' per-arm statistics."""

    control: str
    weights: Mapping[str, float]
    units: Mapping[str, int]
    metrics: Sequence[MetricData]
    excluded_units: int = 0

    def __post_init__(self) -> None:
        if self.control not in self.weights:
            raise ValueError(f"control arm {self.control!r} has no planned weight")
        if len(self.weights) < 2:
            raise ValueError("an experiment needs control and at least one other arm")

    @property
    def treatments(self) -> list[str]:
        return [arm for arm in self.weights if arm != self.control]


def _power(
    comparison: Comparison,
    metric: ExperimentMetric,
    weights: tuple[float, float, float],
    total_units: int,
    settings: AnalysisSettings,
) -> PowerSummary:
    c, t = comparison.control, comparison.treatment
    nan = math.nan
    if c.n < 2 or t.n < 2 or not (math.isfinite(c.variance) and math.isfinite(t.variance)):
        return PowerSummary(settings.target_power, nan, metric.target_effect, None, None, None)
    model = PowerModel(
        control_mean=c.value,
        control_variance=c.variance * c.n,
        treatment_variance=t.variance * t.n,
        alpha=settings.alpha,
        sequential=settings.mixture() if settings.sequential else None,
    )
    mde = model.minimum_detectable_effect(c.n, t.n, settings.target_power)
    target = metric.target_effect
    if target is None:
        return PowerSummary(settings.target_power, mde, None, None, None, None)
    w_c, w_t, w_all = weights
    pair = model.units_needed(target, w_c, w_t, settings.target_power)
    needed = pair * w_all / (w_c + w_t)
    return PowerSummary(
        settings.target_power,
        mde,
        target,
        model.power(target, c.n, t.n),
        needed,
        max(0.0, needed - total_units),
    )


def _improved(comparison: Comparison, metric: ExperimentMetric, significant: bool) -> bool | None:
    if not significant:
        return None
    better = comparison.relative.estimate > 0
    return better if metric.higher_is_better else not better


def analyze(data: ExperimentData, settings: AnalysisSettings | None = None) -> ExperimentResults:
    """Analyse an experiment (see the module docstring for the order of the output)."""
    settings = settings or AnalysisSettings()
    srm = SampleRatio(
        sample_ratio_test(data.units, data.weights, settings.srm_threshold), data.excluded_units
    )
    mixture = settings.mixture()
    sequential = mixture if settings.sequential else None
    total_units = sum(data.units.values())
    w_all = sum(data.weights.values())

    comparisons: list[tuple[MetricData, list[tuple[str, Comparison]]]] = []
    guardrails: list[GuardrailVerdict] = []
    for item in data.metrics:
        metric = item.metric
        control = item.samples.get(data.control)
        if control is None:
            raise ValueError(f"metric {metric.key!r} has no data for control {data.control!r}")
        arms: list[tuple[str, Comparison]] = []
        for arm in data.treatments:
            sample = item.samples.get(arm)
            if sample is None:
                raise ValueError(f"metric {metric.key!r} has no data for arm {arm!r}")
            comparison = compare(
                control,
                sample,
                alpha=settings.alpha,
                test=settings.test,
                sequential=sequential,
                cuped=metric.cuped,
            )
            arms.append((arm, comparison))
            if metric.role == "guardrail":
                judged = comparison
                if settings.guardrails_sequential and sequential is None:
                    judged = compare(control, sample, sequential=mixture, cuped=metric.cuped)
                guardrails.append(judge_guardrail(metric, arm, judged.relative, judged.method))
        comparisons.append((item, arms))

    tested = [
        (i, j)
        for i, (item, arms) in enumerate(comparisons)
        if item.metric.role != "guardrail"
        for j in range(len(arms))
    ]
    adjusted = adjust(
        [comparisons[i][1][j][1].relative.p_value for i, j in tested],
        settings.correction,
        settings.alpha,
    )
    adjusted_at = {key: k for k, key in enumerate(tested)}

    metrics: list[MetricResult] = []
    for i, (item, arms) in enumerate(comparisons):
        metric = item.metric
        results: list[ArmResult] = []
        for j, (arm, comparison) in enumerate(arms):
            k = adjusted_at.get((i, j))
            if k is None:  # guardrails are judged, not corrected
                p = comparison.relative.p_value
                significant = (not math.isnan(p)) and p <= settings.alpha
            else:
                p, significant = adjusted.p_values[k], adjusted.significant[k]
            results.append(
                ArmResult(
                    arm=arm,
                    units=comparison.treatment.n,
                    value=comparison.treatment.value,
                    absolute=comparison.absolute,
                    relative=comparison.relative,
                    bayesian=bayesian_lift(
                        comparison, settings.prior, higher_is_better=metric.higher_is_better
                    ),
                    adjusted_p_value=p,
                    significant=significant,
                    improved=_improved(comparison, metric, significant),
                    power=_power(
                        comparison,
                        metric,
                        (data.weights[data.control], data.weights[arm], w_all),
                        total_units,
                        settings,
                    ),
                )
            )
        first = arms[0][1] if arms else None
        metrics.append(
            MetricResult(
                metric=metric,
                control_units=first.control.n if first else 0,
                control_value=first.control.value if first else math.nan,
                method=first.method if first else settings.test,
                cuped_theta={arm: c.cuped_theta for arm, c in arms},
                arms=tuple(results),
            )
        )
    return ExperimentResults(
        control=data.control,
        sample_ratio=srm,
        metrics=tuple(metrics),
        correction=adjusted.method,
        alpha=settings.alpha,
        sequential=settings.sequential,
        guardrails=GuardrailReport(tuple(guardrails), srm.mismatch),
    )

"""From a metric source to the engine's input: exposures and every metric's per-arm sums."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .engine import ExperimentData, MetricData
from .metrics import ExperimentMetric
from .sources.base import AnalysisWindow, ArmTotals, MetricSource, to_sample

__all__ = ["collect"]


def collect(
    source: MetricSource,
    metrics: Sequence[ExperimentMetric],
    *,
    control: str,
    weights: Mapping[str, float],
    window: AnalysisWindow | None = None,
) -> ExperimentData:
    """Ask ``source`` for everything one analysis reads (one query per metric).

    An arm with no exposed units yet gets empty sums rather than an error: the analysis
    then reports no result for it, and the SRM check sees its zero.
    """
    window = window or AnalysisWindow()
    exposures = source.exposures(window)
    data: list[MetricData] = []
    for metric in metrics:
        totals = source.arm_totals(metric, window)
        samples = {}
        for arm in weights:
            arm_totals = totals.get(arm)
            if arm_totals is None:
                arm_totals = ArmTotals(0, 0.0, 0.0)
            samples[arm] = to_sample(metric, arm_totals)
        data.append(MetricData(metric, samples))
    return ExperimentData(
        control=control,
        weights=dict(weights),
        units={arm: exposures.units.get(arm, 0) for arm in weights},
        metrics=data,
        excluded_units=exposures.excluded_units,
    )

"""An experiment's results from the store's sufficient statistics (the ``builtin`` source).

One computation for everyone who reads results: ``GET /api/v1/experiments/{key}/results``
and the controller's guardrail check (:mod:`.experiments`). The store computes per-arm
sums in the database (``Tx.experiment_exposures`` and ``Tx.experiment_arm_totals``);
:func:`rollwise.analysis.experiment.analyze` turns them into the results: the sample-ratio
check first, then each metric's arms against control, then the guardrail verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..analysis.experiment import (
    AnalysisSettings,
    Capping,
    ExperimentData,
    ExperimentMetric,
    ExperimentResults,
    analyze,
    collect,
)
from ..analysis.experiment._json import num
from ..analysis.experiment.sources.base import AnalysisWindow, ArmTotals, Exposures
from ..analysis.experiment.sources.builtin import BuiltinSource
from ..core.experiment import ExperimentDefinition, ExperimentMetricSpec, MetricRole
from ..store import Tx
from ..store.experiments import ExperimentRecord

__all__ = ["ExperimentAnalysis", "analyze_experiment", "engine_metric", "experiment_results"]


def engine_metric(role: MetricRole, spec: ExperimentMetricSpec) -> ExperimentMetric:
    """The engine's view of a stored metric definition."""
    return ExperimentMetric(
        key=spec.key,
        kind=spec.kind,
        direction=spec.direction,
        role=role,
        capping=Capping(upper=spec.capping) if spec.capping is not None else None,
        cuped=spec.cuped,
        threshold=spec.threshold or 0.0,
        target_effect=spec.target_effect,
    )


class _StoreReader:
    """The builtin source's reader over one transaction (a ``UnitAggregateReader``)."""

    def __init__(self, tx: Tx, definition: ExperimentDefinition) -> None:
        self._tx = tx
        self._specs = {spec.key: spec for _, spec in definition.metrics()}

    def exposures(self, experiment: str, window: AnalysisWindow) -> Exposures:
        return self._tx.experiment_exposures(experiment, window)

    def arm_totals(
        self, experiment: str, metric: ExperimentMetric, window: AnalysisWindow
    ) -> Mapping[str, ArmTotals]:
        return self._tx.experiment_arm_totals(experiment, metric, self._specs[metric.key], window)


@dataclass(frozen=True, slots=True)
class ExperimentAnalysis:
    """What the engine read (per-arm sufficient statistics) and what it concluded."""

    data: ExperimentData
    results: ExperimentResults

    def per_arm(self) -> dict[str, dict[str, Any]]:
        """Units and value of every metric per arm, as JSON-ready data."""
        arms: dict[str, dict[str, Any]] = {arm: {} for arm in self.data.weights}
        for item in self.data.metrics:
            for arm, sample in item.samples.items():
                arms.setdefault(arm, {})[item.metric.key] = {
                    "units": sample.n,
                    "value": num(sample.mean),
                }
        return arms


def analyze_experiment(
    tx: Tx, record: ExperimentRecord, settings: AnalysisSettings
) -> ExperimentAnalysis:
    """Analyse ``record`` (running: up to now; stopped: up to when it stopped)."""
    definition = record.definition
    window = AnalysisWindow(start=None, end=record.stopped_at)
    metrics = [engine_metric(role, spec) for role, spec in definition.metrics()]
    source = BuiltinSource(_StoreReader(tx, definition), record.key)
    data = collect(
        source,
        metrics,
        control=definition.control_arm,
        weights={arm: float(weight) for arm, weight in definition.arms.items()},
        window=window,
    )
    return ExperimentAnalysis(data, analyze(data, settings))


def experiment_results(
    tx: Tx, record: ExperimentRecord, settings: AnalysisSettings
) -> dict[str, Any]:
    """Results of ``record`` (running or stopped) as JSON-ready data (the API's body)."""
    analysis = analyze_experiment(tx, record, settings)
    return {
        "experiment": record.key,
        "state": record.state,
        "started_at": record.started_at,
        "stopped_at": record.stopped_at,
        "source": "builtin",
        "units": dict(analysis.data.units),
        "excluded_units": analysis.data.excluded_units,
        "per_arm": analysis.per_arm(),
        "results": analysis.results.to_dict(),
    }

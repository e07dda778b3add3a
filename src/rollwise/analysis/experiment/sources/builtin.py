"""The ``builtin`` source: per-unit aggregates the control plane stores from tracked events.

The SDK logs one exposure per unit and experiment and tracks events; the control plane
folds events into one row per unit and metric (the unit's value after its first exposure,
a denominator for ratio metrics, and the same metric over the pre-exposure period for
CUPED: a ratio's numerator and denominator both). This module defines what the source
needs from that store, :class:`UnitAggregateReader`, whose implementation must compute
the per-arm sums in its database (one GROUP BY arm, like the ``sql`` source's query), and
an in-memory reader for tests and small embedded use.

Units exposed but without events count with value 0 (they are in the denominator of a
conversion rate); capping applies to the per-unit value before the sums.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np
import numpy.typing as npt

from ..metrics import Capping, ExperimentMetric
from .base import AnalysisWindow, ArmTotals, Exposures

__all__ = ["BuiltinSource", "InMemoryUnitAggregates", "UnitAggregateReader"]

FloatArray = npt.NDArray[np.float64]


class UnitAggregateReader(Protocol):
    """The store's side: per-arm aggregates of its per-unit rows for one experiment."""

    def exposures(self, experiment: str, window: AnalysisWindow) -> Exposures: ...

    def arm_totals(
        self,
        experiment: str,
        metric: ExperimentMetric,
        window: AnalysisWindow,
    ) -> Mapping[str, ArmTotals]: ...


@dataclass(frozen=True, slots=True)
class BuiltinSource:
    """A :class:`~.base.MetricSource` over one experiment's stored per-unit aggregates."""

    reader: UnitAggregateReader
    experiment: str

    def exposures(self, window: AnalysisWindow) -> Exposures:
        return self.reader.exposures(self.experiment, window)

    def arm_totals(
        self, metric: ExperimentMetric, window: AnalysisWindow
    ) -> Mapping[str, ArmTotals]:
        return self.reader.arm_totals(self.experiment, metric, window)


@dataclass(slots=True)
class _UnitValue:
    value: float = 0.0
    denominator: float = 0.0
    pre_value: float = 0.0
    pre_denominator: float = 0.0


def _in_window(at: datetime, window: AnalysisWindow) -> bool:
    return (window.start is None or at >= window.start) and (window.end is None or at < window.end)


def _cap(values: FloatArray, capping: Capping | None) -> FloatArray:
    if capping is None:
        return values
    if capping.quantile is not None:
        upper = float(np.quantile(values, capping.quantile)) if values.size else 0.0
    else:
        upper = capping.upper if capping.upper is not None else np.inf
    return np.minimum(values, upper)


class InMemoryUnitAggregates:
    """Per-unit aggregates in memory (tests, demos): the reference the store must match."""

    def __init__(self) -> None:
        self._exposures: dict[str, dict[str, tuple[set[str], datetime]]] = {}
        self._values: dict[tuple[str, str], dict[str, _UnitValue]] = {}

    def expose(self, experiment: str, unit: str, arm: str, at: datetime) -> None:
        """Record an exposure; a unit keeps its first exposure time and every arm seen."""
        units = self._exposures.setdefault(experiment, {})
        arms, first = units.get(unit, (set(), at))
        arms.add(arm)
        units[unit] = (arms, min(first, at))

    def record(
        self,
        experiment: str,
        metric: str,
        unit: str,
        value: float,
        *,
        denominator: float = 0.0,
        pre_value: float = 0.0,
        pre_denominator: float = 0.0,
    ) -> None:
        """Add to a unit's aggregate (what the control plane folds each tracked event into):
        ``pre_*`` is the pre-exposure period, the CUPED covariate."""
        row = self._values.setdefault((experiment, metric), {}).setdefault(unit, _UnitValue())
        row.value += value
        row.denominator += denominator
        row.pre_value += pre_value
        row.pre_denominator += pre_denominator

    def _units(self, experiment: str, window: AnalysisWindow) -> tuple[dict[str, str], int]:
        kept: dict[str, str] = {}
        excluded = 0
        for unit, (arms, first) in self._exposures.get(experiment, {}).items():
            if not _in_window(first, window):
                continue
            if len(arms) > 1:
                excluded += 1
            else:
                kept[unit] = next(iter(arms))
        return kept, excluded

    def exposures(self, experiment: str, window: AnalysisWindow) -> Exposures:
        kept, excluded = self._units(experiment, window)
        counts: dict[str, int] = {}
        for arm in kept.values():
            counts[arm] = counts.get(arm, 0) + 1
        return Exposures(counts, excluded)

    def arm_totals(
        self, experiment: str, metric: ExperimentMetric, window: AnalysisWindow
    ) -> Mapping[str, ArmTotals]:
        kept, _ = self._units(experiment, window)
        values = self._values.get((experiment, metric.key), {})
        units = list(kept)
        rows = [values.get(unit, _UnitValue()) for unit in units]
        y = np.array([r.value for r in rows], dtype=np.float64)
        y = (y > 0).astype(np.float64) if metric.kind == "proportion" else _cap(y, metric.capping)
        d = np.array([r.denominator for r in rows], dtype=np.float64)
        x = np.array([r.pre_value for r in rows], dtype=np.float64)
        if metric.kind == "proportion":  # converted before exposure: 1, like y
            x = (x > 0).astype(np.float64)
        w = np.array([r.pre_denominator for r in rows], dtype=np.float64)
        arms = np.array([kept[unit] for unit in units], dtype=object)
        totals: dict[str, ArmTotals] = {}
        for arm in sorted(set(kept.values())):
            mask = arms == arm
            ya, da, xa, wa = y[mask], d[mask], x[mask], w[mask]
            totals[arm] = ArmTotals(
                n=int(mask.sum()),
                sum=float(ya.sum()),
                sum_squares=float(ya @ ya),
                denominator_sum=float(da.sum()),
                denominator_sum_squares=float(da @ da),
                cross_sum=float(ya @ da),
                covariate_sum=float(xa.sum()),
                covariate_sum_squares=float(xa @ xa),
                covariate_cross=float(xa @ ya),
                sum_w=float(wa.sum()),
                sum_w2=float(wa @ wa),
                sum_xw=float(xa @ wa),
                sum_wy=float(wa @ ya),
                sum_xd=float(xa @ da),
                sum_wd=float(wa @ da),
            )
        return totals

"""Where an experiment's metric data comes from: the source Protocol and per-arm totals.

A source answers two questions for an analysis window, both as per-arm aggregates (never
per-unit rows): how many units each arm exposed (for the SRM check) and, per metric, the
arm's sums (:class:`ArmTotals`, turned into the statistics' samples by :func:`to_sample`).
Backends: ``builtin`` (the control plane's per-unit aggregates) and ``sql`` (the user's
database or warehouse).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ....stats.experiment import (
    Covariate,
    Proportion,
    RatioCovariate,
    RatioSample,
    Sample,
    SampleMean,
)
from ..metrics import ExperimentMetric

__all__ = ["AnalysisWindow", "ArmTotals", "Exposures", "MetricSource", "to_sample"]


@dataclass(frozen=True, slots=True)
class AnalysisWindow:
    """Exposures from ``start`` (inclusive) to ``end`` (exclusive); events until ``end``.

    ``conversion_seconds`` limits a unit's events to that long after its first exposure;
    ``lookback_seconds`` is the pre-exposure period CUPED's covariate sums the same metric
    over (GrowthBook's default is 14 days).
    """

    start: datetime | None = None
    end: datetime | None = None
    conversion_seconds: int | None = None
    lookback_seconds: int = 14 * 86400


@dataclass(frozen=True, slots=True)
class Exposures:
    """Units per arm (first exposure only) and units dropped for being seen in several."""

    units: Mapping[str, int]
    excluded_units: int = 0


@dataclass(frozen=True, slots=True)
class ArmTotals:
    """Per-arm sums of per-unit values ``y`` (numerator), ``d`` (denominator, ratios),
    ``x`` (CUPED covariate: the same metric, or a ratio's numerator, before exposure) and
    ``w`` (a ratio's denominator before exposure): what one GROUP BY arm returns.

    A ratio's CUPED reads, besides ``Σx``, ``Σx²`` and ``Σxy`` (the ``covariate_*``
    fields), ``Σw``, ``Σw²``, ``Σxw``, ``Σwy``, ``Σxd`` and ``Σwd`` (``sum_w`` ...).
    """

    n: int
    sum: float
    sum_squares: float
    denominator_sum: float = 0.0
    denominator_sum_squares: float = 0.0
    cross_sum: float = 0.0
    covariate_sum: float | None = None
    covariate_sum_squares: float | None = None
    covariate_cross: float | None = None
    sum_w: float | None = None
    sum_w2: float | None = None
    sum_xw: float | None = None
    sum_wy: float | None = None
    sum_xd: float | None = None
    sum_wd: float | None = None


def _ratio_covariate(totals: ArmTotals) -> RatioCovariate | None:
    """The pre-period ratio's sums, or None when the source did not provide them all."""
    sums = {
        "sum_x": totals.covariate_sum,
        "sum_x2": totals.covariate_sum_squares,
        "sum_w": totals.sum_w,
        "sum_w2": totals.sum_w2,
        "sum_xw": totals.sum_xw,
        "sum_xy": totals.covariate_cross,
        "sum_wy": totals.sum_wy,
        "sum_xd": totals.sum_xd,
        "sum_wd": totals.sum_wd,
    }
    present = {name: value for name, value in sums.items() if value is not None}
    if len(present) < len(sums):
        return None
    return RatioCovariate(**present)


def to_sample(metric: ExperimentMetric, totals: ArmTotals) -> Sample:
    """The statistics' sample for a metric's kind (with its covariate for a CUPED metric
    whose source provided the pre-period sums)."""
    covariate = None
    if (
        metric.cuped
        and metric.kind != "ratio"
        and totals.covariate_sum is not None
        and totals.covariate_sum_squares is not None
        and totals.covariate_cross is not None
    ):
        covariate = Covariate(
            totals.covariate_sum, totals.covariate_sum_squares, totals.covariate_cross
        )
    if metric.kind == "proportion":
        return Proportion(totals.n, totals.sum, covariate)
    if metric.kind == "mean":
        return SampleMean(totals.n, totals.sum, totals.sum_squares, covariate)
    return RatioSample(
        totals.n,
        totals.sum,
        totals.sum_squares,
        totals.denominator_sum,
        totals.denominator_sum_squares,
        totals.cross_sum,
        _ratio_covariate(totals) if metric.cuped else None,
    )


class MetricSource(Protocol):
    """What the engine's callers need from a backend."""

    def exposures(self, window: AnalysisWindow) -> Exposures: ...

    def arm_totals(
        self, metric: ExperimentMetric, window: AnalysisWindow
    ) -> Mapping[str, ArmTotals]: ...

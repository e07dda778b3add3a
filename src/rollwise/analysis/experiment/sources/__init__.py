"""Metric sources for experiments: ``builtin`` (control-plane aggregates) and ``sql``.

``sql`` needs SQLAlchemy (and the engine's driver), so it is imported from its module:
``from rollwise.analysis.experiment.sources.sql import SqlSource``.
"""

from .base import AnalysisWindow, ArmTotals, Exposures, MetricSource, to_sample
from .builtin import BuiltinSource, InMemoryUnitAggregates, UnitAggregateReader

__all__ = [
    "AnalysisWindow",
    "ArmTotals",
    "BuiltinSource",
    "Exposures",
    "InMemoryUnitAggregates",
    "MetricSource",
    "UnitAggregateReader",
    "to_sample",
]

"""Dual-run comparison: run the old and the new implementation on the same input, compare."""

from __future__ import annotations

from ._compare import (
    ComparisonRecorder,
    ComparisonSink,
    DualRun,
    Durations,
    FlagEvaluator,
    Observation,
    Outcome,
    Run,
    SampleOptions,
    SeriesStats,
    Side,
    is_read_only,
    read_only,
)

__all__ = [
    "ComparisonRecorder",
    "ComparisonSink",
    "DualRun",
    "Durations",
    "FlagEvaluator",
    "Observation",
    "Outcome",
    "Run",
    "SampleOptions",
    "SeriesStats",
    "Side",
    "is_read_only",
    "read_only",
]

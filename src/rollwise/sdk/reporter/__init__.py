"""Shipping what the SDK measured to the control plane, in the background."""

from __future__ import annotations

from ._reporter import (
    ComparisonSource,
    OverrideSource,
    Reporter,
    ReporterHealth,
    ReporterOptions,
    UsageCounter,
)

__all__ = [
    "ComparisonSource",
    "OverrideSource",
    "Reporter",
    "ReporterHealth",
    "ReporterOptions",
    "UsageCounter",
]

"""What the judge sees of one variant over a step: counts, a latency sketch, comparisons.

Metric providers (the builtin store, Prometheus) build one :class:`VariantMetrics` for the
baseline and one for the canary, over the same window: **cumulative since the step
started**. The judge's tests stay valid under continuous monitoring only on cumulative
counts from a fixed start; a sliding window ("the last five minutes") would break them.

- ``requests``: requests served under the variant. ``errors``: server errors (5xx or an
  exception), the failures of the variant. ``client_errors``: 4xx, counted apart and not
  failures. The error rate is ``errors / requests``; the success rate is its complement.
- ``latency``: the merged sketch of every request's latency (seconds), or None when the
  provider has no latency (a latency gate is then "no data").
- ``comparisons``: dual-run outcomes of calls served under the variant; ``mismatches``
  counts the compared calls whose candidate disagreed (a different answer or a candidate
  error), the numerator of the mismatch rate.
- ``custom``: the value of each custom gate's query for this variant, keyed by the gate's
  key (:attr:`rollwise.core.gates.Gate.key`), with the number of samples behind it.
- ``windows``: optionally, the same traffic cut into consecutive windows of the step
  (:class:`WindowCounts`, oldest first, the same bounds for the canary and the baseline).
  Relative rate tests and the sample-ratio check judge each window against its own split,
  so that a split that drifts in phase with the error rate (a daily pattern) cannot
  confound them (Simpson's paradox); without windows they pool the step as one window.
  The contract for providers is in docs/judging.md ("Per-window counts").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from types import MappingProxyType
from typing import Any

from ..errors import ProviderError
from ..stats.sketch import LatencySketch
from ._unit_counts import UnitCounts

__all__ = [
    "ComparisonCounts",
    "CustomValue",
    "InvalidMetricsError",
    "VariantMetrics",
    "WindowCounts",
    "windows_aligned",
]


class InvalidMetricsError(ProviderError):
    """Counts that cannot describe real traffic (negative, or more errors than requests)."""

    code = "invalid_metrics"


def _require(condition: bool, field_name: str, reason: str, **details: Any) -> None:
    if not condition:
        raise InvalidMetricsError(f"{field_name}: {reason}", field=field_name, **details)


@dataclass(frozen=True, slots=True)
class ComparisonCounts:
    """Dual-run comparisons: calls compared, how many disagreed, how many fell back."""

    total: int = 0
    mismatches: int = 0
    fallbacks: int = 0

    def __post_init__(self) -> None:
        _require(self.total >= 0, "comparisons.total", "must not be negative")
        _require(
            0 <= self.mismatches <= self.total,
            "comparisons.mismatches",
            f"must be between 0 and total ({self.total})",
        )
        _require(self.fallbacks >= 0, "comparisons.fallbacks", "must not be negative")

    def __add__(self, other: ComparisonCounts) -> ComparisonCounts:
        return ComparisonCounts(
            self.total + other.total,
            self.mismatches + other.mismatches,
            self.fallbacks + other.fallbacks,
        )


@dataclass(frozen=True, slots=True)
class CustomValue:
    """A custom metric's value for one variant and how many samples it summarizes."""

    value: float
    samples: int

    def __post_init__(self) -> None:
        _require(math.isfinite(self.value), "custom.value", "must be a finite number")
        _require(self.samples >= 0, "custom.samples", "must not be negative")


@dataclass(frozen=True, slots=True)
class WindowCounts:
    """One variant's counts in one window ``[start, end)`` of the step.

    Windows are fixed from the step's start (``start + k * length``), so a window's counts
    only grow while it is open and never move to another window between looks: the judge's
    per-window martingale is over a fixed sequence of windows. The last window may be open
    (``end`` is the look's end). Counts follow the same definitions as
    :class:`VariantMetrics` (server errors, compared calls); latency stays cumulative.
    """

    start: datetime
    end: datetime
    requests: int = 0
    errors: int = 0
    comparisons: ComparisonCounts = field(default_factory=ComparisonCounts)

    def __post_init__(self) -> None:
        _require(self.end >= self.start, "windows.end", "must not be before the window's start")
        _require(self.requests >= 0, "windows.requests", "must not be negative")
        _require(
            0 <= self.errors <= self.requests,
            "windows.errors",
            f"must be between 0 and requests ({self.requests})",
        )

    def __add__(self, other: WindowCounts) -> WindowCounts:
        if (self.start, self.end) != (other.start, other.end):
            raise ValueError("only windows with the same bounds add up")
        return WindowCounts(
            self.start,
            self.end,
            self.requests + other.requests,
            self.errors + other.errors,
            self.comparisons + other.comparisons,
        )


def windows_aligned(a: Sequence[WindowCounts], b: Sequence[WindowCounts]) -> bool:
    """Whether two variants' windows have the same bounds, in the same order."""
    return len(a) == len(b) and all(
        (x.start, x.end) == (y.start, y.end) for x, y in zip(a, b, strict=True)
    )


@dataclass(frozen=True, slots=True)
class VariantMetrics:
    """One variant's traffic over the step's cumulative window (see the module docs)."""

    variant: str
    requests: int = 0
    errors: int = 0
    client_errors: int = 0
    latency: LatencySketch | None = None
    comparisons: ComparisonCounts = field(default_factory=ComparisonCounts)
    custom: Mapping[str, CustomValue] = field(default_factory=dict)
    windows: tuple[WindowCounts, ...] | None = None
    """Per-window counts (module docs); None: the provider has none, the judge pools."""
    units: UnitCounts | None = None
    """Distinct units and failing units over the step (``failing_units`` gates); None: not
    asked for. Not additive: :meth:`merged` leaves it None (a union needs the sketches)."""

    def __post_init__(self) -> None:
        _require(self.requests >= 0, "requests", "must not be negative", variant=self.variant)
        _require(
            0 <= self.errors <= self.requests,
            "errors",
            f"must be between 0 and requests ({self.requests})",
            variant=self.variant,
        )
        _require(
            0 <= self.client_errors <= self.requests - self.errors,
            "client_errors",
            "must not be negative nor exceed the requests that were not server errors",
            variant=self.variant,
        )
        object.__setattr__(self, "custom", MappingProxyType(dict(self.custom)))
        if self.windows is not None:
            windows = tuple(self.windows)
            object.__setattr__(self, "windows", windows)
            for before, after in pairwise(windows):
                _require(
                    after.start >= before.end,
                    "windows",
                    "must be consecutive and not overlap (oldest first)",
                    variant=self.variant,
                )

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    @property
    def mismatch_rate(self) -> float | None:
        total = self.comparisons.total
        return self.comparisons.mismatches / total if total else None

    def merged(self, other: VariantMetrics) -> VariantMetrics:
        """Both windows' traffic together (e.g. two replicas or consecutive windows)."""
        if self.latency is None:
            latency = other.latency.copy() if other.latency is not None else None
        else:
            latency = self.latency.copy()
            if other.latency is not None:
                latency.merge(other.latency)
        custom = dict(self.custom)
        custom.update(other.custom)  # a custom value is not additive: the newer one wins
        windows = None
        if (
            self.windows is not None
            and other.windows is not None
            and windows_aligned(self.windows, other.windows)
        ):
            windows = tuple(a + b for a, b in zip(self.windows, other.windows, strict=True))
        return VariantMetrics(
            variant=self.variant,
            requests=self.requests + other.requests,
            errors=self.errors + other.errors,
            client_errors=self.client_errors + other.client_errors,
            latency=latency,
            comparisons=self.comparisons + other.comparisons,
            custom=custom,
            windows=windows,
        )

    def summary(self) -> dict[str, Any]:
        """JSON-friendly counts and headline figures, for evidence."""
        latency: dict[str, Any] | None = None
        if self.latency is not None:
            latency = {
                "count": self.latency.count,
                "p50": self.latency.quantile(0.5),
                "p95": self.latency.quantile(0.95),
                "p99": self.latency.quantile(0.99),
            }
        return {
            "variant": self.variant,
            "requests": self.requests,
            "errors": self.errors,
            "client_errors": self.client_errors,
            "error_rate": self.error_rate,
            "latency": latency,
            "comparisons": {
                "total": self.comparisons.total,
                "mismatches": self.comparisons.mismatches,
                "fallbacks": self.comparisons.fallbacks,
            },
            "custom": {
                key: {"value": value.value, "samples": value.samples}
                for key, value in sorted(self.custom.items())
            },
            "windows": len(self.windows) if self.windows is not None else None,
            "units": self.units.summary() if self.units is not None else None,
        }

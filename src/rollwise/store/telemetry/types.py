"""What the telemetry store is configured with and what it answers.

:class:`TelemetryPolicy` is the retention and the caps; :class:`VariantWindow` is what one
variant of a flag served in a window (the rollout judge's input); :class:`IngestResult`
is what an ingest did with a batch, so an SDK (and its operator) can see what was ignored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from pydantic import Field

from ...core.durations import format_duration
from ...errors import ConfigError
from ...stats.sketch import LatencySketch
from ..records import Record

__all__ = [
    "RESOLUTIONS",
    "ComparisonDurations",
    "IgnoredTelemetry",
    "IngestResult",
    "MismatchSampleRecord",
    "ProcessTotals",
    "ProcessWindow",
    "PurgeResult",
    "ReportingStats",
    "SeriesPlan",
    "TelemetryPolicy",
    "VariantSeries",
    "VariantWindow",
]

RESOLUTIONS: tuple[int, ...] = (10, 300, 3600)
"""Bucket sizes in seconds. Every window is added to one bucket of each, at ingest."""

MISMATCH = "mismatch"
FALLBACK = "fallback"
MATCH = "match"


@dataclass(frozen=True, slots=True)
class TelemetryPolicy:
    """How long each resolution is kept and how much an SDK may create.

    - ``keep_10s`` / ``keep_5m`` / ``keep_1h``: retention of each bucket resolution. Queries
      over older time use the finest resolution still kept.
    - ``keep_batch_ids``: how long a batch id is remembered. Windows older than this are
      ignored at ingest, so a retried batch can never be counted twice.
    - ``samples_per_name``: mismatch samples kept per (environment, comparison name), the
      latest ones; ``keep_samples``: and none older than this.
    - ``max_routes_per_flag`` / ``max_comparisons_per_flag``: distinct route templates and
      comparison names stored per (environment, flag); later new ones are folded into
      ``~other`` (a soft cap: racing ingests may overshoot by a few).
    - ``future_tolerance``: windows starting further ahead of the server clock are ignored.
    - ``keep_notifications``: delivered and failed outbox rows (notifications) are kept this
      long; pending ones until they are delivered or given up.
    """

    keep_10s: timedelta = timedelta(days=2)
    keep_5m: timedelta = timedelta(days=14)
    keep_1h: timedelta = timedelta(days=90)
    keep_batch_ids: timedelta = timedelta(days=1)
    samples_per_name: int = 50
    keep_samples: timedelta = timedelta(days=7)
    max_routes_per_flag: int = 100
    max_comparisons_per_flag: int = 20
    future_tolerance: timedelta = timedelta(minutes=5)
    keep_notifications: timedelta = timedelta(days=30)

    def __post_init__(self) -> None:
        ordered = [("keep_10s", self.keep_10s), ("keep_5m", self.keep_5m)]
        ordered.append(("keep_1h", self.keep_1h))
        checked = (*ordered, ("keep_batch_ids", self.keep_batch_ids))
        for name, value in (*checked, ("keep_notifications", self.keep_notifications)):
            if value <= timedelta(0):
                raise ConfigError.single(None, name, f"must be positive, got {_text(value)}")
        for (finer, a), (coarser, b) in pairwise(ordered):
            if b < a:
                reason = f"must be at least {finer} ({_text(a)}), got {_text(b)}"
                raise ConfigError.single(None, coarser, reason)
        if self.keep_batch_ids > self.keep_10s:
            raise ConfigError.single(
                None,
                "keep_batch_ids",
                f"must not exceed keep_10s ({_text(self.keep_10s)}): a window is only accepted "
                "while its batch id is remembered and its finest bucket is kept",
            )
        for name, count in (
            ("samples_per_name", self.samples_per_name),
            ("max_routes_per_flag", self.max_routes_per_flag),
            ("max_comparisons_per_flag", self.max_comparisons_per_flag),
        ):
            if count < 0:
                raise ConfigError.single(None, name, f"must be 0 or more, got {count}")

    def keep(self, resolution: int) -> timedelta:
        """Retention of the buckets of ``resolution`` seconds."""
        return {10: self.keep_10s, 300: self.keep_5m, 3600: self.keep_1h}[resolution]


def _text(value: timedelta) -> str:
    seconds = value.total_seconds()
    return format_duration(seconds) if seconds >= 0 else str(value)


@dataclass(slots=True)
class ComparisonDurations:
    """Wall time of one side of a dual run (``control`` or ``candidate``) over a window."""

    count: int = 0
    sum_seconds: float = 0.0
    max_seconds: float = 0.0

    @property
    def mean_seconds(self) -> float | None:
        return self.sum_seconds / self.count if self.count else None


@dataclass(slots=True)
class ProcessTotals:
    """Process samples: their number, and the sum and maximum of each figure (CPU in percent
    of the machine, memory in percent of its RAM, resident bytes). What ingest adds to a
    bucket, what a bucket row stores, and what a query sums over a window."""

    samples: int = 0
    cpu_sum: float = 0.0
    cpu_max: float = 0.0
    memory_sum: float = 0.0
    memory_max: float = 0.0
    rss_sum: float = 0.0
    rss_max: int = 0

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> ProcessTotals:
        """The totals a ``process_buckets`` row stores."""
        return cls(
            int(row["samples"]),
            float(row["cpu_sum"]),
            float(row["cpu_max"]),
            float(row["memory_sum"]),
            float(row["memory_max"]),
            float(row["rss_sum"]),
            int(row["rss_max"]),
        )

    def add(self, other: ProcessTotals) -> None:
        self.samples += other.samples
        self.cpu_sum += other.cpu_sum
        self.cpu_max = max(self.cpu_max, other.cpu_max)
        self.memory_sum += other.memory_sum
        self.memory_max = max(self.memory_max, other.memory_max)
        self.rss_sum += other.rss_sum
        self.rss_max = max(self.rss_max, other.rss_max)

    def values(self) -> dict[str, float | int]:
        """The columns of a ``process_buckets`` row."""
        return {
            "samples": self.samples,
            "cpu_sum": self.cpu_sum,
            "cpu_max": self.cpu_max,
            "memory_sum": self.memory_sum,
            "memory_max": self.memory_max,
            "rss_sum": self.rss_sum,
            "rss_max": self.rss_max,
        }

    @property
    def cpu_mean(self) -> float | None:
        return self.cpu_sum / self.samples if self.samples else None

    @property
    def memory_mean(self) -> float | None:
        return self.memory_sum / self.samples if self.samples else None

    @property
    def rss_mean(self) -> float | None:
        return self.rss_sum / self.samples if self.samples else None


@dataclass(slots=True)
class ProcessWindow(ProcessTotals):
    """One release's process samples over a window: one sample per process and reported
    window, summed and maximised over instances."""

    variant: str = ""


@dataclass(slots=True)
class VariantWindow:
    """What one variant of a flag served in a window, merged over processes and routes.

    ``requests`` / ``errors`` (5xx or exception) / ``client_errors`` (4xx, not a failure of
    the variant) and ``latency`` (every request, seconds) come from the request recorder;
    ``usage`` counts evaluations that returned the variant; ``comparisons`` maps each
    dual-run outcome (``match``, ``mismatch``, ``candidate_error``, ``fallback``, ...) to its
    count over every comparison of the flag, ``durations`` each side's wall time.
    """

    variant: str
    requests: int = 0
    errors: int = 0
    client_errors: int = 0
    latency: LatencySketch = field(default_factory=LatencySketch)
    usage: int = 0
    comparisons: dict[str, int] = field(default_factory=dict)
    durations: dict[str, ComparisonDurations] = field(default_factory=dict)

    @property
    def error_rate(self) -> float | None:
        """Server errors per request; None without requests (no data is not zero)."""
        return self.errors / self.requests if self.requests else None

    @property
    def success_rate(self) -> float | None:
        rate = self.error_rate
        return None if rate is None else 1.0 - rate

    def quantile(self, q: float) -> float | None:
        """Latency of rank ``q`` in seconds (within the sketch's 1%); None when empty."""
        value = self.latency.quantile(q)
        return value if value is None or math.isfinite(value) else None

    @property
    def mismatches(self) -> int:
        return self.comparisons.get(MISMATCH, 0)

    @property
    def fallbacks(self) -> int:
        return self.comparisons.get(FALLBACK, 0)

    @property
    def compared(self) -> int:
        """Calls where both sides answered and were compared (match + mismatch)."""
        return self.comparisons.get(MATCH, 0) + self.comparisons.get(MISMATCH, 0)

    @property
    def is_empty(self) -> bool:
        return not (self.requests or self.usage or any(self.comparisons.values()))

    def merge(self, other: VariantWindow) -> None:
        """Add ``other``'s counts and latencies to this window."""
        self.requests += other.requests
        self.errors += other.errors
        self.client_errors += other.client_errors
        self.latency.merge(other.latency)
        self.usage += other.usage
        for outcome, count in other.comparisons.items():
            self.comparisons[outcome] = self.comparisons.get(outcome, 0) + count
        for side, durations in other.durations.items():
            mine = self.durations.setdefault(side, ComparisonDurations())
            mine.count += durations.count
            mine.sum_seconds += durations.sum_seconds
            mine.max_seconds = max(mine.max_seconds, durations.max_seconds)


@dataclass(frozen=True, slots=True)
class SeriesPlan:
    """How a time series query reads the buckets: ``points`` steps from ``start``.

    ``start`` / ``end`` are epoch seconds aligned to ``step``; ``step`` is a multiple of
    ``resolution``, the bucket size read (the coarsest that fits the step and is still kept).
    """

    start: int
    end: int
    step: int
    resolution: int

    @property
    def points(self) -> int:
        return (self.end - self.start) // self.step

    @property
    def rows_per_series(self) -> int:
        """Buckets read per (variant, route): the cost of the query."""
        return (self.end - self.start) // self.resolution


@dataclass(slots=True)
class VariantSeries:
    """One variant's windows, one per step of a :class:`SeriesPlan`."""

    variant: str
    points: list[VariantWindow]

    def total(self) -> VariantWindow:
        total = VariantWindow(self.variant)
        for point in self.points:
            total.merge(point)
        return total


class IgnoredTelemetry(Record):
    """What an ingest did not store, and why (see docs/metrics-api.md, "What is stored")."""

    windows_too_old: int = 0
    windows_in_future: int = 0
    series: int = 0
    usage: int = 0
    comparisons: int = 0
    samples: int = 0
    process: int = Field(default=0, description="Process samples of unknown flags or releases")
    unknown_flags: list[str] = Field(
        default_factory=list, description="Flags the control plane does not know (at most 20)"
    )
    unknown_variants: list[str] = Field(
        default_factory=list, description="'flag/variant' pairs not in the flag (at most 20)"
    )
    folded_routes: int = Field(default=0, description="Series counted under route '~other'")
    folded_comparisons: int = Field(default=0, description="Counted under name '~other'")


class IngestResult(Record):
    accepted: bool = True
    duplicate: bool = Field(description="This batch id was already stored: nothing counted")
    batch_id: str
    environment: str
    windows: int = Field(default=0, description="Windows stored")
    series: int = Field(default=0, description="Request series stored")
    samples: int = Field(default=0, description="Mismatch samples stored")
    ignored: IgnoredTelemetry = Field(default_factory=IgnoredTelemetry)


class PurgeResult(Record):
    """Rows deleted by one retention pass, by table."""

    deleted: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


class MismatchSampleRecord(Record):
    id: int
    environment: str
    name: str
    flag: str
    variant: str
    primary: str
    outcome: str
    at: datetime
    received_at: datetime
    instance: str
    input: object = None
    control: object = None
    candidate: object = None


class ReportingStats(Record):
    """Batches received from SDKs of an environment in a window (from the batch id log)."""

    batches: int = 0
    instances: int = 0
    last_report_at: datetime | None = None
    dropped_batches: int = 0
    dropped_windows: int = 0
    dropped_samples: int = 0

"""The metric provider contract: a step's query in, both variants' metrics out.

The judge needs, for the canary and the baseline, what each served **since the step
started** (cumulative, the same window for both: see docs/judging.md). A provider answers
that from wherever the numbers live (the control plane's own telemetry, Prometheus) and
has exactly three outcomes, so "no data" can never pass for a result:

- :class:`StepMetrics`: both variants' :class:`~rollwise.analysis.VariantMetrics`;
- :class:`~rollwise.errors.NoDataError`: the source answered but has nothing for the
  canary in the window (no requests yet, an unknown flag, a window of zero length);
- :class:`~rollwise.errors.ProviderError`: the source failed (unreachable, timed out,
  refused the credentials or the query).

The controller treats both errors as "no data" for the step, with ``str(error)`` and
``error.details`` in the evidence. A baseline without traffic is not an error: it comes
back with zero requests and the judge reports it short of its minimum sample, so that a
significant failure of the canary on an absolute bound still rolls back.

A gate the provider cannot serve (a custom gate on ``builtin``, a mismatch rate on
``prometheus``) does not fail the whole query either: its value is left out and the
reason is in :attr:`StepMetrics.missing`, so one unservable gate never hides a failing
error rate. :meth:`MetricProvider.validate_gates` reports such gates up front, for an API
that wants to refuse the rollout instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Protocol

from ...core.gates import Gate
from ..data import VariantMetrics

__all__ = ["WINDOW_SECONDS", "MetricProvider", "MetricQuery", "StepMetrics", "window_bounds"]

WINDOW_SECONDS = 60.0
"""Default length of the per-window counts a provider gives the judge (docs/judging.md)."""


def _utc(value: datetime) -> datetime:
    """Naive instants are taken as UTC, as everywhere else in rollwise."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def window_bounds(
    start: datetime, end: datetime, seconds: float = WINDOW_SECONDS
) -> list[tuple[datetime, datetime]]:
    """The step's windows ``[start + k L, start + (k + 1) L)`` up to ``end``, oldest first.

    Fixed from the step's start, so a window never changes bounds between looks (the last
    one is cut at ``end`` while it is open). Empty when ``end <= start``.
    """
    if seconds <= 0:
        raise ValueError(f"window length must be positive, got {seconds!r}")
    length = timedelta(seconds=seconds)
    bounds: list[tuple[datetime, datetime]] = []
    cursor = start
    while cursor < end:
        upper = min(cursor + length, end)
        bounds.append((cursor, upper))
        cursor += length
    return bounds


@dataclass(frozen=True, slots=True)
class MetricQuery:
    """What the judge needs for one look at a step.

    ``start`` is when the step began and ``end`` is now: the window is cumulative, never a
    sliding one. ``baseline`` is None when there is no concurrent baseline (blue-green
    verification). ``gates`` tell the provider which custom queries to evaluate.
    """

    flag: str
    environment: str
    canary: str
    baseline: str | None
    start: datetime
    end: datetime
    gates: Sequence[Gate] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _utc(self.start))
        object.__setattr__(self, "end", _utc(self.end))
        object.__setattr__(self, "gates", tuple(self.gates))
        if self.end < self.start:
            raise ValueError(f"the window ends ({self.end}) before it starts ({self.start})")
        if self.canary == self.baseline:
            raise ValueError(f"canary and baseline are the same variant {self.canary!r}")

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def variants(self) -> tuple[str, ...]:
        """The variants to fetch: the canary first, then the baseline if there is one."""
        return (self.canary,) if self.baseline is None else (self.canary, self.baseline)

    def describe(self) -> dict[str, Any]:
        """The query as JSON-friendly details for errors and evidence."""
        return {
            "flag": self.flag,
            "environment": self.environment,
            "canary": self.canary,
            "baseline": self.baseline,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class StepMetrics:
    """A provider's answer: both variants over the query's window, and what it could not give.

    ``missing`` maps a gate's key to the reason the provider has no value for it (the judge
    then reports that gate as no data); ``source`` says where the numbers came from (the
    provider type, and for Prometheus the queries and the evaluation time), for evidence.
    """

    canary: VariantMetrics
    baseline: VariantMetrics | None
    missing: Mapping[str, str] = field(default_factory=dict)
    source: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "missing", MappingProxyType(dict(self.missing)))
        object.__setattr__(self, "source", MappingProxyType(dict(self.source)))

    def summary(self) -> dict[str, Any]:
        """JSON-friendly figures of both variants, the missing gates and the source."""
        return {
            "canary": self.canary.summary(),
            "baseline": self.baseline.summary() if self.baseline is not None else None,
            "missing": dict(sorted(self.missing.items())),
            "source": dict(self.source),
        }


class MetricProvider(Protocol):
    """Answers a step's :class:`MetricQuery`. Implementations must be thread-safe."""

    def fetch(self, query: MetricQuery) -> StepMetrics:
        """Both variants' metrics, or raise NoDataError / ProviderError (module docs)."""
        ...

    def validate_gates(self, gates: Sequence[Gate]) -> None:
        """Raise :class:`~rollwise.errors.ConfigError` naming each gate this provider
        cannot serve (``gates.<i>.metric`` or ``gates.<i>.query``) and why."""
        ...

    def close(self) -> None:
        """Release connections; the provider must not be used afterwards."""
        ...

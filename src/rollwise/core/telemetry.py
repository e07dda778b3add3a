"""What SDKs report to the control plane: request windows, usage, comparisons, overrides.

One schema shared by the SDK's reporter (which builds it) and the control plane's ingest
endpoint (which validates it), so the two cannot drift. A batch carries a ``batch_id``
chosen by the SDK: the control plane stores each id once, so a retried batch is never
counted twice.

Windows are aligned to the wall clock (``start`` is a multiple of ``seconds`` since the
epoch), so that windows of many processes and replicas fall in the same time bucket and
merge exactly: counts add up, latency sketches merge bucket by bucket.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .unit_sketches import SketchFormatError, decode_hll

__all__ = [
    "MAX_BATCH_EVENTS",
    "MAX_BATCH_EXPOSURES",
    "MAX_BATCH_WINDOWS",
    "ComparisonWindow",
    "DropCounts",
    "DurationSummary",
    "Exposure",
    "MismatchSample",
    "OverrideCount",
    "ProcessSample",
    "RequestSeries",
    "SdkInfo",
    "SketchData",
    "TelemetryBatch",
    "TrackedEvent",
    "UnitSketches",
    "UsageCount",
    "Window",
]

MAX_BATCH_WINDOWS = 360
"""At most an hour of 10-second windows in one batch (a reporter catching up)."""

Key = Annotated[str, Field(min_length=1, max_length=200)]
Count = Annotated[int, Field(ge=0, le=2**53)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SketchData(_Wire):
    """A :class:`rollwise.stats.LatencySketch` as ``to_dict`` writes it (seconds)."""

    accuracy: Annotated[float, Field(gt=0, lt=1)]
    offset: Annotated[int, Field(ge=-100_000, le=100_000)]
    bins: Annotated[list[Count], Field(max_length=4096)]
    zero_count: Count
    count: Count
    sum: float
    min: float | None = None
    max: float | None = None


class RequestSeries(_Wire):
    """Requests served under one (flag, variant, route) in one window.

    ``errors`` are server errors (5xx or an exception); ``client_errors`` (4xx) are counted
    apart and are not failures of the variant. ``latency`` covers every request.
    """

    flag: Key
    variant: Key
    route: Annotated[str, Field(max_length=200)] = ""
    requests: Count
    errors: Count
    client_errors: Count = 0
    latency: SketchData


class UsageCount(_Wire):
    """How many evaluations of ``flag`` returned ``variant`` (the usage share)."""

    flag: Key
    variant: Key
    count: Count


class DurationSummary(_Wire):
    count: Count = 0
    sum_seconds: Annotated[float, Field(ge=0)] = 0.0
    max_seconds: Annotated[float, Field(ge=0)] = 0.0


class ComparisonWindow(_Wire):
    """Dual-run outcomes of one (comparison name, flag, variant) in one window.

    ``counts`` maps each :class:`rollwise.sdk.compare.Outcome` value to its count.
    """

    name: Key
    flag: Key
    variant: Key
    counts: dict[Key, Count]
    durations: dict[Key, DurationSummary] = Field(default_factory=dict)


Percent = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]


class ProcessSample(_Wire):
    """How much of the machine the sending process used in a window, under its release.

    ``flag`` and ``variant`` are the release flag and the release the process runs (what
    its requests are recorded under too), so the control plane keeps the figures per
    release. ``cpu_percent`` is of the whole machine (100: every core busy), averaged over
    the window; ``memory_percent`` is the resident set as a share of the machine's RAM,
    ``rss_bytes`` that resident set, both read when the window closed. Old SDKs send no
    sample: every field of a :class:`Window` that carries one is optional.
    """

    flag: Key
    variant: Key
    cpu_percent: Percent
    memory_percent: Percent
    rss_bytes: Annotated[int, Field(ge=0, le=2**53)]


class UnitSketches(_Wire):
    """Distinct units one (flag, variant) served in a window, and those with a failure.

    ``seen`` and ``failing`` are base64 compact DataSketches HLL sketches (see
    :mod:`rollwise.core.unit_sketches`) of the hashed unit of every request that had one,
    and of those among them with at least one server error (5xx or an exception)."""

    flag: Key
    variant: Key
    seen: str
    failing: str

    @field_validator("seen", "failing")
    @classmethod
    def _sketch(cls, value: str) -> str:
        try:
            decode_hll(value)
        except SketchFormatError as error:
            raise ValueError(f"not a unit sketch: {error}") from None
        return value


class Window(_Wire):
    """Everything one process saw in ``[start, start + seconds)``."""

    start: datetime
    seconds: Annotated[int, Field(ge=1, le=3600)] = 10
    series: Annotated[list[RequestSeries], Field(max_length=10_000)] = Field(default_factory=list)
    usage: Annotated[list[UsageCount], Field(max_length=10_000)] = Field(default_factory=list)
    comparisons: Annotated[list[ComparisonWindow], Field(max_length=10_000)] = Field(
        default_factory=list
    )
    process: ProcessSample | None = None
    """The sending process's CPU and memory in this window (None: not sampled)."""
    units: Annotated[list[UnitSketches], Field(max_length=1000)] = Field(default_factory=list)
    """Distinct units per (flag, variant), for unit-level gates (empty: none reported)."""


class MismatchSample(_Wire):
    """One kept dual-run sample (already redacted and size-capped by the SDK)."""

    name: Key
    flag: Key
    variant: Key
    primary: Key
    outcome: Key
    at: float
    input: Any = None
    control: Any = None
    candidate: Any = None


class OverrideCount(_Wire):
    """Per-request override decisions: honoured (with ``variant``) or rejected (``reason``)."""

    flag: Annotated[str, Field(max_length=200)]
    outcome: Key
    variant: str | None = None
    reason: str | None = None
    count: Count


class DropCounts(_Wire):
    """What the reporter had to drop since its previous successful batch, and why."""

    batches: Count = 0
    windows: Count = 0
    samples: Count = 0


class SdkInfo(_Wire):
    """Who sent a batch, and what it evaluates: the fleet view ``rollwise doctor`` compares with
    what the control plane serves (a stale revision, a process that stopped reporting)."""

    version: Annotated[str, Field(min_length=1, max_length=64)]
    host: Annotated[str, Field(min_length=1, max_length=200)]
    pid: Annotated[int, Field(ge=0, le=2**31)]
    config_revision: Annotated[int, Field(ge=0, le=2**53)] | None = None
    """The revision of the SDK document the client evaluates now (None: none yet)."""
    release: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    """The release this process runs (``ROLLWISE_RELEASE``), when it says."""
    started_at: datetime | None = None


MAX_BATCH_EXPOSURES = 10_000
"""Exposures in one batch (the SDK keeps at most this many between two batches)."""
MAX_BATCH_EVENTS = 10_000
"""Tracked events in one batch (likewise)."""

Unit = Annotated[str, Field(min_length=1, max_length=200)]


class Exposure(_Wire):
    """A unit's first evaluation into a running experiment, seen by this process."""

    experiment: Key
    unit: Unit
    arm: Key
    at: datetime


class TrackedEvent(_Wire):
    """``client.track(event, context, value)``: an event of a unit (value None counts 1)."""

    event: Annotated[str, Field(min_length=1, max_length=128)]
    unit: Unit
    value: Annotated[float, Field(allow_inf_nan=False)] | None = None
    at: datetime


class TelemetryBatch(_Wire):
    """One POST to ``/api/v1/sdk/telemetry``; idempotent by ``batch_id``."""

    batch_id: Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
    instance: Annotated[str, Field(min_length=1, max_length=200)]
    sent_at: datetime
    windows: Annotated[list[Window], Field(max_length=MAX_BATCH_WINDOWS)] = Field(
        default_factory=list
    )
    samples: Annotated[list[MismatchSample], Field(max_length=1000)] = Field(default_factory=list)
    overrides: Annotated[list[OverrideCount], Field(max_length=10_000)] = Field(
        default_factory=list
    )
    dropped: DropCounts = Field(default_factory=DropCounts)
    sdk: SdkInfo | None = None
    exposures: Annotated[list[Exposure], Field(max_length=MAX_BATCH_EXPOSURES)] = Field(
        default_factory=list
    )
    events: Annotated[list[TrackedEvent], Field(max_length=MAX_BATCH_EVENTS)] = Field(
        default_factory=list
    )

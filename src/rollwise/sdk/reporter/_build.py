"""Turning what one tick drained into :class:`TelemetryBatch` objects (no I/O).

Attribution: request series carry their own window (the recorder's). Usage counts and
comparison counts are not timestamped per call: what one tick drains is attached to the
window that tick closed (``target``). Their window is therefore right to within one tick's
lateness, which is what the control plane's time buckets need.

Every row is validated on its own: one bad row (a comparison name longer than the wire
allows, say) is skipped and counted, never the whole batch. Limits of the wire schema are
respected by splitting (windows, series) or by dropping and counting (samples).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ...core.telemetry import (
    MAX_BATCH_EVENTS,
    MAX_BATCH_EXPOSURES,
    MAX_BATCH_WINDOWS,
    ComparisonWindow,
    Exposure,
    MismatchSample,
    OverrideCount,
    ProcessSample,
    RequestSeries,
    TrackedEvent,
    UnitSketches,
    UsageCount,
    Window,
)
from ..recorder import ClosedWindow

__all__ = ["Batch", "Built", "Drained", "build_batches"]

MAX_SERIES = 10_000
MAX_UNITS = 1_000
"""Unit-sketch pairs per window (the wire's limit): one per (flag, variant) served."""
MAX_SAMPLES = 1_000
MAX_OVERRIDES = 10_000
MAX_BATCH_BYTES = 16 * 1024 * 1024
"""Windows are packed into batches of at most this much JSON: half the control plane's
default body limit for telemetry (32 MiB), so that a catch-up after an outage, whose
windows carry wide latency sketches, is never refused as too large."""

M = TypeVar("M", bound=BaseModel)


@dataclass(slots=True)
class Drained:
    """Everything one tick took from the recorder, the usage counter and the sinks."""

    windows: list[ClosedWindow] = field(default_factory=list)
    usage: list[tuple[str, str, int]] = field(default_factory=list)
    comparisons: list[dict[str, Any]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    overrides: list[dict[str, Any]] = field(default_factory=list)
    exposures: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class Batch:
    """The parts of one batch, before its id, instance, send time and drops are stamped."""

    windows: list[Window]
    samples: list[MismatchSample]
    overrides: list[OverrideCount]
    exposures: list[Exposure] = field(default_factory=list)
    events: list[TrackedEvent] = field(default_factory=list)


@dataclass(slots=True)
class Built:
    batches: list[Batch]
    invalid_rows: int = 0
    samples_cut: int = 0


def build_batches(
    drained: Drained,
    target: datetime,
    seconds: int,
    logger: logging.Logger,
    process: ProcessSample | None = None,
) -> Built:
    """Batches for ``drained``; usage, comparisons and the ``process`` sample go to the
    window starting at ``target`` (the window the tick closed)."""
    invalid = _Invalid(logger)
    usage = invalid.rows(UsageCount, drained.usage, _usage_row)
    comparisons = invalid.rows(ComparisonWindow, drained.comparisons, _comparison_row)
    samples = invalid.rows(MismatchSample, drained.samples)
    overrides = invalid.rows(OverrideCount, drained.overrides)

    windows = _windows(drained.windows, target, seconds, usage, comparisons, process)
    cut = max(0, len(samples) - MAX_SAMPLES)
    samples = samples[:MAX_SAMPLES]
    if len(overrides) > MAX_OVERRIDES:  # one row per flag and reason: never in practice
        logger.warning("rollwise: %d override rows over the limit skipped", len(overrides))
        invalid.count += len(overrides) - MAX_OVERRIDES
        overrides = overrides[:MAX_OVERRIDES]

    batches = [Batch(chunk, [], []) for chunk in _packed(windows)]
    if samples or overrides:
        if not batches:
            batches.append(Batch([], [], []))
        batches[0].samples = samples
        batches[0].overrides = overrides
    _add_experiment_data(batches, invalid, drained)
    return Built(batches, invalid.count, cut)


def _add_experiment_data(batches: list[Batch], invalid: _Invalid, drained: Drained) -> None:
    """Exposures and events ride along, at most the wire's limit of each per batch (more
    batches when a tick drained more: the SDK keeps at most that many anyway)."""
    exposures = invalid.rows(Exposure, drained.exposures)
    events = invalid.rows(TrackedEvent, drained.events)
    index = 0
    while exposures or events:
        if index == len(batches):
            batches.append(Batch([], [], []))
        batches[index].exposures = exposures[:MAX_BATCH_EXPOSURES]
        batches[index].events = events[:MAX_BATCH_EVENTS]
        exposures = exposures[MAX_BATCH_EXPOSURES:]
        events = events[MAX_BATCH_EVENTS:]
        index += 1


def _packed(windows: Sequence[Window]) -> list[list[Window]]:
    """Consecutive windows in batches of at most MAX_BATCH_WINDOWS and MAX_BATCH_BYTES
    (a single window larger than that still travels, alone)."""
    chunks: list[list[Window]] = []
    current: list[Window] = []
    size = 0
    for window in windows:
        length = len(window.model_dump_json())
        if current and (len(current) >= MAX_BATCH_WINDOWS or size + length > MAX_BATCH_BYTES):
            chunks.append(current)
            current, size = [], 0
        current.append(window)
        size += length
    if current:
        chunks.append(current)
    return chunks


def _windows(
    closed: Sequence[ClosedWindow],
    target: datetime,
    seconds: int,
    usage: list[UsageCount],
    comparisons: list[ComparisonWindow],
    process: ProcessSample | None = None,
) -> list[Window]:
    """One wire window per closed window (split past the series limit), plus the target's."""
    by_start: dict[datetime, list[RequestSeries]] = {}
    units: dict[datetime, list[UnitSketches]] = {}
    lengths: dict[datetime, int] = {}
    for window in closed:
        by_start.setdefault(window.start, []).extend(window.series)
        units.setdefault(window.start, []).extend(window.units)
        lengths[window.start] = window.seconds
    if usage or comparisons or process is not None:
        by_start.setdefault(target, [])
        lengths.setdefault(target, seconds)
    result: list[Window] = []
    for start in sorted(by_start):
        series = by_start[start]
        chunks = [series[i : i + MAX_SERIES] for i in range(0, len(series), MAX_SERIES)] or [[]]
        for number, chunk in enumerate(chunks):
            extra = start == target and number == 0
            result.append(
                Window(
                    start=start,
                    seconds=lengths[start],
                    series=chunk,
                    usage=usage if extra else [],
                    comparisons=comparisons if extra else [],
                    process=process if extra else None,
                    # unit sketches ride with the first chunk (a union: never counted twice)
                    units=units.get(start, [])[:MAX_UNITS] if number == 0 else [],
                )
            )
    return result


def _usage_row(row: tuple[str, str, int]) -> dict[str, Any] | None:
    flag, variant, count = row
    return {"flag": flag, "variant": variant, "count": count}


def _comparison_row(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """A sink's row without zero counts and sides that never ran (None: nothing happened)."""
    counts = {str(key): value for key, value in row["counts"].items() if value}
    if not counts:
        return None
    durations = {
        side: summary for side, summary in row.get("durations", {}).items() if summary["count"]
    }
    return {
        "name": row["name"],
        "flag": row["flag"],
        "variant": row["variant"],
        "counts": counts,
        "durations": durations,
    }


def _same(row: Any) -> Any:
    return row


class _Invalid:
    """Validates rows one by one; counts and logs (once per kind) the ones that fail."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self.count = 0

    def rows(
        self, model: type[M], rows: Iterable[Any], convert: Callable[[Any], Any] = _same
    ) -> list[M]:
        kept: list[M] = []
        failures = 0
        first: str | None = None
        for row in rows:
            try:
                data = convert(row)
                if data is not None:
                    kept.append(model.model_validate(data))
            except (ValidationError, LookupError, AttributeError, TypeError, ValueError) as error:
                failures += 1
                first = first or _short(error)
        if failures:
            self.count += failures
            self._logger.warning(
                "rollwise: %d %s row(s) not reportable, skipped (first: %s)",
                failures,
                model.__name__,
                first,
            )
        return kept


def _short(error: Exception) -> str:
    if isinstance(error, ValidationError):
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        return f"{where}: {problem['msg']}"
    return str(error)

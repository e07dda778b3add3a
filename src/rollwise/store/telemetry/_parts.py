"""Cutting a checked batch into parts small enough for one short write transaction.

A maximum-size batch (an hour of windows with thousands of series) stored in one
transaction held SQLite's write lock for half a minute. Stored in parts, each transaction
touches at most :data:`PART_ITEMS` entries. Each part is recorded in the same transaction
as its counts (part 0 by the batch's own id row, the others in ``telemetry_batch_parts``),
so a retried batch — after a lost answer, a kill -9 half-way, or racing its twin — stores
every part exactly once. The cut depends only on the batch itself, so a retry cuts it the
same way. Part 0 also carries the batch's samples, overrides and drop counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ...core.telemetry import Window
from ...stats.sketch import LatencySketch
from ._aggregate import OTHER, Deltas, aggregate, epoch
from ._batch import ParsedBatch
from .types import IgnoredTelemetry, IngestResult, TelemetryPolicy

__all__ = [
    "PART_ITEMS",
    "Admission",
    "BatchPart",
    "combine_results",
    "part_deltas",
    "part_result",
    "split_batch",
]

PART_ITEMS = 100
"""Series, usage and comparison entries stored per transaction (a few tens of ms)."""

_LISTED = 20


@dataclass(frozen=True, slots=True)
class BatchPart:
    """Part ``index`` of a batch; ``continued`` holds the positions of its windows that
    continue a window begun in an earlier part (not counted again as windows)."""

    index: int
    parsed: ParsedBatch
    continued: frozenset[int]


@dataclass(frozen=True, slots=True)
class Admission:
    """What a batch may store, decided once for all its parts (in a short transaction):
    the flags the control plane knows with their variants, and the (flag, route) and
    (flag, comparison name) pairs stored as they are (the others are folded)."""

    now: datetime
    known: dict[str, frozenset[str]]
    routes: frozenset[tuple[str, str]]
    names: frozenset[tuple[str, str]]
    stored: frozenset[int] = frozenset()
    """Parts already stored when the batch arrived (a retry): skipped without a write."""


def part_deltas(part: BatchPart, admission: Admission, policy: TelemetryPolicy) -> Deltas:
    """The bucket deltas of one part: pure CPU, done outside any write transaction."""
    now = epoch(admission.now)
    routes, names = admission.routes, admission.names
    return aggregate(
        part.parsed,
        admission.known,
        now=now,
        oldest=now - int(min(policy.keep_batch_ids, policy.keep_10s).total_seconds()),
        newest=now + int(policy.future_tolerance.total_seconds()),
        route_of=lambda flag, route: route if (flag, route) in routes else OTHER,
        name_of=lambda flag, name: name if (flag, name) in names else OTHER,
        continued=part.continued,
    )


def part_result(part: BatchPart, deltas: Deltas, environment: str, stored: bool) -> IngestResult:
    """What storing one part did (nothing when it had been stored before)."""
    batch_id = part.parsed.batch.batch_id
    if not stored:
        return IngestResult(duplicate=True, batch_id=batch_id, environment=environment)
    return IngestResult(
        duplicate=False,
        batch_id=batch_id,
        environment=environment,
        windows=deltas.windows,
        series=deltas.series,
        samples=len(deltas.samples),
        ignored=deltas.ignored,
    )


def split_batch(parsed: ParsedBatch, size: int = PART_ITEMS) -> list[BatchPart]:
    """The batch in parts of at most ``size`` entries (one part when it is small)."""
    batch = parsed.batch
    parts: list[BatchPart] = []
    windows: list[Window] = []
    sketches: list[list[LatencySketch]] = []
    continued: set[int] = set()
    room = size

    def flush() -> None:
        nonlocal windows, sketches, continued, room
        first = not parts
        update: dict[str, Any] = {"windows": windows}
        if not first:
            update |= {"samples": [], "overrides": []}
        parts.append(
            BatchPart(
                len(parts),
                ParsedBatch(batch.model_copy(update=update), sketches),
                frozenset(continued),
            )
        )
        windows, sketches, continued, room = [], [], set(), size

    for window, window_sketches in zip(batch.windows, parsed.sketches, strict=True):
        series = list(zip(window.series, window_sketches, strict=True))
        usage, comparisons = list(window.usage), list(window.comparisons)
        begun = False
        while True:
            if room <= 0:
                flush()
            taken_series, series = series[:room], series[room:]
            left = room - len(taken_series)
            taken_usage, usage = usage[:left], usage[left:]
            left -= len(taken_usage)
            taken_comparisons, comparisons = comparisons[:left], comparisons[left:]
            left -= len(taken_comparisons)
            if begun:
                continued.add(len(windows))
            windows.append(
                window.model_copy(
                    update={
                        "series": [s for s, _ in taken_series],
                        "usage": taken_usage,
                        "comparisons": taken_comparisons,
                    }
                )
            )
            sketches.append([sketch for _, sketch in taken_series])
            begun = True
            room = left
            if not (series or usage or comparisons):
                break
    if windows or not parts:
        flush()
    return parts


def combine_results(results: list[IngestResult]) -> IngestResult:
    """One answer for a batch stored in parts: a duplicate only when every part was."""
    first = results[0]
    if len(results) == 1:
        return first
    numbers: dict[str, int] = {}
    flags: set[str] = set()
    variants: set[str] = set()
    for result in results:
        ignored = result.ignored.model_dump()
        flags.update(ignored.pop("unknown_flags"))
        variants.update(ignored.pop("unknown_variants"))
        for name, value in ignored.items():
            numbers[name] = numbers.get(name, 0) + value
    return IngestResult(
        duplicate=all(result.duplicate for result in results),
        batch_id=first.batch_id,
        environment=first.environment,
        windows=sum(result.windows for result in results),
        series=sum(result.series for result in results),
        samples=sum(result.samples for result in results),
        ignored=IgnoredTelemetry(
            **numbers,
            unknown_flags=sorted(flags)[:_LISTED],
            unknown_variants=sorted(variants)[:_LISTED],
        ),
    )

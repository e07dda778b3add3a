"""Turning a checked batch into per-bucket deltas, before any row is touched.

A batch of an hour of 10-second windows lands in 360 fine buckets but only 12 five-minute
and one or two hourly ones: merging in memory first makes each bucket row one upsert.
Nothing here does I/O; what the control plane does not know (flags, variants) or will not
keep (too old, in the future) is counted in :class:`IgnoredTelemetry` instead.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ._batch import ParsedBatch
from ._packed import PackedSum, pack_started
from ._plan import align_down
from .types import RESOLUTIONS, IgnoredTelemetry, ProcessTotals

__all__ = [
    "ALL_ROUTES",
    "OTHER",
    "ComparisonDelta",
    "Deltas",
    "RequestDelta",
    "aggregate",
    "bounded",
    "epoch",
    "epoch_end",
    "label",
]

OTHER = "~other"
ALL_ROUTES = "~all"
"""The route of 10-second request buckets: they hold every route of a (flag, variant) in
one row. Per-route rows start at 5 minutes (a route's query is read from those), which
divides the rows the finest resolution stores by the number of routes."""
_LABEL = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
_MAX_OUTCOMES = 32
_MAX_SAMPLE_BYTES = 16_384
MAX_SAMPLE_DEPTH = 32
"""Nesting levels of a mismatch sample value kept (deeper ones are replaced by a marker):
far beyond real payloads, far below what JSON encoders and serializers recurse through."""
_LISTED = 20
MAX_COUNT = 2**63 - 1

RequestKey = tuple[str, int, int, str, str]  # flag, resolution, bucket, variant, route
UsageKey = tuple[str, int, int, str]  # flag, resolution, bucket, variant
ComparisonKey = tuple[str, int, int, str, str]  # flag, resolution, bucket, variant, name
OverrideKey = tuple[str, int, int, str, str, str]  # flag, res, bucket, outcome, variant, reason
ProcessKey = tuple[str, int, int, str]  # flag (the release flag), resolution, bucket, release


@dataclass(slots=True)
class RequestDelta:
    requests: int
    errors: int
    client_errors: int
    latency: PackedSum


@dataclass(slots=True)
class ComparisonDelta:
    counts: dict[str, int] = field(default_factory=dict)
    durations: dict[str, list[float]] = field(default_factory=dict)  # side: [n, sum, max]


@dataclass(slots=True)
class Deltas:
    requests: dict[RequestKey, RequestDelta] = field(default_factory=dict)
    usage: dict[UsageKey, int] = field(default_factory=dict)
    comparisons: dict[ComparisonKey, ComparisonDelta] = field(default_factory=dict)
    overrides: dict[OverrideKey, int] = field(default_factory=dict)
    process: dict[ProcessKey, ProcessTotals] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)
    windows: int = 0
    series: int = 0
    ignored: IgnoredTelemetry = field(default_factory=IgnoredTelemetry)


def _seconds(moment: datetime) -> float:
    """Seconds since the epoch; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def epoch(moment: datetime) -> int:
    """Whole seconds since the epoch, rounded down; a naive datetime is taken as UTC."""
    return math.floor(_seconds(moment))


def epoch_end(moment: datetime) -> int:
    """An exclusive end bound in whole seconds, rounded up: a query ending 0.4 s into a
    bucket still reads that bucket (rounding down would drop what arrived last)."""
    return math.ceil(_seconds(moment))


def label(value: str | None) -> str:
    """A short machine label (outcome, reason, side) kept as it is, anything else 'other'."""
    if value is None or value == "":
        return ""
    return value if _LABEL.match(value) else "other"


def _buckets(start: int) -> list[tuple[int, int]]:
    return [(resolution, align_down(start, resolution)) for resolution in RESOLUTIONS]


def aggregate(
    parsed: ParsedBatch,
    known: Mapping[str, frozenset[str]],
    *,
    now: int,
    oldest: int,
    newest: int,
    route_of: Callable[[str, str], str],
    name_of: Callable[[str, str], str],
    continued: Collection[int] = (),
) -> Deltas:
    """Deltas for every bucket the batch touches.

    ``known`` maps each flag the control plane knows to its variants; windows starting
    before ``oldest`` or after ``newest`` are ignored; ``route_of`` / ``name_of`` map a
    (flag, route | comparison name) to what is stored (itself or ``OTHER``). Windows at
    the positions in ``continued`` continue a window of an earlier part of the same batch:
    their entries are stored, the window is not counted again.
    """
    batch = parsed.batch
    deltas = Deltas()
    counts: dict[str, int] = {}
    unknown_flags: set[str] = set()
    unknown_variants: set[str] = set()

    def admitted(flag: str, variant: str, kind: str) -> bool:
        variants = known.get(flag)
        if variants is None:
            unknown_flags.add(flag)
        elif variant not in variants:
            unknown_variants.add(f"{flag}/{variant}")
        else:
            return True
        counts[kind] = counts.get(kind, 0) + 1
        return False

    for position, (window, sketches) in enumerate(zip(batch.windows, parsed.sketches, strict=True)):
        start = epoch(window.start)
        counted = 0 if position in continued else 1
        if start < oldest:
            counts["windows_too_old"] = counts.get("windows_too_old", 0) + counted
            continue
        if start > newest:
            counts["windows_in_future"] = counts.get("windows_in_future", 0) + counted
            continue
        deltas.windows += counted
        buckets = _buckets(start)
        for series, sketch in zip(window.series, sketches, strict=True):
            blob: bytes | None = None
            if not admitted(series.flag, series.variant, "series"):
                continue
            deltas.series += 1
            route = route_of(series.flag, series.route)
            if route == OTHER and series.route != OTHER:
                counts["folded_routes"] = counts.get("folded_routes", 0) + 1
            for resolution, bucket in buckets:
                stored = ALL_ROUTES if resolution == RESOLUTIONS[0] else route
                key = (series.flag, resolution, bucket, series.variant, stored)
                delta = deltas.requests.get(key)
                blob = pack_started(sketch) if blob is None else blob  # once per series
                if delta is None:  # a copy: no merge into an empty sketch, bin by bin
                    deltas.requests[key] = RequestDelta(
                        series.requests, series.errors, series.client_errors, PackedSum(blob)
                    )
                    continue
                delta.requests += series.requests
                delta.errors += series.errors
                delta.client_errors += series.client_errors
                delta.latency.add(sketch, blob)
        for usage in window.usage:
            if not admitted(usage.flag, usage.variant, "usage"):
                continue
            for resolution, bucket in buckets:
                usage_key = (usage.flag, resolution, bucket, usage.variant)
                deltas.usage[usage_key] = deltas.usage.get(usage_key, 0) + usage.count
        for comparison in window.comparisons:
            if not admitted(comparison.flag, comparison.variant, "comparisons"):
                continue
            name = name_of(comparison.flag, comparison.name)
            if name == OTHER and comparison.name != OTHER:
                counts["folded_comparisons"] = counts.get("folded_comparisons", 0) + 1
            outcome_counts = _outcomes(comparison.counts)
            for resolution, bucket in buckets:
                comparison_key = (comparison.flag, resolution, bucket, comparison.variant, name)
                target = deltas.comparisons.get(comparison_key)
                if target is None:
                    target = deltas.comparisons[comparison_key] = ComparisonDelta()
                add_counts(target.counts, outcome_counts)
                for side, summary in comparison.durations.items():
                    add_durations(
                        target.durations,
                        {
                            label(side): [
                                summary.count,
                                summary.sum_seconds,
                                summary.max_seconds,
                            ]
                        },
                    )
        used = window.process  # continued windows repeat their first part's sample
        if used is not None and counted and admitted(used.flag, used.variant, "process"):
            one = ProcessTotals(
                1,
                used.cpu_percent,
                used.cpu_percent,
                used.memory_percent,
                used.memory_percent,
                float(used.rss_bytes),
                used.rss_bytes,
            )
            for resolution, bucket in buckets:
                process_key = (used.flag, resolution, bucket, used.variant)
                deltas.process.setdefault(process_key, ProcessTotals()).add(one)
    now_buckets = _buckets(now)
    for override in batch.overrides:
        flag = override.flag if override.flag in known else ""
        variant = override.variant or ""
        if flag == "" or variant not in known[flag]:
            variant = ""
        for resolution, bucket in now_buckets:
            override_key = (
                flag,
                resolution,
                bucket,
                label(override.outcome),
                variant,
                label(override.reason),
            )
            deltas.overrides[override_key] = deltas.overrides.get(override_key, 0) + override.count
    for sample in batch.samples:
        if math.isfinite(sample.at) and sample.at < oldest:  # as old windows: maybe a retry
            counts["samples"] = counts.get("samples", 0) + 1
            continue
        if not admitted(sample.flag, sample.variant, "samples"):
            continue
        deltas.samples.append(
            {
                "name": name_of(sample.flag, sample.name),
                "flag": sample.flag,
                "variant": sample.variant,
                "primary_side": sample.primary,
                "outcome": sample.outcome,
                "at": _sample_time(sample.at, now, newest),
                "input": bounded(sample.input),
                "control": bounded(sample.control),
                "candidate": bounded(sample.candidate),
            }
        )
    deltas.ignored = IgnoredTelemetry(
        **counts,
        unknown_flags=sorted(unknown_flags)[:_LISTED],
        unknown_variants=sorted(unknown_variants)[:_LISTED],
    )
    return deltas


def _outcomes(counts: Mapping[str, int]) -> dict[str, int]:
    """Outcome labels as stored: at most ``_MAX_OUTCOMES`` distinct ones, then 'other'."""
    result: dict[str, int] = {}
    for outcome, count in counts.items():
        key = label(outcome) or "other"
        if key not in result and len(result) >= _MAX_OUTCOMES:
            key = "other"
        result[key] = min(result.get(key, 0) + count, MAX_COUNT)
    return result


def add_counts(target: dict[str, int], counts: Mapping[str, int]) -> None:
    for outcome, count in counts.items():
        key = outcome if outcome in target or len(target) < _MAX_OUTCOMES else "other"
        target[key] = min(target.get(key, 0) + count, MAX_COUNT)


def add_durations(target: dict[str, list[float]], durations: Mapping[str, list[float]]) -> None:
    for side, (count, total, longest) in durations.items():
        key = side if side in target or len(target) < _MAX_OUTCOMES else "other"
        mine = target.setdefault(key, [0, 0.0, 0.0])
        mine[0] = min(int(mine[0] + count), MAX_COUNT)
        mine[1] = float(mine[1] + total)
        mine[2] = float(max(mine[2], longest))


def _sample_time(at: float, now: int, newest: int) -> datetime:
    """The sample's own time when it is a plausible one, else the time it arrived."""
    if math.isfinite(at) and 0 <= at <= newest:
        return datetime.fromtimestamp(at, UTC)
    return datetime.fromtimestamp(now, UTC)


def bounded(value: Any) -> Any:
    """The value as reported when it is small, shallow and plain JSON, else a marker saying
    why not (``{"rollwise_omitted": reason}``). Used at ingest and again on every read, so
    a sample stored before the depth cap existed cannot break the API."""
    if value is None:
        return None
    depth = _depth(value)
    if depth > MAX_SAMPLE_DEPTH:
        return {"rollwise_omitted": f"nested deeper than {MAX_SAMPLE_DEPTH} levels"}
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return {"rollwise_omitted": "not storable as JSON (NaN or infinity)"}
    if len(text) > _MAX_SAMPLE_BYTES:
        return {"rollwise_omitted": f"{len(text)} bytes; at most {_MAX_SAMPLE_BYTES} are kept"}
    return value


def _depth(value: Any) -> int:
    """Nesting depth of lists and dicts, iteratively (no recursion, whatever the input);
    stops counting past :data:`MAX_SAMPLE_DEPTH`."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_SAMPLE_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest

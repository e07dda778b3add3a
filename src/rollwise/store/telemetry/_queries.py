"""Telemetry queries: what each variant served in a window, as one window or as a time
series, read from the coarsest buckets retention still keeps; reporting statistics,
override counts and the kept mismatch samples.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import LargeBinary, Table, Text, and_, cast, distinct, func, select, type_coerce

from ...stats.sketch import LatencySketch
from .._base import Operations, aware
from ..tables import (
    comparison_buckets,
    mismatch_samples,
    override_buckets,
    request_buckets,
    telemetry_batches,
    usage_buckets,
)
from ._aggregate import MAX_COUNT, bounded, epoch, epoch_end
from ._plan import Segment, cover, series_plan
from .types import (
    RESOLUTIONS,
    ComparisonDurations,
    MismatchSampleRecord,
    ReportingStats,
    SeriesPlan,
    TelemetryPolicy,
    VariantSeries,
    VariantWindow,
)

__all__ = ["ROUTE_RESOLUTION", "TelemetryQueries"]

_SAMPLE_VALUES = ("input", "control", "candidate")
ROUTE_RESOLUTION = 300
"""The finest buckets kept per route (10-second ones hold every route of a variant)."""
_NEVER = 2**62


class TelemetryQueries(Operations):
    """Reads SDK telemetry (the judge's windows, the metrics API's series)."""

    telemetry_policy: TelemetryPolicy = TelemetryPolicy()

    def variant_window(
        self,
        environment: str,
        flag: str,
        start: datetime,
        end: datetime,
        route: str | None = None,
    ) -> dict[str, VariantWindow]:
        """What each variant of ``flag`` served in ``[start, end)``, merged over replicas.

        The rollout judge's input. Buckets are attributed by their start and the bounds
        rounded up to 10 s (the finest resolution; coarser where 10 s buckets are no longer
        kept). The window is read from the coarsest buckets that fit it, so a week costs a
        few hundred rows per series. ``route`` narrows the request counts and latencies to
        one route template (``None``: every route; usage and comparisons have no route).
        Variants with no data at all are absent; an unknown flag or
        environment gives ``{}``.
        """
        segments = cover(epoch(start), epoch_end(end), self._oldest(route))
        windows: dict[str, VariantWindow] = {}

        def window(variant: str) -> VariantWindow:
            found = windows.get(variant)
            if found is None:
                found = windows[variant] = VariantWindow(variant)
            return found

        for row in self._request_rows(environment, (flag,), segments, route):
            _add_request(window(row.variant), row)
        for row in self._usage_rows(environment, (flag,), segments):
            window(row.variant).usage += row[3]
        for row in self._comparison_rows(environment, (flag,), segments):
            _add_comparison(window(row.variant), row)
        return {variant: windows[variant] for variant in sorted(windows)}

    def environment_window(
        self, environment: str, start: datetime, end: datetime
    ) -> dict[str, dict[str, VariantWindow]]:
        """:meth:`variant_window` of every flag with data in ``[start, end)``: flag → variant."""
        segments = cover(epoch(start), epoch_end(end), self._oldest())
        result: dict[str, dict[str, VariantWindow]] = {}

        def window(flag: str, variant: str) -> VariantWindow:
            variants = result.setdefault(flag, {})
            found = variants.get(variant)
            if found is None:
                found = variants[variant] = VariantWindow(variant)
            return found

        for row in self._request_rows(environment, None, segments, None):
            _add_request(window(row.flag, row.variant), row)
        for row in self._usage_rows(environment, None, segments):
            window(row.flag, row.variant).usage += row[3]
        for row in self._comparison_rows(environment, None, segments):
            _add_comparison(window(row.flag, row.variant), row)
        return {
            flag: {variant: result[flag][variant] for variant in sorted(result[flag])}
            for flag in sorted(result)
        }

    def plan_series(
        self, start: datetime, end: datetime, step: int | None = None, route: str | None = None
    ) -> SeriesPlan:
        """How :meth:`variant_series` would read ``[start, end)`` in steps of ``step`` s.

        ``step`` is rounded up to what the buckets allow (see ``SeriesPlan``); ``None``
        picks a round step giving at most 240 points. One route's series (``route``) is
        read from 5-minute buckets at the finest (10-second buckets hold every route).
        """
        return series_plan(epoch(start), epoch_end(end), step, self._oldest(route))

    def variant_series(
        self, environment: str, flag: str, plan: SeriesPlan, route: str | None = None
    ) -> list[VariantSeries]:
        """Each variant's :class:`VariantWindow` per step of ``plan`` (a time series).

        Reads ``plan.rows_per_series`` buckets per (variant, route); callers bound that.
        """
        if route is not None and plan.resolution < ROUTE_RESOLUTION:
            raise ValueError("a route's series needs a plan made with plan_series(route=...)")
        segments = [(plan.resolution, plan.start, plan.end)]
        series: dict[str, list[VariantWindow]] = {}

        def point(variant: str, bucket_start: int) -> VariantWindow:
            points = series.get(variant)
            if points is None:
                points = series[variant] = [VariantWindow(variant) for _ in range(plan.points)]
            return points[(bucket_start - plan.start) // plan.step]

        for row in self._request_rows(environment, (flag,), segments, route):
            _add_request(point(row.variant, row.bucket_start), row)
        for row in self._usage_rows(environment, (flag,), segments):
            point(row.variant, row.bucket_start).usage += row[3]
        for row in self._comparison_rows(environment, (flag,), segments):
            _add_comparison(point(row.variant, row.bucket_start), row)
        return [VariantSeries(variant, series[variant]) for variant in sorted(series)]

    def reporting_stats(self, environment: str, since: datetime) -> ReportingStats:
        """Batches received from ``environment``'s SDKs since ``since`` (at most a day)."""
        c = telemetry_batches.c
        row = self._conn.execute(
            select(
                func.count(),
                func.count(distinct(c.instance)),
                func.max(c.received_at),
                func.coalesce(func.sum(c.dropped_batches), 0),
                func.coalesce(func.sum(c.dropped_windows), 0),
                func.coalesce(func.sum(c.dropped_samples), 0),
            ).where(c.environment == environment, c.received_at >= since)
        ).one()
        return ReportingStats(
            batches=row[0],
            instances=row[1],
            last_report_at=aware(row[2]),
            dropped_batches=min(int(row[3]), MAX_COUNT),
            dropped_windows=min(int(row[4]), MAX_COUNT),
            dropped_samples=min(int(row[5]), MAX_COUNT),
        )

    def override_counts(
        self, environment: str, start: datetime, end: datetime
    ) -> dict[tuple[str, str, str, str], int]:
        """Per-request override decisions: (flag, outcome, variant, reason) → count."""
        totals: dict[tuple[str, str, str, str], int] = {}
        c = override_buckets.c
        for resolution, low, high in cover(epoch(start), epoch_end(end), self._oldest()):
            rows = self._conn.execute(
                select(c.flag, c.outcome, c.variant, c.reason, c["count"]).where(
                    c.environment == environment,
                    c.resolution == resolution,
                    c.bucket_start >= low,
                    c.bucket_start < high,
                )
            )
            for row in rows:
                key = (row.flag, row.outcome, row.variant, row.reason)
                totals[key] = totals.get(key, 0) + row[4]
        return totals

    def list_mismatch_samples(
        self,
        environment: str,
        name: str | None = None,
        limit: int = 50,
        *,
        flag: str | None = None,
        before_id: int | None = None,
    ) -> list[MismatchSampleRecord]:
        """Kept mismatch samples, newest first (``before_id``: the next page)."""
        c = mismatch_samples.c
        values = [cast(c[name], Text).label(name) for name in ("input", "control", "candidate")]
        plain = [column for column in mismatch_samples.c if column.name not in _SAMPLE_VALUES]
        statement = (
            select(*plain, *values)
            .where(c.environment == environment)
            .order_by(c.id.desc())
            .limit(max(1, min(limit, 1000)))
        )
        if name is not None:
            statement = statement.where(c.name == name)
        if flag is not None:
            statement = statement.where(c.flag == flag)
        if before_id is not None:
            statement = statement.where(c.id < before_id)
        return [
            MismatchSampleRecord(
                id=row.id,
                environment=row.environment,
                name=row.name,
                flag=row.flag,
                variant=row.variant,
                primary=row.primary_side,
                outcome=row.outcome,
                at=aware(row.at),
                received_at=aware(row.received_at),
                instance=row.instance,
                input=_stored_value(row.input),
                control=_stored_value(row.control),
                candidate=_stored_value(row.candidate),
            )
            for row in self._conn.execute(statement)
        ]

    def _oldest(self, route: str | None = None) -> dict[int, int]:
        """The oldest bucket start retention keeps, per resolution (for one route's
        requests, none at 10 s: those buckets hold every route in one row)."""
        now = epoch(self._now())
        oldest = {
            resolution: now - int(self.telemetry_policy.keep(resolution).total_seconds())
            for resolution in RESOLUTIONS
        }
        if route is not None:
            oldest.update({r: _NEVER for r in RESOLUTIONS if r < ROUTE_RESOLUTION})
        return oldest

    def _bucket_rows(
        self,
        table: Table,
        columns: Sequence[Any],
        environment: str,
        flag_keys: Sequence[str] | None,
        segments: Sequence[Segment],
        extra: Sequence[Any] = (),
    ) -> Iterable[Any]:
        c = table.c
        for resolution, low, high in segments:
            conditions = [
                c.environment == environment,
                c.resolution == resolution,
                c.bucket_start >= low,
                c.bucket_start < high,
                *extra,
            ]
            if flag_keys is not None:
                conditions.append(c.flag.in_(flag_keys))
            yield from self._conn.execute(select(*columns).where(and_(*conditions)))

    def _request_rows(
        self,
        environment: str,
        flag_keys: Sequence[str] | None,
        segments: Sequence[Segment],
        route: str | None,
    ) -> Iterable[Any]:
        c = request_buckets.c
        columns = (c.flag, c.variant, c.bucket_start, c.requests, c.errors, c.client_errors)
        extra = [c.route == route] if route is not None else []
        latency = type_coerce(c.latency, LargeBinary).label("latency")  # packed (0014)
        return self._bucket_rows(
            request_buckets, (*columns, latency), environment, flag_keys, segments, extra
        )

    def _usage_rows(
        self, environment: str, flag_keys: Sequence[str] | None, segments: Sequence[Segment]
    ) -> Iterable[Any]:
        c = usage_buckets.c
        return self._bucket_rows(
            usage_buckets,
            (c.flag, c.variant, c.bucket_start, c["count"]),
            environment,
            flag_keys,
            segments,
        )

    def _comparison_rows(
        self, environment: str, flag_keys: Sequence[str] | None, segments: Sequence[Segment]
    ) -> Iterable[Any]:
        c = comparison_buckets.c
        return self._bucket_rows(
            comparison_buckets,
            (c.flag, c.variant, c.bucket_start, c.counts, c.durations),
            environment,
            flag_keys,
            segments,
        )


def _stored_value(text: str | None) -> Any:
    """A sample value as stored (JSON text), bounded again: rows stored before the depth
    cap, or unreadable ones, become a marker instead of failing the whole page."""
    if text is None or text == "null":
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return {"rollwise_omitted": "stored value is not readable JSON"}
    return bounded(value)


def _add_request(window: VariantWindow, row: Any) -> None:
    window.requests += row.requests
    window.errors += row.errors
    window.client_errors += row.client_errors
    window.latency.merge(LatencySketch.from_bytes(row.latency))


def _add_comparison(window: VariantWindow, row: Any) -> None:
    for outcome, count in row.counts.items():
        window.comparisons[outcome] = window.comparisons.get(outcome, 0) + int(count)
    for side, (count, total, longest) in row.durations.items():
        mine = window.durations.setdefault(side, ComparisonDurations())
        mine.count += int(count)
        mine.sum_seconds += float(total)
        mine.max_seconds = max(mine.max_seconds, float(longest))

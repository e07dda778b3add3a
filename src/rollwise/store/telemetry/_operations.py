"""Telemetry from SDKs: idempotent ingest into time buckets, window queries, retention.

What is stored
    Each reported window is added, at ingest, to one bucket of each resolution (10 s,
    5 min, 1 h; :data:`RESOLUTIONS`) — the bucket containing the window's start — keyed by
    (environment, flag, resolution, bucket start, variant, route): request, error and
    client error counts and a merged latency sketch. Usage counts, dual-run outcome counts
    (with each side's durations) and override decisions are bucketed the same way
    (overrides by the time they arrive). Mismatch samples are kept per (environment,
    comparison name), the latest ``samples_per_name``.

What is not
    Only flags the control plane knows, and only their variants, are stored: an SDK cannot
    create rows for keys nobody created (usage of an unknown flag, a variant removed since
    the SDK's config, a typo). Route templates and comparison names are capped per flag
    (``max_routes_per_flag`` / ``max_comparisons_per_flag``), later ones are folded into
    ``~other``. Windows older than ``keep_batch_ids`` (or further in the future than
    ``future_tolerance``) are ignored. What was ignored is returned in
    :class:`IngestResult`, never silently dropped.

Idempotent
    A batch id is stored once per environment, first thing in the transaction: a retried
    batch — even one racing its twin on another replica — finds it and counts nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, Text, and_, cast, delete, distinct, func, insert, select

from ...core.telemetry import TelemetryBatch
from ...stats.sketch import LatencySketch
from .._base import Operations, aware
from ..tables import (
    comparison_buckets,
    environments,
    flags,
    mismatch_samples,
    override_buckets,
    request_buckets,
    telemetry_batch_parts,
    telemetry_batches,
    telemetry_keys,
    usage_buckets,
)
from ._aggregate import (
    MAX_COUNT,
    OTHER,
    ComparisonDelta,
    Deltas,
    add_counts,
    add_durations,
    bounded,
    epoch,
    epoch_end,
)
from ._batch import ParsedBatch, parse_batch
from ._parts import (
    Admission,
    BatchPart,
    combine_results,
    part_deltas,
    part_result,
    split_batch,
)
from ._plan import Segment, cover, series_plan
from ._sketch import merge_sketch_data
from ._upsert import add_counts_to_rows, insert_ignoring_conflicts, merge_rows
from .types import (
    RESOLUTIONS,
    ComparisonDurations,
    IngestResult,
    MismatchSampleRecord,
    PurgeResult,
    ReportingStats,
    SeriesPlan,
    TelemetryPolicy,
    VariantSeries,
    VariantWindow,
)

__all__ = ["BatchPart", "ParsedBatch", "TelemetryOperations", "parse_batch", "split_batch"]

_BUCKET_TABLES: tuple[Table, ...] = (
    request_buckets,
    usage_buckets,
    comparison_buckets,
    override_buckets,
)
_KEY = ("environment", "flag", "resolution", "bucket_start")
_SAMPLE_VALUES = ("input", "control", "candidate")
ROUTE_RESOLUTION = 300
"""The finest buckets kept per route (10-second ones hold every route of a variant)."""
_NEVER = 2**62
MAX_DROPPED = 2**40  # per batch: a day of sums stays far inside 64 bits (SQLite's sum())


class TelemetryOperations(Operations):
    """Ingest, queries and retention of SDK telemetry (see the module docstring)."""

    telemetry_policy: TelemetryPolicy = TelemetryPolicy()

    # -- ingest --------------------------------------------------------------------------

    def ingest_telemetry(
        self, environment: str, batch: TelemetryBatch | ParsedBatch
    ) -> IngestResult:
        """Store ``batch`` for ``environment`` once; a repeated batch id counts nothing.

        Everything in this one transaction (tests, small batches); the server stores
        batches in short transactions with :meth:`Store.ingest_telemetry` instead. Both
        record the same parts, so either path stores each part of a batch exactly once.
        Raises :class:`~rollwise.errors.ConfigError` naming each invalid field (a sketch
        that does not parse, errors above requests, ...) and ``NotFoundError`` for an
        unknown environment.
        """
        parsed = batch if isinstance(batch, ParsedBatch) else parse_batch(batch)
        parts = split_batch(parsed)
        admission = self.admit_telemetry(environment, parsed, check_stored=len(parts) > 1)
        results = []
        for part in parts:
            if part.index in admission.stored:
                results.append(part_result(part, Deltas(), environment, stored=False))
                continue
            deltas = part_deltas(part, admission, self.telemetry_policy)
            stored = self.store_telemetry_part(environment, part, deltas, admission.now)
            results.append(part_result(part, deltas, environment, stored))
        return combine_results(results)

    def admit_telemetry(
        self, environment: str, parsed: ParsedBatch, *, check_stored: bool = True
    ) -> Admission:
        """What of ``parsed`` may be stored: its known flags, its route templates and
        comparison names (new ones registered up to the caps, the others folded), and
        (``check_stored``) which of its parts a previous attempt already stored."""
        if not self._exists(environment):
            raise self._not_found("environment", environment)
        wire, policy = parsed.batch, self.telemetry_policy
        known = self._known_flags(_flags_in(wire))
        routes = self._admit(environment, "route", policy.max_routes_per_flag, _routes(wire, known))
        names = self._admit(
            environment, "comparison", policy.max_comparisons_per_flag, _names(wire, known)
        )
        return Admission(
            self._now(),
            known,
            frozenset(routes),
            frozenset(names),
            self._stored_parts(environment, wire.batch_id) if check_stored else frozenset(),
        )

    def _stored_parts(self, environment: str, batch_id: str) -> frozenset[int]:
        """The parts of this batch already stored (none for a new batch id)."""
        b, p = telemetry_batches.c, telemetry_batch_parts.c
        first = self._conn.execute(
            select(b.batch_id).where(b.environment == environment, b.batch_id == batch_id)
        ).first()
        if first is None:
            return frozenset()
        others = self._conn.execute(
            select(p.part).where(p.environment == environment, p.batch_id == batch_id)
        ).scalars()
        return frozenset({0, *others})

    def store_telemetry_part(
        self, environment: str, part: BatchPart, deltas: Deltas, now: datetime
    ) -> bool:
        """Add one part's deltas unless that part was already stored (then False)."""
        if not self._claim(environment, part, now):
            return False
        self._store(environment, part.parsed.batch.instance, deltas)
        return True

    def _claim(self, environment: str, part: BatchPart, now: datetime) -> bool:
        """Record this part as stored, first thing in its transaction; False when it
        already was (a retry, or its twin won the race: PostgreSQL waits for the twin's
        transaction and then sees its row)."""
        wire = part.parsed.batch
        if part.index == 0:
            statement = insert_ignoring_conflicts(self._conn, telemetry_batches).values(
                environment=environment,
                batch_id=wire.batch_id,
                instance=wire.instance,
                received_at=now,
                dropped_batches=min(wire.dropped.batches, MAX_DROPPED),
                dropped_windows=min(wire.dropped.windows, MAX_DROPPED),
                dropped_samples=min(wire.dropped.samples, MAX_DROPPED),
            )
            key = telemetry_batches.c.batch_id
        else:
            statement = insert_ignoring_conflicts(self._conn, telemetry_batch_parts).values(
                environment=environment, batch_id=wire.batch_id, part=part.index, received_at=now
            )
            key = telemetry_batch_parts.c.batch_id
        return self._conn.execute(statement.returning(key)).first() is not None

    def _exists(self, environment: str) -> bool:
        row = self._conn.execute(
            select(environments.c.key).where(environments.c.key == environment)
        ).first()
        return row is not None

    def _known_flags(self, keys: set[str]) -> dict[str, frozenset[str]]:
        if not keys:
            return {}
        rows = self._conn.execute(
            select(flags.c.key, flags.c.variants).where(flags.c.key.in_(sorted(keys)))
        )
        return {row.key: frozenset(row.variants) for row in rows}

    def _admit(
        self, environment: str, kind: str, cap: int, wanted: dict[str, set[str]]
    ) -> set[tuple[str, str]]:
        """The (flag, key) pairs stored as they are; new ones registered up to ``cap``."""
        admitted: set[tuple[str, str]] = set()
        k = telemetry_keys.c
        for flag, keys in sorted(wanted.items()):
            known = {
                row.key
                for row in self._conn.execute(
                    select(k.key).where(
                        k.environment == environment, k.flag == flag, k.kind == kind
                    )
                )
            }
            room = cap - len(known)
            new = []
            for key in sorted(keys):
                if key in known or key == OTHER:
                    admitted.add((flag, key))
                elif room > 0:
                    room -= 1
                    new.append(key)
                    admitted.add((flag, key))
            if new:
                self._conn.execute(
                    insert_ignoring_conflicts(self._conn, telemetry_keys),
                    [
                        {
                            "environment": environment,
                            "flag": flag,
                            "kind": kind,
                            "key": key,
                            "created_at": self._now(),
                        }
                        for key in new
                    ],
                )
        return admitted

    def _store(self, environment: str, instance: str, deltas: Deltas) -> None:
        conn = self._conn
        requests = {
            (environment, *key): {
                "requests": min(delta.requests, MAX_COUNT),
                "errors": min(delta.errors, MAX_COUNT),
                "client_errors": min(delta.client_errors, MAX_COUNT),
                "latency": delta.latency.to_dict(),
            }
            for key, delta in deltas.requests.items()
        }
        merge_rows(
            conn,
            request_buckets,
            (*_KEY, "variant", "route"),
            requests,
            lambda row, key: _combine_requests(row, requests[key]),
        )
        add_counts_to_rows(
            conn,
            usage_buckets,
            (*_KEY, "variant"),
            {(environment, *key): count for key, count in deltas.usage.items()},
            MAX_COUNT,
        )
        comparisons = {(environment, *key): delta for key, delta in deltas.comparisons.items()}
        merge_rows(
            conn,
            comparison_buckets,
            (*_KEY, "variant", "name"),
            {
                key: {"counts": delta.counts, "durations": delta.durations}
                for key, delta in comparisons.items()
            },
            lambda row, key: _combine_comparisons(row, comparisons[key]),
        )
        add_counts_to_rows(
            conn,
            override_buckets,
            (*_KEY, "outcome", "variant", "reason"),
            {(environment, *key): count for key, count in deltas.overrides.items()},
            MAX_COUNT,
        )
        if deltas.samples:
            received = self._now()
            conn.execute(
                insert(mismatch_samples),
                [
                    {"environment": environment, "received_at": received, "instance": instance}
                    | sample
                    for sample in deltas.samples
                ],
            )
            self._trim_samples(environment, {sample["name"] for sample in deltas.samples})

    def _trim_samples(self, environment: str, names: Iterable[str]) -> None:
        """Keep the latest ``samples_per_name`` samples of each name (locked in id order)."""
        c = mismatch_samples.c
        for name in sorted(names):
            surplus = list(
                self._conn.execute(
                    select(c.id)
                    .where(c.environment == environment, c.name == name)
                    .order_by(c.id.desc())
                    .offset(self.telemetry_policy.samples_per_name)
                ).scalars()
            )
            self._delete_samples(surplus)

    def _delete_samples(self, ids: Sequence[int]) -> int:
        """Delete these samples, locking them in id order first (no deadlock with a twin)."""
        ordered = sorted(ids)
        c = mismatch_samples.c
        for index in range(0, len(ordered), 1000):
            chunk = ordered[index : index + 1000]
            self._conn.execute(
                select(c.id).where(c.id.in_(chunk)).order_by(c.id).with_for_update()
            ).all()
            self._conn.execute(delete(mismatch_samples).where(c.id.in_(chunk)))
        return len(ordered)

    # -- queries -------------------------------------------------------------------------

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
        return self._bucket_rows(
            request_buckets, (*columns, c.latency), environment, flag_keys, segments, extra
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

    # -- retention -----------------------------------------------------------------------

    def purge_telemetry(self) -> PurgeResult:
        """Delete what retention no longer keeps (as of the store's clock).

        Buckets older than their resolution's retention, batch ids older than
        ``keep_batch_ids`` and samples older than ``keep_samples``. Safe to run on every
        replica at once (deletes are idempotent; ingest never writes rows this old).
        """
        policy = self.telemetry_policy
        now_moment = self._now()
        now = epoch(now_moment)
        deleted: dict[str, int] = {}
        keys = [row.key for row in self._conn.execute(select(environments.c.key))]
        for table in _BUCKET_TABLES:
            count = 0
            for environment in keys:
                for resolution in RESOLUTIONS:
                    cutoff = now - int(policy.keep(resolution).total_seconds())
                    count += self._conn.execute(
                        delete(table).where(
                            table.c.environment == environment,
                            table.c.resolution == resolution,
                            table.c.bucket_start < cutoff,
                        )
                    ).rowcount
            deleted[table.name] = count
        deleted["telemetry_batches"] = self._conn.execute(
            delete(telemetry_batches).where(
                telemetry_batches.c.received_at < now_moment - policy.keep_batch_ids
            )
        ).rowcount
        deleted["telemetry_batch_parts"] = self._conn.execute(
            delete(telemetry_batch_parts).where(
                telemetry_batch_parts.c.received_at < now_moment - policy.keep_batch_ids
            )
        ).rowcount
        c = mismatch_samples.c
        old = self._conn.execute(
            select(c.id).where(c.received_at < now_moment - policy.keep_samples)
        ).scalars()
        deleted["mismatch_samples"] = self._delete_samples(list(old))
        return PurgeResult(deleted=deleted)


# -- helpers -------------------------------------------------------------------------------


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


def _flags_in(batch: TelemetryBatch) -> set[str]:
    keys = {override.flag for override in batch.overrides}
    keys.update(sample.flag for sample in batch.samples)
    for window in batch.windows:
        keys.update(series.flag for series in window.series)
        keys.update(usage.flag for usage in window.usage)
        keys.update(comparison.flag for comparison in window.comparisons)
    return keys


def _routes(batch: TelemetryBatch, known: Mapping[str, object]) -> dict[str, set[str]]:
    """Route templates per known flag (unknown flags register nothing)."""
    routes: dict[str, set[str]] = {}
    for window in batch.windows:
        for series in window.series:
            if series.flag in known:
                routes.setdefault(series.flag, set()).add(series.route)
    return routes


def _names(batch: TelemetryBatch, known: Mapping[str, object]) -> dict[str, set[str]]:
    """Comparison names per known flag."""
    names: dict[str, set[str]] = {}
    for window in batch.windows:
        for comparison in window.comparisons:
            if comparison.flag in known:
                names.setdefault(comparison.flag, set()).add(comparison.name)
    for sample in batch.samples:
        if sample.flag in known:
            names.setdefault(sample.flag, set()).add(sample.name)
    return names


def _combine_requests(row: Any, delta: dict[str, Any]) -> dict[str, Any]:
    return {
        "requests": min(row.requests + delta["requests"], MAX_COUNT),
        "errors": min(row.errors + delta["errors"], MAX_COUNT),
        "client_errors": min(row.client_errors + delta["client_errors"], MAX_COUNT),
        "latency": merge_sketch_data(row.latency, delta["latency"]),
    }


def _combine_comparisons(row: Any, delta: ComparisonDelta) -> dict[str, Any]:
    counts = dict(row.counts)
    add_counts(counts, delta.counts)
    durations = {side: list(values) for side, values in row.durations.items()}
    add_durations(durations, delta.durations)
    return {"counts": counts, "durations": durations}


def _add_request(window: VariantWindow, row: Any) -> None:
    window.requests += row.requests
    window.errors += row.errors
    window.client_errors += row.client_errors
    window.latency.merge(LatencySketch.from_dict(row.latency))


def _add_comparison(window: VariantWindow, row: Any) -> None:
    for outcome, count in row.counts.items():
        window.comparisons[outcome] = window.comparisons.get(outcome, 0) + int(count)
    for side, (count, total, longest) in row.durations.items():
        mine = window.durations.setdefault(side, ComparisonDurations())
        mine.count += int(count)
        mine.sum_seconds += float(total)
        mine.max_seconds = max(mine.max_seconds, float(longest))

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

from sqlalchemy import Table, delete, select

from ..tables import (
    comparison_buckets,
    environments,
    experiment_batches,
    mismatch_samples,
    override_buckets,
    request_buckets,
    telemetry_batch_parts,
    telemetry_batches,
    usage_buckets,
)
from ..tables.telemetry import process_buckets
from ..tables.units import unit_buckets
from ._aggregate import epoch
from ._batch import ParsedBatch, parse_batch
from ._ingest import TelemetryIngest
from ._parts import BatchPart, split_batch
from ._process import ProcessQueries
from ._queries import TelemetryQueries
from .types import RESOLUTIONS, PurgeResult

__all__ = ["BatchPart", "ParsedBatch", "TelemetryOperations", "parse_batch", "split_batch"]

_BUCKET_TABLES: tuple[Table, ...] = (
    request_buckets,
    usage_buckets,
    comparison_buckets,
    override_buckets,
    process_buckets,
    unit_buckets,
)


class TelemetryOperations(TelemetryIngest, TelemetryQueries, ProcessQueries):
    """Ingest (``_ingest.py``), queries (``_queries.py``, process samples ``_process.py``)
    and retention of SDK telemetry."""

    # -- retention -----------------------------------------------------------------------

    def purge(self) -> PurgeResult:
        """Delete what retention no longer keeps (as of the store's clock).

        Buckets older than their resolution's retention, batch ids (telemetry and experiment
        data) older than ``keep_batch_ids`` and samples older than ``keep_samples``. Safe to
        run on every replica at once (deletes are idempotent; ingest never writes rows this
        old).
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
        deleted["experiment_batches"] = self._conn.execute(
            delete(experiment_batches).where(
                experiment_batches.c.received_at < now_moment - policy.keep_batch_ids
            )
        ).rowcount
        c = mismatch_samples.c
        old = self._conn.execute(
            select(c.id).where(c.received_at < now_moment - policy.keep_samples)
        ).scalars()
        deleted["mismatch_samples"] = self._delete_samples(list(old))
        return PurgeResult(deleted=deleted)

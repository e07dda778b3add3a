"""What SDKs report (see ``rollwise.store.telemetry``): batches, buckets, samples, keys."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
)

from ._metadata import metadata

__all__ = [
    "comparison_buckets",
    "mismatch_samples",
    "override_buckets",
    "process_buckets",
    "request_buckets",
    "telemetry_batch_parts",
    "telemetry_batches",
    "telemetry_keys",
    "usage_buckets",
]

# -- telemetry (reported by SDKs; see rollwise.store.telemetry) ---------------------------
# Buckets are keyed by (environment, flag, resolution, bucket_start, ...) so that a flag's
# time range is one index range; the (environment, resolution, bucket_start) index serves
# environment summaries and the retention purge. bucket_start is epoch seconds.

telemetry_batches = Table(
    "telemetry_batches",
    metadata,
    Column("environment", String(64), ForeignKey("environments.key"), primary_key=True),
    Column("batch_id", String(64), primary_key=True),
    Column("instance", String(200), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("dropped_batches", BigInteger, nullable=False),
    Column("dropped_windows", BigInteger, nullable=False),
    Column("dropped_samples", BigInteger, nullable=False),
    Index("ix_telemetry_batches_environment_received_at", "environment", "received_at"),
)

# A batch too large for one short transaction is stored in parts: part 0 is recorded by the
# batch's row above, each further part by a row here (in the transaction storing it).
telemetry_batch_parts = Table(
    "telemetry_batch_parts",
    metadata,
    Column("environment", String(64), primary_key=True),
    Column("batch_id", String(64), primary_key=True),
    Column("part", Integer, primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index("ix_telemetry_batch_parts_received_at", "received_at"),
)


def _buckets(name: str, *columns: Column[Any]) -> Table:
    """A time-bucketed telemetry table: keyed by (environment, flag, resolution,
    bucket_start, then ``columns``' key parts), indexed for environment-wide scans."""
    return Table(
        name,
        metadata,
        Column("environment", String(64), primary_key=True),
        Column("flag", String(128), primary_key=True),
        Column("resolution", Integer, primary_key=True),
        Column("bucket_start", BigInteger, primary_key=True),
        *columns,
        Index(
            f"ix_{name}_environment_resolution_bucket_start",
            "environment",
            "resolution",
            "bucket_start",
        ),
    )


request_buckets = _buckets(
    "request_buckets",
    Column("variant", String(200), primary_key=True),
    Column("route", String(200), primary_key=True),
    Column("requests", BigInteger, nullable=False),
    Column("errors", BigInteger, nullable=False),
    Column("client_errors", BigInteger, nullable=False),
    Column("latency", LargeBinary, nullable=False),  # LatencySketch.to_bytes (0014)
)

usage_buckets = _buckets(
    "usage_buckets",
    Column("variant", String(200), primary_key=True),
    Column("count", BigInteger, nullable=False),
)

comparison_buckets = _buckets(
    "comparison_buckets",
    Column("variant", String(200), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("counts", JSON, nullable=False),
    Column("durations", JSON, nullable=False),
)

override_buckets = _buckets(
    "override_buckets",
    Column("outcome", String(64), primary_key=True),
    Column("variant", String(200), primary_key=True),
    Column("reason", String(64), primary_key=True),
    Column("count", BigInteger, nullable=False),
)

# The SDKs' process samples per (release flag, release): sums and maxima over the samples
# (one per process and window), so the mean over instances is sum / samples (0015).
process_buckets = _buckets(
    "process_buckets",
    Column("variant", String(200), primary_key=True),
    Column("samples", BigInteger, nullable=False),
    Column("cpu_sum", Float, nullable=False),
    Column("cpu_max", Float, nullable=False),
    Column("memory_sum", Float, nullable=False),
    Column("memory_max", Float, nullable=False),
    Column("rss_sum", Float, nullable=False),
    Column("rss_max", BigInteger, nullable=False),
)


mismatch_samples = Table(
    "mismatch_samples",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("environment", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("flag", String(128), nullable=False),
    Column("variant", String(200), nullable=False),
    Column("primary_side", String(200), nullable=False),
    Column("outcome", String(200), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("instance", String(200), nullable=False),
    Column("input", JSON, nullable=True),
    Column("control", JSON, nullable=True),
    Column("candidate", JSON, nullable=True),
    Index("ix_mismatch_samples_environment_name_id", "environment", "name", "id"),
    Index("ix_mismatch_samples_received_at", "received_at"),
)

telemetry_keys = Table(
    "telemetry_keys",
    metadata,
    Column("environment", String(64), primary_key=True),
    Column("flag", String(128), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

"""Telemetry from SDKs: idempotent ingest into time buckets, window queries, retention."""

from __future__ import annotations

from ._operations import (
    BatchPart,
    ParsedBatch,
    TelemetryOperations,
    parse_batch,
    split_batch,
)

__all__ = [
    "BatchPart",
    "ParsedBatch",
    "TelemetryOperations",
    "parse_batch",
    "split_batch",
]

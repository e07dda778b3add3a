"""Recording a batch part as stored, first thing in its transaction, on PostgreSQL in one
statement written once (``INSERT ... ON CONFLICT DO NOTHING RETURNING``) and sent with the
DB-API directly: built with SQLAlchemy Core it was compiled and cache-keyed per batch."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

__all__ = ["claim_batch", "claim_part"]

_BATCH = (
    "INSERT INTO telemetry_batches (environment, batch_id, instance, received_at,"
    " dropped_batches, dropped_windows, dropped_samples) VALUES (%s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT DO NOTHING RETURNING batch_id"
)
_PART = (
    "INSERT INTO telemetry_batch_parts (environment, batch_id, part, received_at)"
    " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING batch_id"
)


def claim_batch(
    connection: Connection,
    environment: str,
    batch_id: str,
    instance: str,
    now: datetime,
    dropped: tuple[int, int, int],
) -> bool:
    """Record the batch id (its part 0); False when it was recorded before."""
    row = connection.exec_driver_sql(
        _BATCH, (environment, batch_id, instance, now, *dropped)
    ).first()
    return row is not None


def claim_part(
    connection: Connection, environment: str, batch_id: str, part: int, now: datetime
) -> bool:
    """Record part ``part`` (> 0) of the batch; False when it was recorded before."""
    row = connection.exec_driver_sql(_PART, (environment, batch_id, part, now)).first()
    return row is not None

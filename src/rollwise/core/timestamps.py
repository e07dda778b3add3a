"""Instants in rule conditions: ISO 8601 text, epoch seconds or datetimes, all in UTC."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

__all__ = ["to_epoch_seconds"]


def to_epoch_seconds(value: object) -> float | None:
    """Return seconds since the epoch, or None when ``value`` is not an instant.

    Naive datetimes and ISO strings without an offset are taken as UTC, so a rule reads the
    same on every machine whatever its local zone.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:
            return None
        return seconds if math.isfinite(seconds) else None
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()
    return None

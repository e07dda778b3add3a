"""Process samples read back: each release's CPU and memory over a window (process gates).

Stored by ingest in ``process_buckets`` (see ``_operations.py``); read here from the
coarsest buckets that fit the window, as the request counts are, and summed per release:
the mean over instances and windows is ``sum / samples``, the max the largest maximum.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, select

from .._base import Operations
from ..tables.telemetry import process_buckets
from ._aggregate import epoch, epoch_end
from ._plan import cover
from .types import RESOLUTIONS, ProcessTotals, ProcessWindow, TelemetryPolicy

__all__ = ["ProcessQueries"]


class ProcessQueries(Operations):
    """Reads the SDKs' process samples per (release flag, release)."""

    telemetry_policy: TelemetryPolicy = TelemetryPolicy()

    def process_window(
        self, environment: str, flag: str, start: datetime, end: datetime
    ) -> dict[str, ProcessWindow]:
        """Each release (variant) of ``flag`` with process samples in ``[start, end)``:
        their count, sums and maxima over every instance and window. Releases without a
        sample are absent (no process data), as are unknown flags and environments."""
        segments = cover(epoch(start), epoch_end(end), self._oldest_process())
        c = process_buckets.c
        found: dict[str, ProcessWindow] = {}
        for resolution, low, high in segments:
            rows = self._conn.execute(
                select(
                    c.variant,
                    c.samples,
                    c.cpu_sum,
                    c.cpu_max,
                    c.memory_sum,
                    c.memory_max,
                    c.rss_sum,
                    c.rss_max,
                ).where(
                    and_(
                        c.environment == environment,
                        c.flag == flag,
                        c.resolution == resolution,
                        c.bucket_start >= low,
                        c.bucket_start < high,
                    )
                )
            )
            for row in rows:
                window = found.setdefault(row.variant, ProcessWindow(variant=row.variant))
                window.add(ProcessTotals.from_row(row._mapping))
        return {variant: found[variant] for variant in sorted(found)}

    def _oldest_process(self) -> dict[int, int]:
        now = epoch(self._now())
        policy = self.telemetry_policy
        return {
            resolution: now - int(policy.keep(resolution).total_seconds())
            for resolution in RESOLUTIONS
        }

"""Helpers for telemetry tests: a recorder's windows and totals as plain counts."""

from __future__ import annotations

from rollwise.sdk.recorder import ClosedWindow, SeriesKey, SeriesTotals


def window_counts(windows: list[ClosedWindow]) -> dict[tuple[float, SeriesKey], tuple[int, ...]]:
    """(window start, key) -> (requests, errors, client_errors, latency count)."""
    return {
        (window.start.timestamp(), (s.flag, s.variant, s.route)): (
            s.requests,
            s.errors,
            s.client_errors,
            s.latency.count,
        )
        for window in windows
        for s in window.series
    }


def totals_counts(totals: dict[SeriesKey, SeriesTotals]) -> dict[SeriesKey, tuple[int, ...]]:
    return {
        key: (t.requests, t.errors, t.client_errors, t.sketch.count) for key, t in totals.items()
    }

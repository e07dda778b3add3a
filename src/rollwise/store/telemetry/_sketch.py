"""Merging stored latency sketches in their JSON form, without rebuilding sketch objects.

Ingest adds a delta to every bucket row it touches; rebuilding a
:class:`~rollwise.stats.sketch.LatencySketch` from each stored row (which validates every
bin) cost about a millisecond a row and dominated ingest. Stored sketches were written by
the control plane itself, so they are merged here as plain lists, with exactly the result
``LatencySketch.merge`` gives: counts added index by index, and when the merged range
exceeds ``max_bins`` the lowest indexes folded into the lowest kept one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...stats.sketch import DEFAULT_MAX_BINS

__all__ = ["merge_sketch_data"]


def merge_sketch_data(
    stored: Mapping[str, Any], delta: Mapping[str, Any], max_bins: int = DEFAULT_MAX_BINS
) -> dict[str, Any]:
    """``stored`` with ``delta`` merged in (both in ``LatencySketch.to_dict`` form, of the
    same accuracy and at most ``max_bins`` bins each)."""
    if not delta["count"]:
        return dict(stored)
    if not stored["count"]:
        return dict(delta) | {"sum": stored["sum"] + delta["sum"]}
    offset, bins = _merge_bins(
        stored["offset"], stored["bins"], delta["offset"], delta["bins"], max_bins
    )
    return {
        "accuracy": stored["accuracy"],
        "offset": offset,
        "bins": bins,
        "zero_count": stored["zero_count"] + delta["zero_count"],
        "count": stored["count"] + delta["count"],
        "sum": stored["sum"] + delta["sum"],
        "min": min(stored["min"], delta["min"]),
        "max": max(stored["max"], delta["max"]),
    }


def _merge_bins(
    first_offset: int, first: list[int], second_offset: int, second: list[int], max_bins: int
) -> tuple[int, list[int]]:
    if not second:
        return first_offset, list(first)
    if not first:
        return second_offset, list(second)
    high = max(first_offset + len(first), second_offset + len(second)) - 1
    low = max(min(first_offset, second_offset), high - max_bins + 1)
    merged = [0] * (high - low + 1)
    pending: tuple[tuple[int, list[int]], ...]
    start = first_offset - low
    if start >= 0:  # the common case: copied as a slice, only the other one added up
        merged[start : start + len(first)] = first
        pending = ((second_offset, second),)
    else:
        pending = ((first_offset, first), (second_offset, second))
    for offset, bins in pending:
        start = offset - low
        if start < 0:  # indexes at or below ``low`` fold into it
            merged[0] += sum(bins[: 1 - start])
            bins, start = bins[1 - start :], 1
        for position, count in enumerate(bins, start):
            if count:
                merged[position] += count
    return low, merged

"""Merging a stored latency sketch with a delta in their field form, at C speed.

Ingest adds a delta to every bucket row it touches (about 80 for a usual batch).
Rebuilding a :class:`~rollwise.stats.sketch.LatencySketch` for each and merging bin by bin
in Python dominated ingest, and so did merging JSON in SQL. Stored sketches are
:class:`~rollwise.stats.sketch.SketchData` unpacked from the compact binary column; they
are merged here with slices, ``sum`` and ``map`` (no Python loop per bin), with exactly
the result ``LatencySketch.merge`` gives: counts added index by index, and when the merged
range exceeds ``max_bins`` the lowest indexes folded into the lowest kept one.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from operator import add

from ...stats.sketch import DEFAULT_MAX_BINS, SketchData, pack_sketch_data

__all__ = ["merge_sketch_data", "pack"]


def pack(data: SketchData) -> bytes:
    """The binary column value of ``data`` (see ``rollwise.stats.sketch._binary``)."""
    return pack_sketch_data(
        data.accuracy, data.offset, data.bins, data.zero_count, data.sum, data.min, data.max
    )


def merge_sketch_data(
    stored: SketchData, delta: SketchData, max_bins: int = DEFAULT_MAX_BINS
) -> SketchData:
    """``stored`` with ``delta`` merged in (both of the same accuracy, their bins trimmed
    to the occupied range and at most ``max_bins`` long)."""
    if not delta.count:
        return stored
    total = stored.sum + delta.sum
    if not stored.count:
        return SketchData(
            delta.accuracy,
            delta.offset,
            delta.bins,
            delta.zero_count,
            delta.count,
            total,
            delta.min,
            delta.max,
        )
    offset, bins = _merge_bins(stored.offset, stored.bins, delta.offset, delta.bins, max_bins)
    return SketchData(
        stored.accuracy,
        offset,
        bins,
        stored.zero_count + delta.zero_count,
        stored.count + delta.count,
        total,
        min(stored.min, delta.min),
        max(stored.max, delta.max),
    )


def _merge_bins(
    first_offset: int,
    first: Sequence[int],
    second_offset: int,
    second: Sequence[int],
    max_bins: int,
) -> tuple[int, Sequence[int]]:
    if not second:
        return first_offset, first
    if not first:
        return second_offset, second
    high = max(first_offset + len(first), second_offset + len(second)) - 1
    low = max(min(first_offset, second_offset), high - max_bins + 1)
    merged = array("Q", bytes(8 * (high - low + 1)))
    for offset, bins in ((first_offset, first), (second_offset, second)):
        start = offset - low
        if start < 0:  # indexes at or below ``low`` fold into it
            merged[0] += sum(bins[: 1 - start])
            bins, start = bins[1 - start :], 1
        end = start + len(bins)
        merged[start:end] = array("Q", map(add, merged[start:end], bins))
    return low, merged

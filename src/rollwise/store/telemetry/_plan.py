"""Which buckets answer a query: pure arithmetic on epoch seconds, no I/O.

A window ``[start, end)`` is read as the 10-second buckets starting in it (bounds rounded
up to 10 s), but covered by the coarsest buckets that fit: the whole hours in the middle
from 1-hour buckets, the whole 5 minutes around them from 5-minute buckets, and only the
edges from 10-second ones. A week is then read in at most ~170 + 2·12 + 2·30 rows per
series instead of 60,480. Where the finest resolution is no longer kept, the window is
rounded out to the finest one that is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .types import RESOLUTIONS, SeriesPlan

__all__ = ["Segment", "align_down", "align_up", "cover", "series_plan"]

Segment = tuple[int, int, int]
"""(resolution, low, high): buckets of ``resolution`` with ``low <= bucket_start < high``."""


def align_down(value: int, size: int) -> int:
    return value // size * size


def align_up(value: int, size: int) -> int:
    return -(-value // size) * size


def _finest_kept(start: int, oldest: Mapping[int, int]) -> int:
    """The finest resolution whose retained range reaches back to ``start``."""
    for resolution in RESOLUTIONS:
        if oldest[resolution] <= start:
            return resolution
    return RESOLUTIONS[-1]


def cover(start: int, end: int, oldest: Mapping[int, int]) -> list[Segment]:
    """Segments covering ``[start, end)`` with as few buckets as possible.

    ``oldest`` maps each resolution to the oldest bucket start retention still keeps.
    """
    finest = _finest_kept(start, oldest)
    if finest == RESOLUTIONS[0]:
        low, high = align_up(start, finest), align_up(end, finest)
    else:  # what the finest buckets said is gone: include the coarse buckets around it
        low, high = align_down(start, finest), align_up(end, finest)
    if low >= high:
        return []
    usable = [r for r in RESOLUTIONS if r >= finest]
    return _cover(low, high, usable)


def _cover(low: int, high: int, resolutions: Sequence[int]) -> list[Segment]:
    if low >= high:
        return []
    coarsest, finer = resolutions[-1], resolutions[:-1]
    inner_low, inner_high = align_up(low, coarsest), align_down(high, coarsest)
    if not finer:
        return [(coarsest, low, high)]
    if inner_low >= inner_high:
        return _cover(low, high, finer)
    return [
        *_cover(low, inner_low, finer),
        (coarsest, inner_low, inner_high),
        *_cover(inner_high, high, finer),
    ]


def series_plan(start: int, end: int, step: int | None, oldest: Mapping[int, int]) -> SeriesPlan:
    """Points of ``step`` seconds (rounded to what the buckets allow) covering the range.

    The step becomes a multiple of the coarsest resolution not above it (10 s, 5 min or
    1 h) and of the finest resolution still kept at ``start``; points are aligned to the
    step since the epoch, so refreshing a chart does not shift them.
    """
    finest = _finest_kept(start, oldest)
    wanted = max(step if step is not None else _default_step(end - start), finest)
    base = max(r for r in RESOLUTIONS if r <= wanted)
    effective = align_up(wanted, base)
    return SeriesPlan(
        start=align_down(start, effective),
        end=max(align_up(end, effective), align_down(start, effective) + effective),
        step=effective,
        resolution=base,
    )


NICE_STEPS = (10, 30, 60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
TARGET_POINTS = 240


def _default_step(span: int) -> int:
    """The smallest round step giving at most ``TARGET_POINTS`` points."""
    for step in NICE_STEPS:
        if span / step <= TARGET_POINTS:
            return step
    return align_up(span // TARGET_POINTS + 1, 86400)

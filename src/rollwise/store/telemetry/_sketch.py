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

__all__ = ["merge_sketch_data", "merge_sketch_sql"]


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


def merge_sketch_sql(stored: str, added: str, max_bins: int = DEFAULT_MAX_BINS) -> str:
    """PostgreSQL expression merging the ``json`` sketch ``added`` into ``stored`` (two
    column references): :func:`merge_sketch_data` in SQL, so that an ``INSERT ... ON
    CONFLICT DO UPDATE`` adds a latency delta without reading the row first. Counts add
    up as exact integers, ``sum``/``min``/``max`` as ``float8`` (the same IEEE doubles as
    Python's, written back in their shortest exact form). Both are parsed once (``jsonb``);
    each ``OFFSET 0`` keeps the planner from inlining a derived value into every bin."""
    o, n = f"({stored})", f"({added})"
    fields = ", ".join(
        f"(j.{side}->>'{name}')::{kind} AS {side}_{name}"
        for side in ("o", "n")
        for name, kind in (
            ("offset", "bigint"),
            ("zero_count", "bigint"),
            ("count", "bigint"),
            ("sum", "float8"),
            ("min", "float8"),
            ("max", "float8"),
        )
    )
    parsed = (
        f"SELECT j.o, j.n, {fields},"
        " translate((j.o->'bins')::text, '[]', '{}')::bigint[] AS o_bins,"
        " translate((j.n->'bins')::text, '[]', '{}')::bigint[] AS n_bins"
        f" FROM (SELECT {o}::jsonb AS o, {n}::jsonb AS n OFFSET 0) AS j OFFSET 0"
    )
    lengths = (
        "SELECT q.*, cardinality(q.o_bins) AS o_len, cardinality(q.n_bins) AS n_len"
        f" FROM ({parsed}) AS q OFFSET 0"
    )
    high = (
        "CASE WHEN p.o_len = 0 AND p.n_len = 0 THEN p.o_offset - 1"
        " WHEN p.n_len = 0 THEN p.o_offset + p.o_len - 1"
        " WHEN p.o_len = 0 THEN p.n_offset + p.n_len - 1"
        " ELSE greatest(p.o_offset + p.o_len, p.n_offset + p.n_len) - 1 END"
    )
    low = (
        "CASE WHEN p.n_len = 0 THEN p.o_offset WHEN p.o_len = 0 THEN p.n_offset"
        " ELSE greatest(least(p.o_offset, p.n_offset), greatest(p.o_offset + p.o_len,"
        f" p.n_offset + p.n_len) - {int(max_bins)}) END"
    )
    # the lowest kept index also takes every count below it (folded, as merge_sketch_data)
    folded = " + ".join(
        f"(SELECT coalesce(sum(v), 0) FROM unnest(r.{side}_bins[1 : r.low - r.{side}_offset + 1])"
        " AS v)"
        for side in ("o", "n")
    )
    bins = (
        "(SELECT coalesce(json_agg(CASE WHEN g.at = r.low THEN"
        f" {folded} ELSE coalesce(r.o_bins[g.at - r.o_offset + 1], 0)"
        " + coalesce(r.n_bins[g.at - r.n_offset + 1], 0) END ORDER BY g.at), '[]'::json)"
        " FROM generate_series(r.low, r.high) AS g(at))"
    )
    return (
        f"(SELECT CASE WHEN r.n_count = 0 THEN {o}"
        " WHEN r.o_count = 0 THEN (r.n || jsonb_build_object('sum', r.o_sum + r.n_sum))::json"
        " ELSE json_build_object('accuracy', r.o->'accuracy', 'offset', r.low,"
        f" 'bins', {bins}, 'zero_count', r.o_zero_count + r.n_zero_count,"
        " 'count', r.o_count + r.n_count, 'sum', r.o_sum + r.n_sum,"
        " 'min', least(r.o_min, r.n_min), 'max', greatest(r.o_max, r.n_max)) END"
        f" FROM (SELECT p.*, {low} AS low, {high} AS high FROM ({lengths}) AS p OFFSET 0) AS r)"
    )

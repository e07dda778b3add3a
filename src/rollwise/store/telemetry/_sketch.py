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
    Python's, written back in their shortest exact form). Each ``OFFSET 0`` keeps the
    planner from inlining a derived value into every bin (re-parsing the JSON each time)."""
    o, n, bins = f"({stored})", f"({added})", int(max_bins)
    ends = (
        f"SELECT ({o}->>'offset')::bigint AS o_off, ({n}->>'offset')::bigint AS n_off,"
        f" json_array_length({o}->'bins') AS o_len, json_array_length({n}->'bins') AS n_len"
        " OFFSET 0"
    )
    high = (
        "CASE WHEN p.o_len = 0 AND p.n_len = 0 THEN p.o_off - 1"
        " WHEN p.n_len = 0 THEN p.o_off + p.o_len - 1"
        " WHEN p.o_len = 0 THEN p.n_off + p.n_len - 1"
        " ELSE greatest(p.o_off + p.o_len, p.n_off + p.n_len) - 1 END"
    )
    low = (
        "CASE WHEN p.n_len = 0 THEN p.o_off WHEN p.o_len = 0 THEN p.n_off"
        f" ELSE greatest(least(p.o_off, p.n_off), greatest(p.o_off + p.o_len,"
        f" p.n_off + p.n_len) - {bins}) END"
    )
    span = f"SELECT p.o_off, p.n_off, {low} AS low, {high} AS high FROM ({ends}) AS p OFFSET 0"
    entries = (
        "SELECT r.o_off + e.at - 1 AS at, e.value::bigint AS value"
        f" FROM json_array_elements_text({o}->'bins') WITH ORDINALITY AS e(value, at)"
        " UNION ALL SELECT r.n_off + e.at - 1, e.value::bigint"
        f" FROM json_array_elements_text({n}->'bins') WITH ORDINALITY AS e(value, at)"
    )
    merged_bins = (
        "(SELECT coalesce(json_agg(coalesce(s.value, 0) ORDER BY g.at), '[]'::json)"
        " FROM generate_series(r.low, r.high) AS g(at)"
        " LEFT JOIN (SELECT greatest(x.at, r.low) AS at, sum(x.value) AS value"
        f" FROM ({entries}) AS x GROUP BY 1) AS s ON s.at = g.at)"
    )

    def both(field: str, kind: str = "bigint") -> tuple[str, str]:
        return f"({o}->>'{field}')::{kind}", f"({n}->>'{field}')::{kind}"

    zero, count = both("zero_count"), both("count")
    total, lowest, highest = both("sum", "float8"), both("min", "float8"), both("max", "float8")
    merged = (
        "(SELECT json_build_object("
        f"'accuracy', {o}->'accuracy', 'offset', r.low, 'bins', {merged_bins},"
        f" 'zero_count', {zero[0]} + {zero[1]}, 'count', {count[0]} + {count[1]},"
        f" 'sum', {total[0]} + {total[1]}, 'min', least({lowest[0]}, {lowest[1]}),"
        f" 'max', greatest({highest[0]}, {highest[1]}))"
        f" FROM ({span}) AS r)"
    )
    return (
        f"CASE WHEN {count[1]} = 0 THEN {o}"
        f" WHEN {count[0]} = 0 THEN ({n}::jsonb || jsonb_build_object("
        f"'sum', {total[0]} + {total[1]}))::json"
        f" ELSE {merged} END"
    )

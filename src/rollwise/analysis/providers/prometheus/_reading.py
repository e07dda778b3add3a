"""Prometheus' answers turned into what the judge reads: counts, windows, latency sketches.

The request counter's raw samples become each variant's per-outcome counts in each window
(exact differences between scrapes, :mod:`._counters`); the histogram's bucket series become
each variant's :class:`~._histogram.HistogramSketch`. Only the variants a query names are
read; anything else in the answer (another variant, a series that is not a bucket) is left
out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime

from ....errors import ProviderError
from ....stats.sketch import LatencySketch
from ...data import WindowCounts
from ._counters import windowed_totals
from ._histogram import round_count, sketch_from_buckets
from ._http import Sample, Series

__all__ = [
    "CLIENT_ERROR",
    "ERROR",
    "bucket_key",
    "bucket_series",
    "bucket_spans",
    "step_totals",
    "variant_outcomes",
    "window_counts",
]

ERROR, CLIENT_ERROR = "error", "client_error"
"""The ``outcome`` label's values for server errors and client errors."""


def variant_outcomes(
    series: Sequence[Series],
    variants: Sequence[str],
    bounds: Sequence[tuple[datetime, datetime]],
) -> dict[str, dict[str, list[int]]]:
    """Per wanted variant and outcome, the requests counted in each window."""
    for one in series:
        bad = [value for _, value in one.points if not math.isfinite(value)]
        if bad and one.labels.get("variant", "") in variants:
            raise ProviderError(
                f"prometheus gave {bad[0]} requests for variant {one.labels['variant']!r}",
                provider="prometheus",
                labels=dict(one.labels),
            )

    def key(one: Series) -> tuple[str, str] | None:
        variant = one.labels.get("variant", "")
        return (variant, one.labels.get("outcome", "")) if variant in variants else None

    result: dict[str, dict[str, list[int]]] = {}
    for (variant, outcome), row in windowed_totals(series, key, bounds).items():
        result.setdefault(variant, {})[outcome] = [round_count(value) for value in row]
    return result


def step_totals(outcomes: Mapping[str, Sequence[int]]) -> tuple[int, int, int]:
    """(requests, errors, client_errors) over the whole step, from the per-window counts."""
    return (
        sum(sum(row) for row in outcomes.values()),
        sum(outcomes.get(ERROR, ())),
        sum(outcomes.get(CLIENT_ERROR, ())),
    )


def window_counts(
    outcomes: Mapping[str, Sequence[int]], bounds: Sequence[tuple[datetime, datetime]]
) -> tuple[WindowCounts, ...]:
    """One variant's per-window counts (zeros where it had no traffic)."""
    errors = outcomes.get(ERROR, [0] * len(bounds))
    return tuple(
        WindowCounts(
            start=start,
            end=end,
            requests=sum(row[index] for row in outcomes.values()),
            errors=errors[index],
        )
        for index, (start, end) in enumerate(bounds)
    )


def bucket_key(labels: Mapping[str, str], variants: Sequence[str]) -> tuple[str, float] | None:
    """``(variant, le)`` of a wanted variant's histogram bucket series, else None."""
    variant = labels.get("variant", "")
    le = labels.get("le")
    if variant not in variants or le is None:
        return None
    try:
        bound = float(le)
    except ValueError:
        return None  # not a histogram bucket: nothing to place
    return None if math.isnan(bound) else (variant, bound)


def _sketches(counts: Mapping[tuple[str, float], float]) -> dict[str, LatencySketch]:
    """Each variant's sketch from its buckets' counts (absent: no histogram, or no value)."""
    by_variant: dict[str, list[tuple[float, float]]] = {}
    for (variant, bound), count in counts.items():
        by_variant.setdefault(variant, []).append((bound, count))
    sketches = {variant: sketch_from_buckets(pairs) for variant, pairs in by_variant.items()}
    return {variant: sketch for variant, sketch in sketches.items() if sketch is not None}


def bucket_spans(samples: Sequence[Sample], variants: Sequence[str]) -> dict[str, LatencySketch]:
    """Sketches from each bucket series' ``max - min`` over the step (no counter reset)."""
    counts: dict[tuple[str, float], float] = {}
    for sample in samples:
        key = bucket_key(sample.labels, variants)
        if key is not None and math.isfinite(sample.value):
            counts[key] = counts.get(key, 0.0) + sample.value
    return _sketches(counts)


def bucket_series(
    series: Sequence[Series], variants: Sequence[str], start: datetime, end: datetime
) -> dict[str, LatencySketch]:
    """Sketches from each bucket series' raw samples (differences across counter resets)."""

    def key(one: Series) -> tuple[str, float] | None:
        if not all(math.isfinite(value) for _, value in one.points):
            return None
        return bucket_key(one.labels, variants)

    counted = windowed_totals(series, key, [(start, end)])
    return _sketches({name: row[0] for name, row in counted.items()})

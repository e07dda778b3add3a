"""Checking a reported batch beyond its schema: sketches, counts, sizes, storable text.

The wire schema (:mod:`rollwise.core.telemetry`) bounds every field; this adds what only
the control plane can judge: a latency sketch must parse, share the control plane's
accuracy and stay in a sane range (a merged bucket must never be poisoned), errors cannot
exceed requests, and no text may carry a NUL (PostgreSQL cannot store it). Every problem is
reported with the path of its field.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ...core.telemetry import SketchData, TelemetryBatch
from ...errors import ConfigError, ConfigIssue
from ...stats.sketch import DEFAULT_ACCURACY, LatencySketch, SketchError
from ...stats.sketch._format import MAX_BINS_LIMIT, MAX_COUNT, MAX_OFFSET, MAX_VALUE
from ...stats.sketch._format import SketchData as Fields

__all__ = ["MAX_BATCH_ITEMS", "ParsedBatch", "parse_batch"]

MAX_BATCH_ITEMS = 100_000
"""Series, usage, comparison (and their outcome counts) and override entries one batch may
carry in total: a bound on the work one request can ask for."""

_LOG_GAMMA = math.log((1 + DEFAULT_ACCURACY) / (1 - DEFAULT_ACCURACY))
_LOWEST_INDEX = math.floor(math.log(1e-10) / _LOG_GAMMA)
_HIGHEST_INDEX = math.ceil(math.log(1e7) / _LOG_GAMMA)
_MAX_SECONDS = 1e9
_MAX_SUM = 1e15
_MAX_ISSUES = 20
_SKETCH_FIELDS = tuple(SketchData.model_fields)
MAX_WINDOW_COUNT = 2**40
"""Requests one series may report in one window (about 10^12): far beyond any real service,
and low enough that merged buckets and sketches never overflow their 64-bit counters."""

Report = Callable[[str, str], None]


@dataclass(frozen=True, slots=True)
class ParsedBatch:
    """A batch whose sketches parsed: ``sketches[w][s]`` is window w's series s."""

    batch: TelemetryBatch
    sketches: list[list[LatencySketch]]


def parse_batch(batch: TelemetryBatch) -> ParsedBatch:
    """The batch with its sketches parsed, or a :class:`ConfigError` naming each bad field."""
    issues: list[ConfigIssue] = []

    def problem(path: str, reason: str) -> None:
        issues.append(ConfigIssue(None, path, reason))

    items = len(batch.overrides) + sum(
        len(w.series)
        + len(w.usage)
        + sum(1 + len(c.counts) + len(c.durations) for c in w.comparisons)
        for w in batch.windows
    )
    if items > MAX_BATCH_ITEMS:
        problem("windows", f"{items} entries in one batch; at most {MAX_BATCH_ITEMS}: split it")
        raise ConfigError(issues)
    _text(problem, "instance", batch.instance)
    sketches: list[list[LatencySketch]] = []
    for w, window in enumerate(batch.windows):
        parsed: list[LatencySketch] = []
        for s, series in enumerate(window.series):
            at = f"windows.{w}.series.{s}"
            for name in ("flag", "variant", "route"):
                _text(problem, f"{at}.{name}", getattr(series, name))
            if max(series.requests, series.latency.count) > MAX_WINDOW_COUNT:
                problem(f"{at}.requests", f"more than {MAX_WINDOW_COUNT} requests in one window")
            elif series.errors + series.client_errors > series.requests:
                problem(
                    f"{at}.errors",
                    f"errors ({series.errors}) + client_errors ({series.client_errors}) exceed "
                    f"requests ({series.requests})",
                )
            parsed.append(_sketch(problem, f"{at}.latency", series.latency))
        for u, usage in enumerate(window.usage):
            _text(problem, f"windows.{w}.usage.{u}.flag", usage.flag)
            _text(problem, f"windows.{w}.usage.{u}.variant", usage.variant)
        for c, comparison in enumerate(window.comparisons):
            at = f"windows.{w}.comparisons.{c}"
            for name in ("name", "flag", "variant"):
                _text(problem, f"{at}.{name}", getattr(comparison, name))
            for key in (*comparison.counts, *comparison.durations):
                _text(problem, f"{at}.counts", key)
            for side, durations in comparison.durations.items():
                if not math.isfinite(durations.sum_seconds + durations.max_seconds):
                    problem(f"{at}.durations.{side}", "durations must be finite")
        sketches.append(parsed)
        if len(issues) >= _MAX_ISSUES:
            break
    for i, sample in enumerate(batch.samples):
        for name in ("name", "flag", "variant", "primary", "outcome"):
            _text(problem, f"samples.{i}.{name}", getattr(sample, name))
    for i, override in enumerate(batch.overrides):
        for name in ("flag", "outcome", "variant", "reason"):
            _text(problem, f"overrides.{i}.{name}", getattr(override, name))
    if issues:
        raise ConfigError(issues[:_MAX_ISSUES])
    return ParsedBatch(batch, sketches)


def _text(problem: Report, path: str, value: str | None) -> None:
    if value is not None and "\x00" in value:
        problem(path, "text must not contain a NUL character")


def _sketch(problem: Report, path: str, data: SketchData) -> LatencySketch:
    def fail(reason: str) -> LatencySketch:
        problem(path, reason)
        return LatencySketch()

    if not math.isclose(data.accuracy, DEFAULT_ACCURACY, rel_tol=1e-9):
        return fail(
            f"accuracy {data.accuracy} differs from the control plane's {DEFAULT_ACCURACY}: "
            "sketches of different accuracy cannot be merged"
        )
    if not math.isfinite(data.sum) or abs(data.sum) > _MAX_SUM:
        return fail(f"sum must be finite and at most {_MAX_SUM:g} in magnitude")
    for bound in (data.min, data.max):
        if bound is not None and (not math.isfinite(bound) or abs(bound) > _MAX_SECONDS):
            return fail(f"min and max must be finite and at most {_MAX_SECONDS:g} seconds")
    bins = data.bins
    first, last = 0, len(bins) - 1
    while first <= last and not bins[first]:
        first += 1
    while last >= first and not bins[last]:
        last -= 1
    if first <= last and (
        data.offset + first < _LOWEST_INDEX or data.offset + last > _HIGHEST_INDEX
    ):
        return fail("bins outside the supported latency range (0.1 ns to 10^7 s)")
    checked = _schema_checked(data)
    if checked is not None:
        return LatencySketch.from_data(checked)
    fields = {name: getattr(data, name) for name in _SKETCH_FIELDS}  # no model_dump copy
    try:
        return LatencySketch.from_dict(fields)
    except SketchError as error:
        return fail(str(error))


def _schema_checked(data: SketchData) -> Fields | None:
    """What ``parse_sketch_data`` answers for a sketch the wire schema validated, when it
    accepts it (``None`` otherwise: the caller then parses it, which names the problem).

    The schema already made every number a plain ``int`` or ``float`` within its bounds
    (at most :data:`MAX_COUNT`), so only the checks relating fields are left: parsing it
    again cost ~35 µs a series, a fifth of a usual batch's CPU."""
    bins, offset, zeros, count, total = (
        data.bins,
        data.offset,
        data.zero_count,
        data.count,
        data.sum,
    )
    if len(bins) > MAX_BINS_LIMIT or type(offset) is not int or type(total) is not float:
        return None
    occupied = sum(bins)
    if type(occupied) is not int or type(zeros) is not int or type(count) is not int:
        return None
    if not -MAX_OFFSET <= offset <= MAX_OFFSET or offset + len(bins) - 1 > MAX_OFFSET:
        return None
    if count != zeros + occupied or count > MAX_COUNT or zeros < 0 or (bins and min(bins) < 0):
        return None
    if type(data.accuracy) is not float or not math.isfinite(total):
        return None
    low, high = data.min, data.max
    if count == 0:
        if low is not None or high is not None or total != 0.0:
            return None
        return Fields(data.accuracy, offset, tuple(bins), zeros, 0, 0.0, 0.0, 0.0)
    if type(low) is not float or type(high) is not float or total < 0.0:
        return None
    if not 0.0 <= low <= high <= MAX_VALUE:  # also false for NaN
        return None
    return Fields(data.accuracy, offset, tuple(bins), zeros, count, total, low, high)

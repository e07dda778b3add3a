"""A sketch's wire format and its limits: what a serialized sketch may hold, checked.

Sketches cross process boundaries (SDK batches, stored telemetry, Prometheus histograms
rebuilt as sketches), so a serialized sketch is untrusted input: :func:`parse_sketch_data`
checks every field against the format's limits before any sketch is built from it, and
refuses anything else with a :class:`SketchError` naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import RollwiseError

__all__ = [
    "DEFAULT_ACCURACY",
    "DEFAULT_MAX_BINS",
    "MAX_BINS_LIMIT",
    "MAX_COUNT",
    "MAX_OFFSET",
    "MAX_VALUE",
    "MIN_ACCURACY",
    "MIN_VALUE",
    "SketchData",
    "SketchError",
    "parse_sketch_data",
]

DEFAULT_ACCURACY = 0.01
MIN_ACCURACY = 0.001
"""Finer sketches would need bucket indexes beyond what the wire format allows."""
DEFAULT_MAX_BINS = 800
MAX_BINS_LIMIT = 4096
"""The wire format's limit on a serialized sketch's bins."""
MIN_VALUE = 1e-9
MAX_VALUE = 1e18
MAX_OFFSET = 100_000
"""Bucket indexes of values in [MIN_VALUE, MAX_VALUE] stay within this at MIN_ACCURACY."""
MAX_COUNT = 2**62
"""A merge that would count more values than this is refused (bins are 64-bit)."""

_FIELDS = frozenset({"accuracy", "offset", "bins", "zero_count", "count", "sum", "min", "max"})
_REQUIRED = frozenset({"accuracy", "offset", "bins", "zero_count", "count", "sum"})


class SketchError(RollwiseError, ValueError):
    """Sketches that cannot be combined or a serialized sketch that does not parse."""

    code = "invalid_sketch"


@dataclass(frozen=True, slots=True)
class SketchData:
    """A serialized sketch's fields, checked (``min``/``max`` are 0 when ``count`` is 0).
    ``bins`` is a tuple or an ``array`` of counts (the binary form's, not copied)."""

    accuracy: float
    offset: int
    bins: Sequence[int]
    zero_count: int
    count: int
    sum: float
    min: float
    max: float


def parse_sketch_data(data: Any) -> SketchData:
    """The fields of ``data`` (``LatencySketch.to_dict``'s form), or :class:`SketchError`."""
    if not isinstance(data, Mapping):
        raise SketchError(f"malformed sketch: expected an object, got {type(data).__name__}")
    keys = set(data)
    if keys - _FIELDS or _REQUIRED - keys:
        raise SketchError(
            "malformed sketch: fields must be accuracy, offset, bins, zero_count, count,"
            f" sum, min, max; got {sorted(map(str, keys))}"
        )
    accuracy = _number(data, "accuracy")
    offset = _integer(data["offset"], "offset", MAX_OFFSET, low=-MAX_OFFSET)
    raw_bins = data["bins"]
    if not isinstance(raw_bins, list | tuple) or len(raw_bins) > MAX_BINS_LIMIT:
        raise SketchError(f"malformed sketch: bins must be a list of at most {MAX_BINS_LIMIT}")
    bins = _bins(raw_bins)
    zero_count = _integer(data["zero_count"], "zero_count", MAX_COUNT)
    count = _integer(data["count"], "count", MAX_COUNT)
    total = _number(data, "sum")
    if count != zero_count + sum(bins):
        raise SketchError("malformed sketch: count is not zero_count plus the bins")
    if offset + len(bins) - 1 > MAX_OFFSET:
        raise SketchError("malformed sketch: bins run beyond the largest bucket index")
    if count == 0:
        if data.get("min") is not None or data.get("max") is not None or total != 0.0:
            raise SketchError("malformed sketch: an empty sketch has no min, max or sum")
        return SketchData(accuracy, offset, bins, zero_count, 0, 0.0, 0.0, 0.0)
    low, high = _number(data, "min"), _number(data, "max")
    if not 0.0 <= low <= high <= MAX_VALUE or total < 0.0:
        raise SketchError("malformed sketch: need 0 <= min <= max <= MAX_VALUE, sum >= 0")
    return SketchData(accuracy, offset, bins, zero_count, count, total, low, high)


def _number(data: Mapping[str, Any], field: str) -> float:
    value = data.get(field)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SketchError(f"malformed sketch: {field} must be a number")
    try:
        number = float(value)
    except OverflowError:
        raise SketchError(f"malformed sketch: {field} is out of range") from None
    if not math.isfinite(number):
        raise SketchError(f"malformed sketch: {field} must be finite")
    return number


def _bins(raw: list[Any] | tuple[Any, ...]) -> tuple[int, ...]:
    """The bin counts, checked at C speed when they are all plain ints (what JSON gives)."""
    if set(map(type, raw)) <= {int}:
        if raw and (min(raw) < 0 or max(raw) > MAX_COUNT):
            raise SketchError(f"malformed sketch: bins must be integers in [0, {MAX_COUNT}]")
        return tuple(raw)
    return tuple(_integer(c, "bins", MAX_COUNT) for c in raw)


def _integer(value: Any, field: str, high: int, *, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SketchError(f"malformed sketch: {field} must be integers in [{low}, {high}]")
    return int(value)

"""A mergeable quantile sketch with bounded relative error (DDSketch-style log buckets).

Latency is recorded per request on the application's hot path and merged across
processes, windows and replicas in the control plane, so the summary must be cheap to
update, small whatever the request count, and exactly mergeable. Log-spaced buckets give
all three: bucket ``i`` holds values in ``(gamma**(i-1), gamma**i]`` with
``gamma = (1 + a) / (1 - a)``, so answering a quantile with the bucket's midpoint
``2 * gamma**i / (gamma + 1)`` is within relative error ``a`` of a true sample value of
that rank; merging two sketches of the same accuracy adds their counts bucket by bucket.

Counts live in one dense ``array('Q')`` covering the occupied index range. When that range
would exceed ``max_bins``, the lowest buckets are folded into the lowest kept one: the high
quantiles a rollout is judged on keep their accuracy, and memory stays bounded (800 bins of
8 bytes; with a = 1% that is a dynamic range of about 10^7, e.g. 10 µs to 100 s, before
any folding happens).

Values at or below ``min_value`` (zero, negative, sub-microsecond) are counted in a zero
bucket answered as 0. Not thread-safe: the recorder that owns a sketch holds the lock.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["DEFAULT_ACCURACY", "DEFAULT_MAX_BINS", "LatencySketch", "SketchError"]

DEFAULT_ACCURACY = 0.01
DEFAULT_MAX_BINS = 800
MIN_VALUE = 1e-9
_log = math.log
_ceil = math.ceil


class SketchError(ValueError):
    """Sketches that cannot be combined or a serialized sketch that does not parse."""


class LatencySketch:
    """Counts, sum, min, max and log-bucketed values; ``quantile(q)`` within ``accuracy``."""

    __slots__ = (
        "_bins",
        "_inv_log_gamma",
        "_log_gamma",
        "_offset",
        "accuracy",
        "count",
        "max",
        "max_bins",
        "min",
        "sum",
        "zero_count",
    )

    def __init__(
        self, accuracy: float = DEFAULT_ACCURACY, max_bins: int = DEFAULT_MAX_BINS
    ) -> None:
        if not 0.0 < accuracy < 1.0:
            raise SketchError(f"accuracy must be in (0, 1), got {accuracy!r}")
        if max_bins < 2:
            raise SketchError(f"max_bins must be at least 2, got {max_bins!r}")
        self.accuracy = accuracy
        self.max_bins = max_bins
        gamma = (1.0 + accuracy) / (1.0 - accuracy)
        self._log_gamma = math.log(gamma)
        self._inv_log_gamma = 1.0 / self._log_gamma
        self._bins: array[int] = array("Q")
        self._offset = 0
        self.zero_count = 0
        self.count = 0
        self.sum = 0.0
        self.min = math.inf
        self.max = -math.inf

    # -- recording ---------------------------------------------------------------------

    def add(self, value: float) -> None:
        """Record one value (seconds, for latency)."""
        self.count += 1
        self.sum += value
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value
        if value <= MIN_VALUE:
            self.zero_count += 1
            return
        index = _ceil(_log(value) * self._inv_log_gamma)
        try:
            position = index - self._offset
            if position < 0:
                raise IndexError
            self._bins[position] += 1
        except IndexError:
            self._add_outside(index, 1)

    def _add_outside(self, index: int, count: int) -> None:
        """Grow the dense range to cover ``index`` (folding the lowest buckets if needed)."""
        bins = self._bins
        if not bins:
            self._bins = array("Q", [count])
            self._offset = index
            return
        low, high = self._offset, self._offset + len(bins) - 1
        if index < low:
            if high - index + 1 > self.max_bins:  # below what we keep: fold into the lowest
                self._extend_low(high - self.max_bins + 1)
                bins = self._bins
                if index < self._offset:
                    bins[0] += count
                    return
            else:
                self._extend_low(index)
                bins = self._bins
            bins[index - self._offset] += count
            return
        self._extend_high(index)
        self._bins[index - self._offset] += count

    def _extend_low(self, new_low: int) -> None:
        if new_low < self._offset:
            self._bins = array("Q", bytes(8 * (self._offset - new_low))) + self._bins
            self._offset = new_low

    def _extend_high(self, new_high: int) -> None:
        bins = self._bins
        high = self._offset + len(bins) - 1
        bins.extend(array("Q", bytes(8 * (new_high - high))))
        excess = len(bins) - self.max_bins
        if excess > 0:  # fold the lowest buckets into the first one kept
            folded = sum(bins[: excess + 1])
            del bins[:excess]
            bins[0] = folded
            self._offset += excess

    # -- reading -----------------------------------------------------------------------

    def quantile(self, q: float) -> float | None:
        """The value of rank ``q`` (0..1), within relative ``accuracy``; None when empty."""
        if not 0.0 <= q <= 1.0:
            raise SketchError(f"quantile must be in [0, 1], got {q!r}")
        if self.count == 0:
            return None
        rank = q * (self.count - 1)
        if rank < self.zero_count:
            return max(self.min, 0.0) if self.min <= MIN_VALUE else 0.0
        seen = float(self.zero_count)
        for position, bucket_count in enumerate(self._bins):
            seen += bucket_count
            if seen > rank:
                value = self._value_of(self._offset + position)
                return min(max(value, self.min), self.max)
        return self.max

    def quantiles(self, qs: Iterable[float]) -> list[float | None]:
        return [self.quantile(q) for q in qs]

    @property
    def mean(self) -> float | None:
        return self.sum / self.count if self.count else None

    def _value_of(self, index: int) -> float:
        return 2.0 * math.exp(index * self._log_gamma) / (1.0 + math.exp(self._log_gamma))

    def bucket_bounds(self) -> list[tuple[float, float, int]]:
        """``(lower, upper, count)`` of every non-empty bucket, zero bucket first."""
        bounds: list[tuple[float, float, int]] = []
        if self.zero_count:
            bounds.append((-math.inf, MIN_VALUE, self.zero_count))
        for position, bucket_count in enumerate(self._bins):
            if bucket_count:
                index = self._offset + position
                upper = math.exp(index * self._log_gamma)
                bounds.append((upper / math.exp(self._log_gamma), upper, bucket_count))
        return bounds

    def count_at_most(self, value: float) -> int:
        """How many recorded values fall in buckets entirely at or below ``value``."""
        total = self.zero_count if value >= MIN_VALUE else 0
        for lower, upper, bucket_count in self.bucket_bounds():
            if lower > -math.inf and upper <= value:
                total += bucket_count
        return total

    def memory_bytes(self) -> int:
        """Bytes held by this sketch (object and bucket array)."""
        import sys

        return sys.getsizeof(self) + sys.getsizeof(self._bins)

    # -- combining ---------------------------------------------------------------------

    def merge(self, other: LatencySketch) -> None:
        """Add ``other``'s values to this sketch (same accuracy required)."""
        if not math.isclose(other.accuracy, self.accuracy, rel_tol=1e-12):
            raise SketchError(
                f"cannot merge sketches of accuracy {other.accuracy} into {self.accuracy}"
            )
        if other.count == 0:
            return
        self.count += other.count
        self.sum += other.sum
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)
        self.zero_count += other.zero_count
        for position, bucket_count in enumerate(other._bins):
            if bucket_count:
                index = other._offset + position
                here = index - self._offset
                if 0 <= here < len(self._bins):
                    self._bins[here] += bucket_count
                else:
                    self._add_outside(index, bucket_count)

    def copy(self) -> LatencySketch:
        clone = LatencySketch(self.accuracy, self.max_bins)
        clone._bins = array("Q", self._bins)
        clone._offset = self._offset
        clone.zero_count = self.zero_count
        clone.count = self.count
        clone.sum = self.sum
        clone.min = self.min
        clone.max = self.max
        return clone

    @classmethod
    def merged(cls, sketches: Iterable[LatencySketch]) -> LatencySketch:
        """One sketch holding every value of ``sketches`` (empty if there are none)."""
        result: LatencySketch | None = None
        for sketch in sketches:
            if result is None:
                result = sketch.copy()
            else:
                result.merge(sketch)
        return result if result is not None else cls()

    # -- serialization -----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form; trailing and leading empty buckets are trimmed."""
        bins = list(self._bins)
        offset = self._offset
        while bins and bins[-1] == 0:
            bins.pop()
        start = 0
        while start < len(bins) and bins[start] == 0:
            start += 1
        return {
            "accuracy": self.accuracy,
            "offset": offset + start,
            "bins": bins[start:],
            "zero_count": self.zero_count,
            "count": self.count,
            "sum": self.sum,
            "min": self.min if self.count else None,
            "max": self.max if self.count else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], max_bins: int = DEFAULT_MAX_BINS) -> LatencySketch:
        """Rebuild a sketch from :meth:`to_dict`; a malformed one raises :class:`SketchError`."""
        try:
            sketch = cls(float(data["accuracy"]), max_bins)
            bins = [int(c) for c in data["bins"]]
            offset = int(data["offset"])
            zero_count = int(data["zero_count"])
            count = int(data["count"])
            total = float(data["sum"])
            low, high = data.get("min"), data.get("max")
        except (KeyError, TypeError, ValueError) as error:
            raise SketchError(f"malformed sketch: {error}") from None
        if any(c < 0 for c in bins) or zero_count < 0 or count != zero_count + sum(bins):
            raise SketchError("malformed sketch: counts are negative or do not add up")
        if not math.isfinite(total) or abs(offset) > 100_000:
            raise SketchError("malformed sketch: sum or offset out of range")
        if count and (low is None or high is None or float(low) > float(high)):
            raise SketchError("malformed sketch: min and max are required and ordered")
        for position, bucket_count in enumerate(bins):
            if bucket_count:
                sketch._add_outside_or_in(offset + position, bucket_count)
        sketch.zero_count = zero_count
        sketch.count = count
        sketch.sum = total
        if count and low is not None and high is not None:
            sketch.min, sketch.max = float(low), float(high)
        return sketch

    def _add_outside_or_in(self, index: int, count: int) -> None:
        position = index - self._offset
        if self._bins and 0 <= position < len(self._bins):
            self._bins[position] += count
        else:
            self._add_outside(index, count)

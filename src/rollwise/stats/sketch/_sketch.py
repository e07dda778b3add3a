"""A mergeable quantile sketch with bounded relative error (DDSketch-style log buckets).

Latency is recorded per request on the application's hot path and merged across
processes, windows and replicas in the control plane, so the summary must be cheap to
update, small whatever the request count, and exactly mergeable. Log-spaced buckets give
all three: bucket ``i`` holds values in ``(gamma**(i-1), gamma**i]`` with
``gamma = (1 + a) / (1 - a)``, so answering a quantile with the bucket's midpoint
``2 * gamma**i / (gamma + 1)`` is within relative error ``a`` of the true sample value of
that rank; merging two sketches of the same accuracy adds their counts bucket by bucket.

Counts live in one dense ``array('Q')`` covering the occupied index range. When that range
would exceed ``max_bins``, the lowest buckets are folded into the lowest kept one: the high
quantiles a rollout is judged on keep their accuracy (ranks that fall in the folded bucket
do not), and memory stays bounded (800 bins of 8 bytes, under 7 KiB in all; with a = 1%
that is a dynamic range of about 10^7, e.g. 10 µs to 100 s, before any folding happens).
The result of adding and merging depends only on the values, not on their order or on how
they were split between sketches (``sum`` aside, a float accumulated in order).

What is recorded, so that no input can corrupt a sketch:

- a value at or below ``MIN_VALUE`` (1 ns: zero, sub-nanosecond) is counted in a zero
  bucket, answered with the smallest value seen (absolute error at most 1 ns);
- a negative value (a clock stepping back) counts as 0;
- a value above ``MAX_VALUE`` (1e18, including +inf) counts as ``MAX_VALUE``;
- NaN is not a measurement and is ignored (``count`` does not change);
- anything that is not a number raises ``TypeError`` before the sketch changes.

``min`` and ``max`` are exact, and ``quantile(0)`` / ``quantile(1)`` return them.
Not thread-safe: the recorder that owns a sketch holds the lock. The wire format
(``to_dict`` / ``from_dict``) and its limits are in :mod:`._format`; the compact binary
form the control plane stores (``to_bytes`` / ``from_bytes``) in :mod:`._binary`.
"""

from __future__ import annotations

import math
import sys
from array import array
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._binary import pack_sketch_data, unpack_sketch_data
from ._format import (
    DEFAULT_ACCURACY,
    DEFAULT_MAX_BINS,
    MAX_BINS_LIMIT,
    MAX_COUNT,
    MAX_VALUE,
    MIN_ACCURACY,
    MIN_VALUE,
    SketchData,
    SketchError,
    parse_sketch_data,
)

__all__ = ["LatencySketch"]

_log = math.log
_ceil = math.ceil


class LatencySketch:
    """Counts, sum, min, max and log-bucketed values; ``quantile(q)`` within ``accuracy``."""

    __slots__ = (
        "_bins",
        "_gamma",
        "_log_gamma",
        "_offset",
        "_scale",
        "_top",
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
        if (
            isinstance(accuracy, bool)
            or not isinstance(accuracy, int | float)
            or not MIN_ACCURACY <= accuracy < 1.0
        ):
            raise SketchError(f"accuracy must be in [{MIN_ACCURACY}, 1), got {accuracy!r}")
        if (
            isinstance(max_bins, bool)
            or not isinstance(max_bins, int)
            or not 2 <= max_bins <= MAX_BINS_LIMIT
        ):
            raise SketchError(f"max_bins must be an integer in [2, {MAX_BINS_LIMIT}]")
        self.accuracy = float(accuracy)
        self.max_bins = max_bins
        self._gamma = (1.0 + self.accuracy) / (1.0 - self.accuracy)
        self._log_gamma = math.log(self._gamma)
        self._scale = 1.0 / self._log_gamma
        # Invariant: the first and the last bin are non-zero (the min and the max live
        # there), so a value landing strictly between them changes neither.
        self._bins: array[int] = array("Q")
        self._offset = 0
        self._top = -1  # len(_bins) - 1
        self.zero_count = 0
        self.count = 0
        self.sum = 0.0
        self.min = math.inf
        self.max = -math.inf

    # -- recording ---------------------------------------------------------------------

    def add(self, value: float) -> None:
        """Record one value (seconds, for latency); see the module docstring for edge cases."""
        if MIN_VALUE < value <= MAX_VALUE:
            position = _ceil(_log(value) * self._scale) - self._offset
            if 0 < position < self._top:  # strictly inside: neither a new min nor a new max
                self.sum += value
                self.count += 1
                self._bins[position] += 1
                return
        self._add_edge(value)

    def _add_edge(self, value: float) -> None:
        """The rare path: a new min or max, a range to grow, the zero bucket, NaN."""
        if value != value:  # NaN
            return
        if value <= MIN_VALUE:
            value = value if value > 0.0 else 0.0
            self.sum += value
            self.zero_count += 1
        else:
            if value > MAX_VALUE:
                value = MAX_VALUE
            self.sum += value
            self._add_index(_ceil(_log(value) * self._scale), 1)
        self.count += 1
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value

    def _add_index(self, index: int, count: int) -> None:
        position = index - self._offset
        if not 0 <= position <= self._top:
            self._span(index, index)
            position = max(index, self._offset) - self._offset
        self._bins[position] += count

    def _span(self, low: int, high: int) -> None:
        """Make the dense range cover ``[low, high]`` too, folding its lowest buckets into
        the lowest kept one when it would exceed ``max_bins``."""
        bins = self._bins
        if bins:
            low = min(low, self._offset)
            high = max(high, self._offset + len(bins) - 1)
        low = max(low, high - self.max_bins + 1)
        if bins and low == self._offset and high == self._offset + len(bins) - 1:
            return
        grown = array("Q", bytes(8 * (high - low + 1)))
        if bins:
            shift = low - self._offset
            if shift <= 0:
                grown[-shift : -shift + len(bins)] = bins
            else:  # bins[0..shift] fold into the new first bucket
                grown[0] = sum(bins[: shift + 1])
                rest = bins[shift + 1 :]
                grown[1 : 1 + len(rest)] = rest
        self._bins = grown
        self._offset = low
        self._top = len(grown) - 1

    # -- reading -----------------------------------------------------------------------

    def quantile(self, q: float) -> float | None:
        """The value of rank ``floor(q * (count - 1))`` (0-based, ascending), within relative
        ``accuracy`` unless that rank was folded away; None when empty."""
        if not 0.0 <= q <= 1.0:
            raise SketchError(f"quantile must be in [0, 1], got {q!r}")
        count = self.count
        if count == 0:
            return None
        rank = int(q * (count - 1))
        if rank == 0 or rank < self.zero_count:
            return self.min
        if rank >= count - 1:
            return self.max
        seen = self.zero_count
        for position, bucket_count in enumerate(self._bins):
            seen += bucket_count
            if seen > rank:
                return self._estimate(self._offset + position)
        return self.max

    def quantiles(self, qs: Iterable[float]) -> list[float | None]:
        return [self.quantile(q) for q in qs]

    @property
    def mean(self) -> float | None:
        return self.sum / self.count if self.count else None

    def _estimate(self, index: int) -> float:
        """Bucket ``index``'s midpoint, kept within [min, max] (both exact)."""
        value = 2.0 * math.exp(index * self._log_gamma) / (1.0 + self._gamma)
        return min(max(value, self.min), self.max)

    def bucket_bounds(self) -> list[tuple[float, float, int]]:
        """``(lower, upper, count)`` of every non-empty bucket, zero bucket first.

        A bucket holds values in ``(lower, upper]``; the zero bucket ``[0, MIN_VALUE]``. After
        folding, the first log bucket also holds every value below its ``lower``.
        """
        bounds: list[tuple[float, float, int]] = []
        if self.zero_count:
            bounds.append((0.0, MIN_VALUE, self.zero_count))
        for position, bucket_count in enumerate(self._bins):
            if bucket_count:
                upper = math.exp((self._offset + position) * self._log_gamma)
                bounds.append((upper / self._gamma, upper, bucket_count))
        return bounds

    def cumulative_counts(self, bounds: Sequence[float]) -> list[int]:
        """For each of the increasing ``bounds``, how many values are at most it.

        A value counts as at most ``bound`` when its bucket's estimate (what :meth:`quantile`
        answers) is, so only values within ``accuracy`` of a bound can land on the wrong
        side of it; a bound at or above ``max`` counts every value, one below ``min`` none.
        """
        result: list[int] = []
        if not self.count:
            return [0] * len(bounds)
        bins = self._bins
        seen = 0
        position = -1  # the zero bucket, estimated by min
        estimate = self.min
        for bound in bounds:
            while position <= self._top:
                if estimate > bound:
                    break
                seen += self.zero_count if position < 0 else bins[position]
                position += 1
                if position <= self._top:
                    estimate = self._estimate(self._offset + position)
            result.append(seen)
        return result

    def count_at_most(self, value: float) -> int:
        """How many values are at most ``value`` (see :meth:`cumulative_counts`)."""
        return self.cumulative_counts((value,))[0]

    def memory_bytes(self) -> int:
        """Bytes held by this sketch: the object, its bucket array and its own numbers."""
        size = sys.getsizeof(self) + sys.getsizeof(self._bins)
        for number in (self.count, self.sum, self.min, self.max, self.zero_count, self._offset):
            size += sys.getsizeof(number)
        return size

    # -- combining ---------------------------------------------------------------------

    def merge(self, other: LatencySketch) -> None:
        """Add ``other``'s values to this sketch (same accuracy required)."""
        if not isinstance(other, LatencySketch):
            raise SketchError(f"cannot merge a {type(other).__name__} into a sketch")
        if not math.isclose(other.accuracy, self.accuracy, rel_tol=1e-12):
            raise SketchError(
                f"cannot merge sketches of accuracy {other.accuracy} into {self.accuracy}"
            )
        if other.count == 0:
            return
        if self.count + other.count > MAX_COUNT:
            raise SketchError("cannot merge: the merged sketch would count too many values")
        other_bins = array("Q", other._bins) if other is self else other._bins
        other_offset = other._offset
        if other_bins:
            self._span(other_offset, other_offset + len(other_bins) - 1)
            bins, low = self._bins, self._offset
            for position, bucket_count in enumerate(other_bins):
                if bucket_count:
                    index = other_offset + position
                    bins[index - low if index > low else 0] += bucket_count
        self.zero_count += other.zero_count
        self.count += other.count
        self.sum += other.sum
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)

    def copy(self) -> LatencySketch:
        """An independent plain :class:`LatencySketch` with the same values."""
        clone = LatencySketch(self.accuracy, self.max_bins)
        clone._bins = array("Q", self._bins)
        clone._offset = self._offset
        clone._top = self._top
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

    def __repr__(self) -> str:
        return (
            f"LatencySketch(count={self.count}, min={self.min if self.count else None}, "
            f"max={self.max if self.count else None}, bins={len(self._bins)})"
        )

    # -- serialization -----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (:class:`rollwise.core.telemetry.SketchData`); the bins run
        from the first non-empty bucket to the last one."""
        return {
            "accuracy": self.accuracy,
            "offset": self._offset,
            "bins": list(self._bins),
            "zero_count": self.zero_count,
            "count": self.count,
            "sum": self.sum,
            "min": self.min if self.count else None,
            "max": self.max if self.count else None,
        }

    def to_data(self) -> SketchData:
        """The sketch's fields (``min``/``max`` 0 when empty), as the wire format holds them."""
        empty = not self.count
        return SketchData(
            self.accuracy,
            self._offset,
            array("Q", self._bins),
            self.zero_count,
            self.count,
            self.sum,
            0.0 if empty else self.min,
            0.0 if empty else self.max,
        )

    def to_bytes(self) -> bytes:
        """The compact binary form (:mod:`._binary`): what the control plane stores."""
        data = self.to_data()
        return pack_sketch_data(
            data.accuracy, data.offset, data.bins, data.zero_count, data.sum, data.min, data.max
        )

    @classmethod
    def from_bytes(
        cls, blob: bytes | bytearray | memoryview, max_bins: int = DEFAULT_MAX_BINS
    ) -> LatencySketch:
        """Rebuild a sketch from :meth:`to_bytes`; a corrupt blob raises :class:`SketchError`."""
        return cls.from_data(unpack_sketch_data(blob), max_bins)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], max_bins: int = DEFAULT_MAX_BINS) -> LatencySketch:
        """Rebuild a sketch from :meth:`to_dict`; anything else raises :class:`SketchError`.

        Bins beyond ``max_bins`` (a sketch made with a larger limit) are folded as usual.
        The checks are the wire format's (:func:`._format.parse_sketch_data`).
        """
        return cls.from_data(parse_sketch_data(data), max_bins)

    @classmethod
    def from_data(cls, wire: SketchData, max_bins: int = DEFAULT_MAX_BINS) -> LatencySketch:
        """A sketch from checked fields (:func:`._format.parse_sketch_data`'s answer)."""
        sketch = cls(wire.accuracy, max_bins)
        if wire.count == 0:
            return sketch
        bins = wire.bins
        first, last = 0, len(bins) - 1
        while first <= last and not bins[first]:
            first += 1
        while last >= first and not bins[last]:
            last -= 1
        if first > last:  # only zeros in the bins: the counts below say it all
            pass
        elif last - first < max_bins:  # the usual case: the occupied range as it is
            sketch._bins = array("Q", bins[first : last + 1])
            sketch._offset = wire.offset + first
            sketch._top = last - first
        else:  # wider than this sketch keeps: the lowest buckets fold
            sketch._span(wire.offset + first, wire.offset + last)
            for position in range(first, last + 1):
                if bins[position]:
                    sketch._add_index(wire.offset + position, bins[position])
        sketch.zero_count = wire.zero_count
        sketch.count = wire.count
        sketch.sum = wire.sum
        sketch.min, sketch.max = wire.min, wire.max
        return sketch

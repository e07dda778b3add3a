"""A sketch's compact binary form: what the control plane stores per telemetry bucket.

The JSON form (``LatencySketch.to_dict``) spends three to five characters on each bin and
costs a parse on every read and merge; the reference fleet stores about 1.4 million
sketches a day, so their size is most of the telemetry's. Here each bin takes the width
its largest count needs (1, 2, 4 or 8 bytes, little-endian), after a fixed header:

=======  =====  ===========================================================
offset   bytes  field
=======  =====  ===========================================================
0        1      format version (1)
1        1      bytes per bin: 0 (no bins), 1, 2, 4 or 8
2        8      accuracy (float64)
10       4      offset: the bucket index of the first bin (int32)
14       8      zero_count (uint64)
22       8      sum (float64)
30       8      min (float64; 0 when empty)
38       8      max (float64; 0 when empty)
46       ...    bins
=======  =====  ===========================================================

``count`` is not stored: it is ``zero_count`` plus the bins. Packing and unpacking are
C-speed (``struct`` and ``array``), and :func:`unpack_sketch_data` checks a blob against
the wire format's limits like :func:`parse_sketch_data` checks a dict, so a corrupt
row raises :class:`SketchError` rather than building a poisoned sketch.
"""

from __future__ import annotations

import math
import struct
import sys
from array import array
from collections.abc import Sequence

from ._format import MAX_BINS_LIMIT, MAX_COUNT, MAX_OFFSET, MAX_VALUE, SketchData, SketchError

__all__ = ["BINARY_VERSION", "pack_sketch_data", "unpack_sketch_data"]

BINARY_VERSION = 1
_HEADER = struct.Struct("<BBdiQddd")
_TYPECODES = {1: "B", 2: "H", 4: "I", 8: "Q"}
_LIMITS = ((0xFF, 1), (0xFFFF, 2), (0xFFFFFFFF, 4))
_SWAP = sys.byteorder != "little"
for _size, _code in _TYPECODES.items():  # the platform's array sizes, checked once
    assert array(_code).itemsize == _size, f"array({_code!r}) is not {_size} bytes"


def _width(bins: Sequence[int]) -> int:
    if not bins:
        return 0
    largest = max(bins)
    for limit, width in _LIMITS:
        if largest <= limit:
            return width
    return 8


def pack_sketch_data(
    accuracy: float,
    offset: int,
    bins: Sequence[int],
    zero_count: int,
    total: float,
    low: float,
    high: float,
) -> bytes:
    """The binary form of a sketch's fields (``low``/``high``: its min and max, 0 when it is
    empty). ``bins`` should run from the first non-empty bucket to the last one."""
    width = _width(bins)
    packed = array(_TYPECODES[width], bins) if width else array("B")
    if _SWAP:
        packed.byteswap()
    header = _HEADER.pack(BINARY_VERSION, width, accuracy, offset, zero_count, total, low, high)
    return header + packed.tobytes()


def unpack_sketch_data(blob: bytes | bytearray | memoryview) -> SketchData:
    """The fields of a blob :func:`pack_sketch_data` wrote, checked; else SketchError."""
    data = bytes(blob)
    if len(data) < _HEADER.size:
        raise SketchError("malformed binary sketch: shorter than its header")
    version, width, accuracy, offset, zero_count, total, low, high = _HEADER.unpack_from(data)
    if version != BINARY_VERSION:
        raise SketchError(f"malformed binary sketch: unknown format version {version}")
    body = data[_HEADER.size :]
    if width == 0:
        if body:
            raise SketchError("malformed binary sketch: bins after a header saying none")
        bins: Sequence[int] = ()
    else:
        code = _TYPECODES.get(width)
        if code is None or len(body) % width:
            raise SketchError(f"malformed binary sketch: bins of {width} bytes")
        values = array(code)
        values.frombytes(body)
        if _SWAP:
            values.byteswap()
        bins = values
    if len(bins) > MAX_BINS_LIMIT or not -MAX_OFFSET <= offset <= MAX_OFFSET:
        raise SketchError("malformed binary sketch: bins beyond the format's limits")
    if bins and (offset + len(bins) - 1 > MAX_OFFSET or max(bins) > MAX_COUNT):
        raise SketchError("malformed binary sketch: bins beyond the format's limits")
    count = zero_count + sum(bins)
    if count > MAX_COUNT:
        raise SketchError("malformed binary sketch: counts too large")
    if not all(math.isfinite(x) for x in (accuracy, total, low, high)):
        raise SketchError("malformed binary sketch: numbers must be finite")
    if count == 0:
        if total or low or high:
            raise SketchError("malformed binary sketch: an empty sketch has no min, max or sum")
        return SketchData(accuracy, offset, bins, zero_count, 0, 0.0, 0.0, 0.0)
    if not 0.0 <= low <= high <= MAX_VALUE or total < 0.0:
        raise SketchError("malformed binary sketch: need 0 <= min <= max <= MAX_VALUE, sum >= 0")
    return SketchData(accuracy, offset, bins, zero_count, count, total, low, high)

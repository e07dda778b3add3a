"""Distinct-unit sketches on the wire: who was served, and who saw a failure, per window.

Request-level gates count requests; when failures cluster on a few users (one user's
broken account fails a quarter of its requests), requests are not independent and a
request-level test rolls back too often. The SDK therefore also reports, per window and
(flag, variant), two HyperLogLog sketches of units (the flag's sticky unit, hashed): every
unit served, and every unit with at least one failed request (a 5xx or an exception, the
error-rate gate's failure). They are Apache DataSketches HLL sketches (``lg_k`` 12,
``HLL_8``), compact-serialized and base64-encoded; unions of them merge exactly across
processes, windows and retries (a union is idempotent).

This module checks the *structure* of a sketch in pure Python (header, mode, exact length),
so that nothing malformed ever reaches the C extension that reads it, and names the field
of any problem. It needs no DataSketches itself.
"""

from __future__ import annotations

import base64
import binascii
import struct

__all__ = [
    "LG_K",
    "MAX_SKETCH_TEXT",
    "SketchFormatError",
    "check_hll",
    "decode_hll",
]

LG_K = 12
"""log2 of the sketch's registers: 4,096 (relative standard error about 1.6% in HLL mode;
exact up to a few hundred units, where a sketch is still a list or set of coupons)."""
_HLL_8 = 2
_FAMILY = 7
_SER_VER = 1
_COMPACT = 8
_EMPTY = 4
_LIST, _SET, _HLL = 0, 1, 2
_HEADER = {_LIST: 8, _SET: 12, _HLL: 40}
_PREAMBLE_INTS = {_LIST: 2, _SET: 3, _HLL: 10}
_MAX_BYTES = 40 + (1 << LG_K)
MAX_SKETCH_TEXT = 4 * -(-_MAX_BYTES // 3)
"""The longest base64 text of a sketch (its HLL form: 40 header bytes and 4,096 registers)."""


class SketchFormatError(ValueError):
    """Bytes that are not a compact DataSketches HLL sketch of the expected shape."""


def decode_hll(text: str) -> bytes:
    """The sketch bytes of ``text`` (base64), checked; :class:`SketchFormatError` if not."""
    if len(text) > MAX_SKETCH_TEXT:
        raise SketchFormatError(f"{len(text)} characters; a sketch takes at most {MAX_SKETCH_TEXT}")
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise SketchFormatError("not base64") from None
    check_hll(data)
    return data


def check_hll(data: bytes) -> None:
    """Raise :class:`SketchFormatError` unless ``data`` is a compact HLL_8 sketch with
    ``lg_k`` :data:`LG_K` whose length matches its header exactly."""
    if len(data) < 8:
        raise SketchFormatError(f"{len(data)} bytes; a sketch has an 8-byte header at least")
    preamble, version, family, lg_k, lg_arr, flags, count, mode_byte = data[:8]
    if family != _FAMILY or version != _SER_VER:
        raise SketchFormatError("not a DataSketches HLL sketch (family or serial version)")
    if lg_k != LG_K:
        raise SketchFormatError(f"lg_k {lg_k}; the control plane merges lg_k {LG_K} only")
    mode, target = mode_byte & 3, (mode_byte >> 2) & 3
    if mode not in _HEADER or target != _HLL_8:
        raise SketchFormatError("only HLL_8 sketches in list, set or HLL mode are accepted")
    if preamble != _PREAMBLE_INTS[mode] or not flags & _COMPACT:
        raise SketchFormatError("not a compact sketch (serialize_compact)")
    if mode == _LIST:
        if lg_arr != 3 or count > 8:
            raise SketchFormatError("a list-mode sketch holds at most 8 coupons")
        expected = 8 + 4 * (0 if flags & _EMPTY else count)
    elif mode == _SET:
        if len(data) < 12 or not 5 <= lg_arr <= LG_K - 3:
            raise SketchFormatError("a set-mode sketch has a 12-byte header and a small table")
        (coupons,) = struct.unpack_from("<i", data, 8)
        if not 0 <= coupons <= (3 << lg_arr) // 4:
            raise SketchFormatError(f"{coupons} coupons do not fit the sketch's table")
        expected = 12 + 4 * coupons
    else:
        (aux,) = struct.unpack_from("<i", data, 36) if len(data) >= 40 else (0,)
        if aux != 0:
            raise SketchFormatError("an HLL_8 sketch has no exceptions")
        expected = 40 + (1 << LG_K)
    if len(data) != expected:
        raise SketchFormatError(f"{len(data)} bytes where its header says {expected}")
    if mode == _HLL and max(data[40:]) > 63:
        raise SketchFormatError("an HLL_8 register holds at most 63")

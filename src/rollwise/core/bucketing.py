"""Sticky assignment: a unit's bucket and the contiguous bucket ranges variants own.

``bucket = mmh3_32_unsigned(f"{salt}:{unit}") % 10000``. The same salt and unit give the
same bucket in every process, on every machine, in every language that has MurmurHash3.
Variants own contiguous ranges in the flag's variant order, so when one variant's share
grows and no other's does, every unit that had it keeps it.

The key is hashed as its UTF-8 bytes (what mmh3 does with a ``str``). A key holding a lone
surrogate (``json.loads('"\\ud800"')``), which UTF-8 cannot encode and which makes mmh3 5.x
crash the interpreter, is hashed as its ``surrogatepass`` bytes (each lone surrogate as its
three-byte form): deterministic, and never a crash. See :func:`hash_key`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import mmh3

from .flags import BUCKETS
from .text import utf8

__all__ = ["SplitRanges", "bucket", "hash_key", "split_ranges"]


def hash_key(key: str) -> int:
    """Unsigned 32-bit MurmurHash3 (seed 0) of ``key``'s UTF-8 bytes; never crashes.

    ASCII (the common case, an O(1) check) goes to mmh3 as it is; anything else is
    encoded first, with ``surrogatepass`` so that a lone surrogate hashes deterministically
    instead of taking the process down. Valid text hashes exactly as ``mmh3.hash(key)``.
    """
    if key.isascii():
        return int(mmh3.hash(key, 0, False))
    return int(mmh3.hash(utf8(key), 0, False))


def bucket(salt: str, unit: object) -> int:
    """The unit's bucket in ``[0, 10000)`` for this salt."""
    return hash_key(f"{salt}:{unit}") % BUCKETS


@dataclass(frozen=True, slots=True)
class SplitRanges:
    """Variants with a non-zero share and the exclusive upper bucket of each range.

    ``variants[i]`` owns ``[uppers[i-1], uppers[i])`` (``uppers[-1] == 10000``).
    """

    variants: tuple[str, ...]
    uppers: tuple[int, ...]

    def variant_for(self, bucket_number: int) -> str:
        for variant, upper in zip(self.variants, self.uppers, strict=True):
            if bucket_number < upper:
                return variant
        raise ValueError(f"bucket {bucket_number} is outside [0, {BUCKETS})")


def split_ranges(weights: Mapping[str, int], order: Sequence[str]) -> SplitRanges:
    """Lay the weights out as contiguous ranges in ``order`` (the flag's variant order)."""
    variants: list[str] = []
    uppers: list[int] = []
    total = 0
    for variant in order:
        weight = weights.get(variant, 0)
        if weight > 0:
            total += weight
            variants.append(variant)
            uppers.append(total)
    return SplitRanges(tuple(variants), tuple(uppers))

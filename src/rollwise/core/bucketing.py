"""Sticky assignment: a unit's bucket and the contiguous bucket ranges variants own.

``bucket = mmh3_32_unsigned(f"{salt}:{unit}") % 10000``. The same salt and unit give the
same bucket in every process, on every machine, in every language that has MurmurHash3.
Variants own contiguous ranges in the flag's variant order, so when one variant's share
grows and no other's does, every unit that had it keeps it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import mmh3

from .model import BUCKETS

__all__ = ["SplitRanges", "bucket", "split_ranges"]


def bucket(salt: str, unit: object) -> int:
    """The unit's bucket in ``[0, 10000)`` for this salt."""
    return int(mmh3.hash(f"{salt}:{unit}", 0, False)) % BUCKETS


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

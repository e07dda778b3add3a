"""Multiple comparisons across arms and metrics: Holm-Bonferroni and Benjamini-Hochberg.

An experiment with 2 treatment arms and 10 metrics makes 20 comparisons; at alpha 5% each,
one of them is "significant" by chance in most A/A tests. Two corrections, as adjusted
p-values (compare them with alpha as usual):

- Holm-Bonferroni controls the family-wise error rate (the chance of *any* false positive),
  uniformly more powerful than Bonferroni: sorted ascending, ``p̃(i) = max_{j<=i} (m-j+1) p(j)``.
- Benjamini-Hochberg controls the false discovery rate (the expected share of false
  positives among the discoveries), less strict with many metrics:
  ``p̃(i) = min_{j>=i} m p(j) / j``.

NaN p-values (comparisons that could not be made) are left out and stay NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["Adjusted", "Correction", "adjust", "benjamini_hochberg", "holm"]

Correction = Literal["holm", "benjamini_hochberg", "none"]


@dataclass(frozen=True, slots=True)
class Adjusted:
    method: str
    alpha: float
    p_values: tuple[float, ...]
    significant: tuple[bool, ...]


def _finite(p_values: Sequence[float]) -> list[int]:
    return sorted(
        (i for i, p in enumerate(p_values) if not math.isnan(p)), key=lambda i: p_values[i]
    )


def _result(method: str, alpha: float, adjusted: list[float]) -> Adjusted:
    return Adjusted(
        method, alpha, tuple(adjusted), tuple((not math.isnan(p)) and p <= alpha for p in adjusted)
    )


def holm(p_values: Sequence[float], alpha: float = 0.05) -> Adjusted:
    order = _finite(p_values)
    m = len(order)
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return _result("holm", alpha, adjusted)


def benjamini_hochberg(p_values: Sequence[float], alpha: float = 0.05) -> Adjusted:
    order = _finite(p_values)
    m = len(order)
    adjusted = [math.nan] * len(p_values)
    running = 1.0
    for rank in range(m - 1, -1, -1):
        i = order[rank]
        running = min(running, m * p_values[i] / (rank + 1))
        adjusted[i] = running
    return _result("benjamini_hochberg", alpha, adjusted)


def adjust(p_values: Sequence[float], method: Correction, alpha: float = 0.05) -> Adjusted:
    if method == "holm":
        return holm(p_values, alpha)
    if method == "benjamini_hochberg":
        return benjamini_hochberg(p_values, alpha)
    return _result("none", alpha, [float(p) for p in p_values])

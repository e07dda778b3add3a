"""Sample-ratio mismatch: do the arms hold the units the split planned?

Every comparison assumes units were assigned at the planned weights. When they were not (a
redirect losing users in one arm, a bot, exposures logged only on one path) the arms no
longer hold comparable units and no lift can be trusted, whatever its p-value. The check is
Pearson's chi-square goodness of fit of the observed unit counts to ``total * weight``, with
``k - 1`` degrees of freedom, flagged at ``p < 0.001`` (the industry's threshold: a check
run on every experiment at every look must rarely cry wolf, and real mismatches usually have
p-values far smaller).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from ._special import chi2_sf

__all__ = ["SRM_THRESHOLD", "SampleRatioTest", "sample_ratio_test"]

SRM_THRESHOLD = 0.001


@dataclass(frozen=True, slots=True)
class SampleRatioTest:
    observed: dict[str, int]
    expected: dict[str, float]
    statistic: float
    dof: int
    p_value: float
    threshold: float

    @property
    def mismatch(self) -> bool:
        return self.p_value < self.threshold


def sample_ratio_test(
    counts: Mapping[str, int], weights: Mapping[str, float], threshold: float = SRM_THRESHOLD
) -> SampleRatioTest:
    """Chi-square test of ``counts`` against the planned ``weights`` (normalised here)."""
    if set(counts) - set(weights):
        raise ValueError(f"arms without a planned weight: {sorted(set(counts) - set(weights))}")
    total_weight = sum(weights.values())
    if not total_weight > 0 or any(w < 0 for w in weights.values()):
        raise ValueError("planned weights must be >= 0 and not all 0")
    observed = {arm: int(counts.get(arm, 0)) for arm in weights}
    total = sum(observed.values())
    expected = {arm: total * w / total_weight for arm, w in weights.items()}
    statistic, cells = 0.0, 0
    for arm, e in expected.items():
        if e > 0:
            statistic += (observed[arm] - e) ** 2 / e
            cells += 1
        elif observed[arm] > 0:  # units in an arm planned at 0%: a mismatch by definition
            statistic = math.inf
            cells += 1
    dof = max(cells - 1, 0)
    if total == 0 or dof == 0:
        p = 1.0
    elif math.isinf(statistic):
        p = 0.0
    else:
        p = chi2_sf(statistic, dof)
    return SampleRatioTest(observed, expected, statistic, dof, p, threshold)

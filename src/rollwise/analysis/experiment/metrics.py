"""What the engine needs to know about an experiment's metric (not where its data lives).

The experiment model (a later step) validates and stores these; the engine only reads
them. A metric is a ``proportion`` (did the unit convert), a ``mean`` (engagement seconds
per unit) or a ``ratio`` (revenue per session: per unit a numerator and a denominator).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

__all__ = ["Capping", "Direction", "ExperimentMetric", "MetricKind", "Role"]

MetricKind = Literal["proportion", "mean", "ratio"]
Direction = Literal["higher", "lower"]
Role = Literal["primary", "secondary", "guardrail"]


@dataclass(frozen=True, slots=True)
class Capping:
    """Winsorise each unit's value at ``upper``, or at the pooled ``quantile`` of units.

    Applied to the per-unit value (after a unit's events are summed, before the per-arm
    sums): one whale's order no longer dominates a mean. Proportions are never capped.
    """

    upper: float | None = None
    quantile: float | None = None

    def __post_init__(self) -> None:
        if (self.upper is None) == (self.quantile is None):
            raise ValueError("a capping needs exactly one of upper and quantile")
        if self.quantile is not None and not 0.0 < self.quantile < 1.0:
            raise ValueError(f"a capping quantile must be in (0, 1), got {self.quantile}")
        if self.upper is not None and not math.isfinite(self.upper):
            raise ValueError("a capping upper bound must be finite")


@dataclass(frozen=True, slots=True)
class ExperimentMetric:
    """A metric as the engine sees it.

    ``direction`` says which way is better. A guardrail's ``threshold`` is the relative
    lift it tolerates in the harmful direction (0.02: at most 2% worse) before it fails.
    ``cuped`` uses the pre-exposure covariate when the source provides it.
    ``target_effect`` (a relative lift) sizes the power figures: the power now and the
    units still needed to detect it.
    """

    key: str
    kind: MetricKind
    direction: Direction = "higher"
    role: Role = "primary"
    capping: Capping | None = None
    cuped: bool = False
    threshold: float = 0.0
    target_effect: float | None = None

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("a metric needs a key")
        if self.threshold < 0:
            raise ValueError(f"a guardrail threshold is a tolerance >= 0, got {self.threshold}")
        if self.kind == "proportion" and self.capping is not None:
            raise ValueError(f"metric {self.key!r}: a proportion cannot be capped")

    @property
    def higher_is_better(self) -> bool:
        return self.direction == "higher"

"""One variant's distinct units over a step: every unit served, and those with a failure.

Unit-level gates (``failing_units``) judge the share of units that saw at least one server
error. Providers read the counts from unions of HLL sketches, which estimate: each count
comes with bounds (exact below a few hundred units, about ±3% at two standard deviations
beyond), and the judge tests with the bound that makes a rollback harder (see
``analysis/_units.py``). ``missing`` says why a provider has no counts (no unit data, the
sketch library not installed): the gate then reports no data with that reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["UnitCounts"]


@dataclass(frozen=True, slots=True)
class UnitCounts:
    """Estimated distinct units and failing units, each with [lower, upper] bounds."""

    units: float = 0.0
    failing: float = 0.0
    units_bounds: tuple[float, float] = (0.0, 0.0)
    failing_bounds: tuple[float, float] = (0.0, 0.0)
    missing: str = ""
    """Why there are no counts (empty: the counts are the data)."""

    def __post_init__(self) -> None:
        for name, value, (low, high) in (
            ("units", self.units, self.units_bounds),
            ("failing", self.failing, self.failing_bounds),
        ):
            if not (math.isfinite(value) and 0.0 <= low <= value + 1e-6 and value <= high + 1e-6):
                raise ValueError(f"{name}: need 0 <= lower <= estimate <= upper, got {value}")

    @classmethod
    def unavailable(cls, reason: str) -> UnitCounts:
        return cls(missing=reason)

    @property
    def share(self) -> float | None:
        """Estimated share of units with a failure (None without units)."""
        if self.missing or self.units < 0.5:
            return None
        return min(1.0, self.failing / self.units)

    def summary(self) -> dict[str, Any]:
        if self.missing:
            return {"missing": self.missing}
        return {
            "units": round(self.units, 1),
            "failing_units": round(self.failing, 1),
            "units_bounds": [round(b, 1) for b in self.units_bounds],
            "failing_bounds": [round(b, 1) for b in self.failing_bounds],
            "share": self.share,
        }

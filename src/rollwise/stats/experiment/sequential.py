"""Always-valid intervals for a lift: the asymptotic normal-mixture confidence sequence.

A fixed-horizon interval is valid at one look. Experiment results are looked at every day
(and the controller looks at guardrails every tick), and a fixed-horizon test looked at
repeatedly rejects a true null far more often than alpha. A confidence sequence covers the
true lift at *every* sample size simultaneously, so it may be read as often as one likes.

With ``N`` units in the two arms and an estimate whose standard error is ``se`` (so the
per-unit scale is ``sigma² = N se²``), the asymptotic confidence sequence of Waudby-Smith et al.
(2023, "Time-uniform central limit theory and asymptotic confidence sequences", the normal
mixture of their eq. 9, Robbins' mixture made asymptotic) has half-width::

    sigma · sqrt( 2 (N rho² + 1) / (N² rho²) · log( sqrt(N rho² + 1) / alpha ) )

``rho`` (the mixture's spread) is chosen so the sequence is tightest at ``N = tuning``, the
number of units the experiment expects::

    rho² = (-2 log alpha + log(-2 log alpha + 1)) / tuning

GrowthBook exposes the same tuning parameter (default 5000); a tuning close to the
expected final sample gives the narrowest intervals at the end, at the price of wider ones
early on. The interval is centred on the estimate; the mixture's likelihood ratio against
a lift of 0 is::

    M = exp( N² rho² z² / (2 (N rho² + 1)) ) / sqrt(N rho² + 1),   z = estimate / sigma

and ``min(1, 1 / M)`` is an always-valid p-value: at most alpha whenever 0 is outside the
interval, and by Ville's inequality below alpha with probability at most alpha over every
look under the null.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["DEFAULT_TUNING", "NormalMixture"]

DEFAULT_TUNING = 5000.0


@dataclass(frozen=True, slots=True)
class NormalMixture:
    """The mixture for one alpha, tuned to be tightest at ``tuning`` units."""

    alpha: float = 0.05
    tuning: float = DEFAULT_TUNING

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")
        if not self.tuning > 0:
            raise ValueError(f"the tuning parameter must be > 0, got {self.tuning}")

    @property
    def rho_squared(self) -> float:
        k = -2.0 * math.log(self.alpha)
        return (k + math.log(k + 1.0)) / self.tuning

    def half_width(self, std_error: float, units: int) -> float:
        """Half-width of the always-valid interval for an estimate over ``units`` units."""
        if units <= 0 or not std_error >= 0:
            return math.nan
        r2, n = self.rho_squared, float(units)
        sigma2 = n * std_error * std_error
        factor = (
            2.0 * (n * r2 + 1.0) / (n * n * r2) * math.log(math.sqrt(n * r2 + 1.0) / self.alpha)
        )
        return math.sqrt(sigma2 * factor)

    def p_value(self, estimate: float, std_error: float, units: int) -> float:
        """Always-valid p-value of "the lift is 0": ``min(1, 1 / M)``."""
        if units <= 0 or not std_error > 0:
            return math.nan
        r2, n = self.rho_squared, float(units)
        z2 = estimate * estimate / (n * std_error * std_error)
        log_m = n * n * r2 * z2 / (2.0 * (n * r2 + 1.0)) - 0.5 * math.log(n * r2 + 1.0)
        return min(1.0, math.exp(-log_m))

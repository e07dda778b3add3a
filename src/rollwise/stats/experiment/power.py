"""Power, minimum detectable effect and the units still needed, for a relative lift.

For a true relative lift ``Δ`` the estimate is approximately normal with standard error
(delta method, ``μ_t = μ_c (1 + Δ)``, per-unit variances ``sigma²_c`` and ``sigma²_t``)::

    se(Δ) = sqrt( sigma²_t / (n_t μ_c²) + μ_t² sigma²_c / (n_c μ_c⁴) )

and a two-sided test at alpha rejects when ``|estimate| > q · se``, where ``q`` is
``Φ⁻¹(1 - alpha/2)`` at a fixed horizon, or the always-valid half-width over ``se`` when the
experiment is analysed sequentially (:class:`.sequential.NormalMixture`: wider, so the same
power needs more units). Hence::

    power(Δ) = Φ(Δ/se - q) + Φ(-Δ/se - q)

The minimum detectable effect is the smallest ``Δ > 0`` with the target power (80% by
convention) at the current sample; the units needed are the smallest total over control
and the treatment (split at their planned shares) with that power for a target ``Δ``.
These are planning figures: they take the observed means and variances as the truth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._special import norm_cdf, norm_ppf
from .sequential import NormalMixture

__all__ = ["PowerModel"]

_MAX_EFFECT = 1e6
_MAX_UNITS = 1e13


@dataclass(frozen=True, slots=True)
class PowerModel:
    control_mean: float
    control_variance: float
    treatment_variance: float | None = None
    alpha: float = 0.05
    sequential: NormalMixture | None = None

    def std_error(self, effect: float, n_control: float, n_treatment: float) -> float:
        mu_c = self.control_mean
        mu_t = mu_c * (1.0 + effect)
        var_t = (
            self.control_variance if self.treatment_variance is None else self.treatment_variance
        )
        return math.sqrt(
            var_t / (n_treatment * mu_c**2)
            + mu_t**2 * self.control_variance / (n_control * mu_c**4)
        )

    def _critical(self, units: float) -> float:
        """The rejection boundary in standard errors (the half-width of an se of 1)."""
        if self.sequential is None:
            return norm_ppf(1.0 - self.alpha / 2.0)
        return self.sequential.half_width(1.0, max(1, round(units)))

    def power(self, effect: float, n_control: float, n_treatment: float) -> float:
        """Chance of a significant result if the true relative lift is ``effect``."""
        if n_control < 2 or n_treatment < 2 or self.control_mean == 0:
            return math.nan
        se = self.std_error(effect, n_control, n_treatment)
        if not se > 0:
            return 1.0 if effect != 0 else self.alpha
        q = self._critical(n_control + n_treatment)
        shift = effect / se
        return norm_cdf(shift - q) + norm_cdf(-shift - q)

    def minimum_detectable_effect(
        self, n_control: float, n_treatment: float, power: float = 0.8
    ) -> float:
        """Smallest positive relative lift detected with ``power`` at this sample."""
        if n_control < 2 or n_treatment < 2 or self.control_mean == 0:
            return math.nan
        low, high = 0.0, 0.01
        while self.power(high, n_control, n_treatment) < power:
            high *= 2.0
            if high > _MAX_EFFECT:
                return math.inf
        for _ in range(60):
            mid = (low + high) / 2.0
            if self.power(mid, n_control, n_treatment) < power:
                low = mid
            else:
                high = mid
        return high

    def units_needed(
        self,
        effect: float,
        control_share: float = 0.5,
        treatment_share: float = 0.5,
        power: float = 0.8,
    ) -> float:
        """Total units in control and this treatment needed to detect ``effect``."""
        if effect == 0 or self.control_mean == 0:
            return math.inf
        frac_c = control_share / (control_share + treatment_share)

        def reached(total: float) -> bool:
            return self.power(effect, total * frac_c, total * (1.0 - frac_c)) >= power

        low, high = 4.0, 64.0
        while not reached(high):
            low, high = high, high * 2.0
            if high > _MAX_UNITS:
                return math.inf
        while high - low > 1.0:
            mid = (low + high) / 2.0
            if reached(mid):
                high = mid
            else:
                low = mid
        return math.ceil(high)

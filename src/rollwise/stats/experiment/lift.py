"""Frequentist comparison of one arm with control: absolute and relative lift.

- absolute lift ``t - c`` with variance ``v_t + v_c``;
- relative lift ``t / c - 1`` with the delta-method variance ``v_t / c² + t² v_c / c⁴``
  (arms are independent, so nothing else enters);
- fixed horizon: a two-sided Welch t-test with Welch-Satterthwaite degrees of freedom
  (``test="welch"``, GrowthBook's default), or a z-test (``test="z"``); the interval is
  ``estimate ± q · se``;
- sequential: the always-valid interval and p-value of :class:`.sequential.NormalMixture`
  (``sequential=NormalMixture(alpha, tuning)``).

``v`` is each arm's :attr:`.arms.ArmStatistic.variance` (of the estimate, not per unit), so
ratio metrics and CUPED come in through the same door.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from ._special import t_ppf, t_sf
from .arms import ArmStatistic, arm_statistic
from .cuped import cuped_adjustment
from .samples import Sample
from .sequential import NormalMixture

__all__ = ["Comparison", "Lift", "Test", "compare", "compare_arms"]

Test = Literal["welch", "z"]


@dataclass(frozen=True, slots=True)
class Lift:
    """An estimated lift, its interval at ``1 - alpha``, standard error and p-value."""

    estimate: float
    lower: float
    upper: float
    std_error: float
    p_value: float

    def excludes_zero(self) -> bool:
        return self.lower > 0 or self.upper < 0


@dataclass(frozen=True, slots=True)
class Comparison:
    """A treatment arm against control."""

    control: ArmStatistic
    treatment: ArmStatistic
    absolute: Lift
    relative: Lift
    method: str
    alpha: float
    dof: float
    cuped_theta: float | None = None


_NAN_LIFT = Lift(math.nan, math.nan, math.nan, math.nan, math.nan)


def _welch_dof(c: ArmStatistic, t: ArmStatistic) -> float:
    num = (c.variance + t.variance) ** 2
    den = c.variance**2 / (c.n - 1) + t.variance**2 / (t.n - 1)
    return num / den if den > 0 else math.inf


def _fixed(estimate: float, se: float, alpha: float, dof: float) -> Lift:
    if not se > 0:
        return Lift(estimate, estimate, estimate, 0.0, 1.0 if estimate == 0 else 0.0)
    q = t_ppf(1.0 - alpha / 2.0, dof)
    p = 2.0 * t_sf(abs(estimate / se), dof)
    return Lift(estimate, estimate - q * se, estimate + q * se, se, min(1.0, p))


def _sequential(estimate: float, se: float, mixture: NormalMixture, units: int) -> Lift:
    if not se > 0:
        return Lift(estimate, estimate, estimate, 0.0, 1.0 if estimate == 0 else 0.0)
    h = mixture.half_width(se, units)
    return Lift(estimate, estimate - h, estimate + h, se, mixture.p_value(estimate, se, units))


def compare_arms(
    control: ArmStatistic,
    treatment: ArmStatistic,
    *,
    alpha: float = 0.05,
    test: Test = "welch",
    sequential: NormalMixture | None = None,
    cuped_theta: float | None = None,
) -> Comparison:
    """Compare two arms' estimates (see the module docstring for the formulas)."""
    if sequential is not None:
        alpha = sequential.alpha
    method = "sequential" if sequential is not None else test
    c, t = control, treatment
    usable = c.n >= 2 and t.n >= 2 and math.isfinite(c.variance) and math.isfinite(t.variance)
    if not usable or not (math.isfinite(c.value) and math.isfinite(t.value)):
        return Comparison(c, t, _NAN_LIFT, _NAN_LIFT, method, alpha, math.nan, cuped_theta)
    dof = math.inf if test == "z" or sequential is not None else _welch_dof(c, t)
    abs_est = t.value - c.value
    abs_se = math.sqrt(c.variance + t.variance)
    if c.value != 0:
        rel_est = t.value / c.value - 1.0
        rel_se = math.sqrt(t.variance / c.value**2 + t.value**2 * c.variance / c.value**4)
    else:
        rel_est = rel_se = math.nan
    if sequential is not None:
        units = c.n + t.n
        absolute = _sequential(abs_est, abs_se, sequential, units)
        relative = (
            _sequential(rel_est, rel_se, sequential, units) if math.isfinite(rel_est) else _NAN_LIFT
        )
    else:
        absolute = _fixed(abs_est, abs_se, alpha, dof)
        relative = _fixed(rel_est, rel_se, alpha, dof) if math.isfinite(rel_est) else _NAN_LIFT
    return Comparison(c, t, absolute, relative, method, alpha, dof, cuped_theta)


def compare(
    control: Sample,
    treatment: Sample,
    *,
    alpha: float = 0.05,
    test: Test = "welch",
    sequential: NormalMixture | None = None,
    cuped: bool = True,
) -> Comparison:
    """Compare a treatment sample with control (CUPED when both carry a covariate)."""
    adjustment = cuped_adjustment(control, treatment) if cuped else None
    return compare_arms(
        arm_statistic(control, adjustment),
        arm_statistic(treatment, adjustment),
        alpha=alpha,
        test=test,
        sequential=sequential,
        cuped_theta=adjustment.theta if adjustment is not None else None,
    )

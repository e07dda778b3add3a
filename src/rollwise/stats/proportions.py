"""Anytime-valid comparisons of a canary's bad-event rate with a baseline's.

Both tests take cumulative counts of *bad* events (errors, failures, mismatches) out of
trials for each variant and ask whether the canary's rate is significantly above what the
bound allows, ``p_c > slope * p_b + intercept``; both stay valid however often they are
evaluated (see :mod:`rollwise.stats.sequential`).

:func:`ratio_test` handles relative bounds (``intercept == 0``) by conditioning on the bad
events. When requests are assigned to the canary independently with share ``w``, each bad
event comes from the canary with probability ``pi = w p_c / (w p_c + (1 - w) p_b)``,
independently of the others, whatever the baseline's rate. "``p_c <= rho p_b``" is then
exactly "``pi <= pi0 = w rho / (w rho + 1 - w)``", a one-proportion test on the bad events
alone: no nuisance parameter, no normal approximation, exact with a handful of events.
``w`` is the realized share ``n_c / (n_c + n_b)``; given the realized assignment the
canary's share of bad events is less dispersed than binomial, so the test is conservative.

:func:`margin_test` handles any bound with an intercept (an absolute difference, or a
success rate "at most r below") by a union bound: it fails when the canary's lower
confidence bound exceeds the bound evaluated at the baseline's upper confidence bound,
each at alpha/2. Exact and simple; it needs more samples than the conditional test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .sequential import exceeds, lower_bound, upper_bound

__all__ = ["MarginTest", "RatioTest", "margin_test", "ratio_test"]


@dataclass(frozen=True, slots=True)
class RatioTest:
    """Is ``p_c > max_ratio * p_b``? ``harmful`` is the anytime-valid verdict."""

    canary_share: float | None
    """Share of the bad events that came from the canary (None without bad events)."""
    null_share: float
    """The largest share the bound allows, given how the traffic was split."""
    log_e_value: float
    e_value: float
    threshold: float
    ratio: float | None
    """Canary rate / baseline rate (None when the baseline had no bad event)."""
    ratio_lower_bound: float
    """Always-valid lower confidence bound of that ratio at level 1 - alpha."""
    harmful: bool


@dataclass(frozen=True, slots=True)
class MarginTest:
    """Is ``p_c > slope * p_b + intercept``? Union of two confidence sequences."""

    canary_lower: float
    baseline_upper: float
    limit_at_upper: float
    """The bound evaluated at the baseline's upper confidence bound."""
    harmful: bool


def _check(bad: int, trials: int, name: str) -> None:
    if trials < 0 or bad < 0 or bad > trials:
        raise ValueError(f"{name}: need 0 <= bad <= trials, got {bad} of {trials}")


def ratio_test(
    canary_bad: int,
    canary_trials: int,
    baseline_bad: int,
    baseline_trials: int,
    *,
    max_ratio: float,
    alpha: float,
) -> RatioTest:
    """Anytime-valid test of ``p_c <= max_ratio * p_b`` by conditioning on the bad events."""
    _check(canary_bad, canary_trials, "canary")
    _check(baseline_bad, baseline_trials, "baseline")
    if max_ratio <= 0:
        raise ValueError(f"max_ratio must be positive, got {max_ratio!r}")
    if canary_trials == 0 or baseline_trials == 0:
        raise ValueError("both variants need trials")
    weighted = max_ratio * canary_trials
    null_share = weighted / (weighted + baseline_trials)
    bad = canary_bad + baseline_bad
    test = exceeds(canary_bad, bad, null_share, alpha)
    lower_share = lower_bound(canary_bad, bad, alpha)
    scale = baseline_trials / canary_trials
    ratio_lower = lower_share / (1.0 - lower_share) * scale if lower_share < 1.0 else math.inf
    ratio = (
        (canary_bad / canary_trials) / (baseline_bad / baseline_trials) if baseline_bad else None
    )
    return RatioTest(
        canary_share=canary_bad / bad if bad else None,
        null_share=null_share,
        log_e_value=test.log_e_value,
        e_value=test.e_value,
        threshold=test.threshold,
        ratio=ratio,
        ratio_lower_bound=ratio_lower,
        harmful=test.rejected,
    )


def margin_test(
    canary_bad: int,
    canary_trials: int,
    baseline_bad: int,
    baseline_trials: int,
    *,
    slope: float,
    intercept: float,
    alpha: float,
) -> MarginTest:
    """Anytime-valid test of ``p_c <= slope * p_b + intercept`` (``slope >= 0``)."""
    _check(canary_bad, canary_trials, "canary")
    _check(baseline_bad, baseline_trials, "baseline")
    if slope < 0:
        raise ValueError(f"slope must be non-negative, got {slope!r}")
    canary_lower = lower_bound(canary_bad, canary_trials, alpha / 2)
    baseline_upper = upper_bound(baseline_bad, baseline_trials, alpha / 2)
    limit = slope * baseline_upper + intercept
    return MarginTest(
        canary_lower=canary_lower,
        baseline_upper=baseline_upper,
        limit_at_upper=limit,
        harmful=canary_lower > limit,
    )

"""Anytime-valid comparisons of a canary's bad-event rate with a baseline's.

Both tests take cumulative counts of *bad* events (errors, failures, mismatches) out of
trials for each variant and ask whether the canary's rate is significantly above what the
bound allows, ``p_c > slope * p_b + intercept``; both stay valid however often they are
evaluated (see :mod:`rollwise.stats.onesided`). Each has a mirror image for promotion:
is the canary's rate significantly *below* the bound times ``1 + tolerance``?

:func:`ratio_test` handles relative bounds (``intercept == 0``) by conditioning on the bad
events. When requests are assigned to the canary independently with share ``w``, each bad
event comes from the canary with probability ``pi = w p_c / (w p_c + (1 - w) p_b)``,
independently of the others, whatever the baseline's rate. "``p_c <= rho p_b``" is then
exactly "``pi <= pi0 = w rho / (w rho + 1 - w)``", a one-proportion test on the bad events
alone: no nuisance parameter, no normal approximation, exact with a handful of events.

The split ``w`` is the realized share ``n_c / (n_c + n_b)`` **of each window** when the
provider gives per-window counts: when the split drifts in phase with the error rate (a
daily pattern), pooling the step would compare a canary that saw mostly the bad hours with
a baseline that saw all of them (Simpson's paradox); per window, each window's bad events
are judged against that window's own split, and the test stays valid whatever the split
does. Given the realized assignment the canary's share of bad events is less dispersed than
binomial, so the test is conservative.

:func:`margin_test` handles any bound with an intercept (an absolute difference, or a
success rate "at most r below") by a union bound: it fails when the canary's lower
confidence bound exceeds the bound evaluated at the baseline's upper confidence bound,
each one-sided at alpha/2. It pools the step: request-level rate gates judge such bounds per
window with :mod:`rollwise.stats.difference` instead and keep these bounds as evidence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .onesided import (
    MARGIN_SCALE,
    RATE_SCALE,
    default_mixture,
    one_sided_lower,
    one_sided_upper,
    rate_above,
    rate_below,
)
from .sequential import lower_bound

__all__ = [
    "MarginTest",
    "RatioTest",
    "WindowPair",
    "Within",
    "margin_test",
    "margin_within",
    "ratio_test",
    "ratio_within",
]

WindowPair = tuple[int, int, int, int]
"""One window's ``(canary_bad, canary_trials, baseline_bad, baseline_trials)``."""


@dataclass(frozen=True, slots=True)
class RatioTest:
    """Is ``p_c > max_ratio * p_b``? ``harmful`` is the anytime-valid verdict."""

    canary_share: float | None
    """Share of the bad events that came from the canary (None without bad events)."""
    null_share: float
    """The largest share the bound allows, given how the traffic was split (pooled)."""
    log_e_value: float
    e_value: float
    threshold: float
    ratio: float | None
    """Canary rate / baseline rate (None when the baseline had no bad event)."""
    ratio_lower_bound: float
    """Always-valid lower confidence bound of that ratio at level 1 - alpha (the pooled
    split, from the two-sided Jeffreys sequence: conservative, for evidence only)."""
    harmful: bool
    windows: int = 1
    """How many windows the test was judged over (1: the step pooled)."""


@dataclass(frozen=True, slots=True)
class MarginTest:
    """Is ``p_c > slope * p_b + intercept``? Union of two confidence sequences."""

    canary_lower: float
    baseline_upper: float
    limit_at_upper: float
    """The bound evaluated at the baseline's upper confidence bound."""
    harmful: bool


@dataclass(frozen=True, slots=True)
class Within:
    """Promotion side: is the canary's rate significantly below ``limit``?"""

    confirmed: bool
    statistic: float
    """e-value (ratio test) or the canary's upper confidence bound (margin test)."""
    threshold: float
    """1/alpha, or the largest rate that counts as not too bad at the baseline's bound."""


def _check(bad: int, trials: int, name: str) -> None:
    if trials < 0 or bad < 0 or bad > trials:
        raise ValueError(f"{name}: need 0 <= bad <= trials, got {bad} of {trials}")


def _check_pair(
    canary_bad: int, canary_trials: int, baseline_bad: int, baseline_trials: int
) -> None:
    _check(canary_bad, canary_trials, "canary")
    _check(baseline_bad, baseline_trials, "baseline")


def _share_windows(
    pooled: WindowPair, windows: Sequence[WindowPair] | None, ratio: float
) -> list[tuple[int, int, float]]:
    """Per window: canary bad events of all bad events, against the window's null share."""
    chosen = list(windows) if windows else [pooled]
    result = []
    for x_c, n_c, x_b, n_b in chosen:
        _check(x_c, n_c, "window canary")
        _check(x_b, n_b, "window baseline")
        if n_c == 0 or n_b == 0 or x_c + x_b == 0:
            continue  # one variant alone, or no bad event: nothing to compare
        weighted = ratio * n_c
        result.append((x_c, x_c + x_b, weighted / (weighted + n_b)))
    return result


def ratio_test(
    canary_bad: int,
    canary_trials: int,
    baseline_bad: int,
    baseline_trials: int,
    *,
    max_ratio: float,
    alpha: float,
    windows: Sequence[WindowPair] | None = None,
) -> RatioTest:
    """Anytime-valid test of ``p_c <= max_ratio * p_b`` by conditioning on the bad events.

    ``windows`` (optional): the same traffic per window of the step, each judged with its
    own split; the cumulative counts then only describe the step.
    """
    _check_pair(canary_bad, canary_trials, baseline_bad, baseline_trials)
    if max_ratio <= 0:
        raise ValueError(f"max_ratio must be positive, got {max_ratio!r}")
    if canary_trials == 0 or baseline_trials == 0:
        raise ValueError("both variants need trials")
    pooled = (canary_bad, canary_trials, baseline_bad, baseline_trials)
    weighted = max_ratio * canary_trials
    null_share = weighted / (weighted + baseline_trials)
    mixture = default_mixture(RATE_SCALE)
    test = rate_above(_share_windows(pooled, windows, max_ratio), alpha, mixture)
    bad = canary_bad + baseline_bad
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
        windows=len(windows) if windows else 1,
    )


def ratio_within(
    canary_bad: int,
    canary_trials: int,
    baseline_bad: int,
    baseline_trials: int,
    *,
    max_ratio: float,
    alpha: float,
    windows: Sequence[WindowPair] | None = None,
) -> Within:
    """Anytime-valid confirmation that ``p_c < max_ratio * p_b``: rejects "``p_c >=
    max_ratio * p_b`` in every window" at ``alpha`` (promotion with error control)."""
    _check_pair(canary_bad, canary_trials, baseline_bad, baseline_trials)
    if max_ratio <= 0:
        raise ValueError(f"max_ratio must be positive, got {max_ratio!r}")
    pooled = (canary_bad, canary_trials, baseline_bad, baseline_trials)
    test = rate_below(
        _share_windows(pooled, windows, max_ratio), alpha, default_mixture(RATE_SCALE)
    )
    return Within(test.rejected, test.e_value, test.threshold)


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
    _check_pair(canary_bad, canary_trials, baseline_bad, baseline_trials)
    if slope < 0:
        raise ValueError(f"slope must be non-negative, got {slope!r}")
    mixture = default_mixture(MARGIN_SCALE)
    canary_lower = one_sided_lower(canary_bad, canary_trials, alpha / 2, mixture)
    baseline_upper = one_sided_upper(baseline_bad, baseline_trials, alpha / 2, mixture)
    limit = slope * baseline_upper + intercept
    return MarginTest(
        canary_lower=canary_lower,
        baseline_upper=baseline_upper,
        limit_at_upper=limit,
        harmful=canary_lower > limit,
    )


def margin_within(
    canary_bad: int,
    canary_trials: int,
    baseline_bad: int,
    baseline_trials: int,
    *,
    slope: float,
    intercept: float,
    factor: float,
    alpha: float,
) -> Within:
    """Anytime-valid confirmation that ``p_c < factor * (slope * p_b + intercept)``: the
    canary's upper bound below it at the baseline's lower bound (each at alpha/2)."""
    _check_pair(canary_bad, canary_trials, baseline_bad, baseline_trials)
    mixture = default_mixture(MARGIN_SCALE)
    canary_upper = one_sided_upper(canary_bad, canary_trials, alpha / 2, mixture)
    baseline_lower = one_sided_lower(baseline_bad, baseline_trials, alpha / 2, mixture)
    limit = min(1.0, factor * (slope * baseline_lower + intercept))
    return Within(canary_upper < limit, canary_upper, limit)

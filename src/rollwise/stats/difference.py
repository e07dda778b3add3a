"""Anytime-valid test of a rate *difference* bound, judged per window of the step.

The null is "``p_c <= slope * p_b + intercept`` in every window", with the baseline's rate
``p_b`` (a nuisance) free to differ from window to window: when the traffic split drifts in
phase with the error rate (a daily pattern), pooling the step compares two differently
weighted averages (Simpson's paradox), and a difference of zero looks positive.

In window ``k`` the canary's ``x_c`` bad events of ``n_c`` and the baseline's ``x_b`` of
``n_b`` are tilted by ``delta`` (canary, towards more bad events) and ``lambda_b``
(baseline, towards fewer)::

    log E_k = delta x_c - lambda_b x_b - sup_p G_k(p)
    G_k(p)  = n_c log(1 + (slope p + intercept) g_c) + n_b log(1 + p g_b)

with ``g_c = e^delta - 1`` and ``g_b = e^-lambda_b - 1``. For the true rates the tilted
factors have expectation ``exp(G_k(p_b))`` at most (a Bernoulli moment generating function
grows with its rate, so the canary's worst null rate is the bound), so ``E_k`` has
expectation at most 1 given the past whatever ``p_b`` is: the nuisance is taken out by its
supremum, in closed form (``G_k`` is concave). ``E_k`` then multiplies across windows into
a test supermartingale, and so does a mixture over ``delta`` shared by all windows (the
half-normal of :mod:`rollwise.stats.onesided`): Ville's inequality makes "reject at
``1/alpha``" valid at every look.

Why this keeps its power at large counts: ``delta`` is a log-odds tilt *per request*, so
the best one for a given regression does not depend on how many requests a window holds,
and the mixture's grid covers it at any size. A bet on the rate difference itself
(``lambda (x_c / n_c - x_b / n_b)``) has its best ``lambda`` grow with the counts: any fixed
grid or cap on it leaves a large, clearly worse step with an e-value near 1. Likewise,
taking the supremum over ``p_b`` with ``lambda_b = delta n_c / n_b`` puts the worst case at
``p_b = 1/2`` (the largest Bernoulli variance): for 1% error rates the test then needs
about 25 times the data. Here ``lambda_b`` is chosen so that the supremum sits at a
*forecast* ``p~`` of the baseline's rate — the baseline's rate over the earlier windows,
0 in the first — which is predictable, so any forecast keeps the test valid; a wrong one
costs only ``|G''| (p_b - p~)^2 / 2``, small for rare bad events.

Each window's factor uses that window's own realized split (the counts at the look for
the open window, as the conditional ratio test does): the split and the rates are assumed
about constant *within* a window, not across the step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .onesided import MARGIN_SCALE, TiltMixture, default_mixture
from .sequential import SequentialTest

__all__ = ["DifferenceTest", "WindowPair", "difference_log_e", "difference_test"]

WindowPair = tuple[int, int, int, int]
"""One window's ``(canary_bad, canary_trials, baseline_bad, baseline_trials)``."""

_MIN_GROW_B = -1.0 + 1e-3
"""``g_b`` floor: the baseline's tilt ``lambda_b`` stays finite (at most about 6.9)."""


@dataclass(frozen=True, slots=True)
class DifferenceTest:
    """Is ``p_c > slope * p_b + intercept`` in some window? ``harmful``: the verdict."""

    log_e_value: float
    e_value: float
    threshold: float
    harmful: bool
    windows: int
    """Windows that carried evidence (both variants had trials)."""


def _check(windows: Sequence[WindowPair], slope: float, intercept: float) -> None:
    if slope < 0 or not math.isfinite(slope):
        raise ValueError(f"slope must be non-negative, got {slope!r}")
    if not (intercept >= 0.0 and math.isfinite(intercept)):
        raise ValueError(f"intercept must be non-negative, got {intercept!r}")
    for x_c, n_c, x_b, n_b in windows:
        if n_c < 0 or x_c < 0 or x_c > n_c:
            raise ValueError(f"window canary: need 0 <= bad <= trials, got {x_c} of {n_c}")
        if n_b < 0 or x_b < 0 or x_b > n_b:
            raise ValueError(f"window baseline: need 0 <= bad <= trials, got {x_b} of {n_b}")


def _window_log_e(
    delta: float,
    grow_c: float,
    window: WindowPair,
    forecast: float,
    slope: float,
    intercept: float,
) -> float:
    """``log E_k`` of one window for the canary tilt ``delta`` (module docs)."""
    x_c, n_c, x_b, n_b = window
    top = 1.0 if slope == 0.0 else min(1.0, (1.0 - intercept) / slope)  # p_c <= 1 above it
    forecast = min(forecast, top)
    # lambda_b makes G stationary at the forecast: G'(forecast) = 0
    pull = n_c * slope * grow_c / (1.0 + (slope * forecast + intercept) * grow_c)
    grow_b = max(_MIN_GROW_B, -pull / (n_b + pull * forecast))
    if grow_b == 0.0:
        worst = top if slope > 0.0 else 0.0
    else:  # the root of G' (linear in p), clamped to the null's range
        worst = (-n_b * grow_b * (1.0 + intercept * grow_c) - n_c * slope * grow_c) / (
            slope * grow_c * grow_b * (n_c + n_b)
        )
        worst = min(max(worst, 0.0), top)
    log1p = math.log1p
    sup = n_c * log1p(min(1.0, slope * worst + intercept) * grow_c) + n_b * log1p(worst * grow_b)
    return delta * x_c + log1p(grow_b) * x_b - sup


def difference_log_e(
    windows: Sequence[WindowPair],
    *,
    slope: float,
    intercept: float,
    mixture: TiltMixture | None = None,
) -> float:
    """Log e-value against "``p_c <= slope * p_b + intercept`` in every window" (oldest
    window first; no floor: may be negative). Windows without trials in a variant carry no
    evidence and are skipped; an intercept of 1 or more allows every rate (0)."""
    _check(windows, slope, intercept)
    used = [w for w in windows if w[1] > 0 and w[3] > 0]
    if not used or intercept >= 1.0:
        return 0.0
    forecasts: list[float] = []
    bad = trials = 0
    for _x_c, _n_c, x_b, n_b in used:  # the baseline's rate before each window
        forecasts.append(bad / trials if trials else 0.0)
        bad, trials = bad + x_b, trials + n_b
    mix = mixture or default_mixture(MARGIN_SCALE)
    logs = []
    for delta, log_weight, grow_c in zip(mix.deltas, mix.log_weights, mix.grows, strict=True):
        total = log_weight
        for window, forecast in zip(used, forecasts, strict=True):
            total += _window_log_e(delta, grow_c, window, forecast, slope, intercept)
        logs.append(total)
    top = max(logs)
    return top + math.log(sum(math.exp(v - top) for v in logs))


def difference_test(
    windows: Sequence[WindowPair],
    *,
    slope: float,
    intercept: float,
    alpha: float,
    mixture: TiltMixture | None = None,
) -> DifferenceTest:
    """Anytime-valid test of ``p_c <= slope * p_b + intercept`` per window (module docs);
    one window: the step pooled."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    log_e = max(0.0, difference_log_e(windows, slope=slope, intercept=intercept, mixture=mixture))
    test = SequentialTest(log_e, alpha, rejected=log_e >= math.log(1.0 / alpha))
    used = sum(1 for w in windows if w[1] > 0 and w[3] > 0)
    return DifferenceTest(log_e, test.e_value, test.threshold, test.rejected, used)

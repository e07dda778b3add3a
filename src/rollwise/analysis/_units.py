"""The unit-level gate: the share of units (users) that saw at least one server error.

When failures cluster on a few units (2% of users failing a quarter of their requests),
a unit's requests are not independent trials and request-level tests, which assume they
are, roll back too often. Units are: each is assigned to a variant stickily, at random
with the step's share, before anything about it is known. The failing units of a step,
taken in the order they first fail, are then a stream of canary/baseline labels, each
canary with probability ``pi = w p_c / (w p_c + (1 - w) p_b)`` (``w`` the canary's share
of units, ``p`` each variant's share of units with a failure): exactly the
conditional-binomial setting of :func:`rollwise.stats.proportions.ratio_test`, with
failing units as bad events and distinct units as trials (``w`` the realized share of
units). Relative bounds use it (``max_increase``) or the union-bound margin test
(``max_difference``); absolute bounds the one-proportion test, all anytime-valid.

Counts come from unions of HLL sketches over the whole step (a unit failing in two
windows counts once), estimated: exact below a few hundred units, about 1.6% relative
error beyond (``lg_k`` 12). The test takes each count at the end of its error bounds that
makes a rollback harder (fewer canary failing units, more canary units, more baseline
failing units, fewer baseline units), and a promotion's confirmation the other end, so
the estimation error can only make the gate slower, never looser.
"""

from __future__ import annotations

import math
from typing import Any

from ..core.gates import Gate, PromotionRule
from ..stats.onesided import RATE_SCALE, default_mixture, rate_above, rate_below
from ..stats.proportions import margin_test, margin_within, ratio_test, ratio_within
from ._checks import (
    Check,
    bounds_of,
    check_alpha,
    combine,
    no_data,
    num,
    pct,
    promotion_evidence,
    strict,
    unconfirmed,
)
from ._unit_counts import UnitCounts
from .data import VariantMetrics
from .verdicts import GateResult, Verdict

__all__ = ["judge_failing_units"]

Pair = tuple[int, int]
"""(failing units, units) as whole counts."""


def _harsh(counts: UnitCounts, canary: bool) -> Pair:
    """The counts that make a rollback hardest: the canary at its lowest failing share,
    the baseline at its highest."""
    if canary:
        units = math.ceil(counts.units_bounds[1])
        return min(math.floor(counts.failing_bounds[0]), units), units
    units = max(1, math.floor(counts.units_bounds[0]))
    return min(math.ceil(counts.failing_bounds[1]), units), units


def _lenient(counts: UnitCounts, canary: bool) -> Pair:
    """The counts that make a promotion's confirmation hardest (the mirror image)."""
    return _harsh(counts, not canary)


def judge_failing_units(
    gate: Gate,
    baseline: VariantMetrics | None,
    canary: VariantMetrics,
    min_samples: int,
    promotion: PromotionRule | None = None,
) -> GateResult:
    """Judge a ``failing_units`` gate; ``min_samples`` counts distinct units per variant."""
    bounds = bounds_of(gate)
    relative = any(name in ("max_increase", "max_difference") for name, _ in bounds)
    c = canary.units
    b = baseline.units if baseline is not None else None
    evidence: dict[str, Any] = {
        "alpha": gate.alpha,
        "min_samples": min_samples,
        "bad_events": "failing units",
        "samples": {
            "canary": round(c.units) if c is not None and not c.missing else 0,
            "baseline": round(b.units) if b is not None and not b.missing else None,
        },
        "canary": c.summary() if c is not None else None,
        "baseline": b.summary() if b is not None else None,
    }
    if c is None or c.missing:
        reason = c.missing if c is not None else "the provider has no unit counts"
        return no_data(gate, f"no unit data for the canary: {reason}", evidence)
    if round(c.units) < min_samples:
        return no_data(gate, f"canary has {round(c.units)} of {min_samples} units", evidence)
    if relative:
        if b is None or b.missing:
            reason = b.missing if b is not None else "a relative bound needs a baseline"
            return no_data(gate, f"no unit data for the baseline: {reason}", evidence)
        if round(b.units) < min_samples:
            return no_data(gate, f"baseline has {round(b.units)} of {min_samples} units", evidence)
    alpha = check_alpha(gate)
    rule = strict(promotion)
    checks: list[Check] = []
    for name, limit in bounds:
        if name in ("max", "min"):
            checks.append(_absolute(name, limit, c, alpha, rule))
        elif b is not None:
            checks.append(_relative(name, limit, c, b, alpha, rule))
    return combine(gate, checks, evidence)


def _absolute(
    name: str, limit: float, c: UnitCounts, alpha: float, rule: PromotionRule | None
) -> Check:
    """The canary's own failing share against ``max`` (or ``min``)."""
    mixture = default_mixture(RATE_SCALE)
    estimate = c.share or 0.0
    if name == "max":
        bad, trials = _harsh(c, canary=True)
        test = rate_above([(bad, trials, limit)], alpha, mixture)
        within, word = estimate <= limit, "above"
    else:
        bad, trials = _lenient(c, canary=True)
        test = rate_below([(bad, trials, limit)], alpha, mixture)
        within, word = estimate >= limit, "below"
    evidence: dict[str, Any] = {
        "test": "one_sided_mixture",
        "alpha": alpha,
        "statistic": num(test.e_value),
        "threshold": num(test.threshold),
        "estimate": num(estimate),
        "tested_counts": [bad, trials],
    }
    if test.rejected:
        reason = f"canary failing units {pct(estimate)} is significantly {word} {pct(limit)}"
        return Check(name, limit, Verdict.FAIL, reason, evidence)
    if not within:
        reason = f"canary failing units {pct(estimate)} is {word} {pct(limit)}, not significantly"
        return Check(name, limit, Verdict.HOLD, reason, evidence)
    reason = f"canary failing units {pct(estimate)} within {name} {pct(limit)}"
    if rule is not None:
        if name == "max":
            too_bad = min(1.0, limit * (1.0 + rule.tolerance))
            bad, trials = _lenient(c, canary=True)
            sure = rate_below([(bad, trials, too_bad)], rule.alpha, mixture)
            confirmed = too_bad >= 1.0 or sure.rejected
        else:
            bad, trials = _harsh(c, canary=True)
            sure = rate_above([(bad, trials, limit / (1.0 + rule.tolerance))], rule.alpha, mixture)
            confirmed = sure.rejected
        evidence |= promotion_evidence(rule, confirmed, sure.e_value, sure.threshold)
        if not confirmed:
            return Check(name, limit, Verdict.HOLD, unconfirmed(reason, rule), evidence)
    return Check(name, limit, Verdict.PASS, reason, evidence)


def _relative(
    name: str,
    limit: float,
    c: UnitCounts,
    b: UnitCounts,
    alpha: float,
    rule: PromotionRule | None,
) -> Check:
    """``share_c <= slope * share_b + intercept`` on failing units out of units."""
    slope, intercept = (1.0 + limit, 0.0) if name == "max_increase" else (1.0, limit)
    share_c, share_b = c.share or 0.0, b.share or 0.0
    allowed = min(1.0, slope * share_b + intercept)
    (xc, nc), (xb, nb) = _harsh(c, canary=True), _harsh(b, canary=False)
    evidence: dict[str, Any] = {
        "alpha": alpha,
        "estimate": num(share_c),
        "allowed": num(allowed),
        "tested_counts": {"canary": [xc, nc], "baseline": [xb, nb]},
    }
    if intercept == 0.0:
        ratio = ratio_test(xc, nc, xb, nb, max_ratio=slope, alpha=alpha)
        harmful = ratio.harmful
        evidence |= {
            "test": "conditional_binomial_mixture",
            "statistic": num(ratio.e_value),
            "threshold": num(ratio.threshold),
            "canary_share_of_failing_units": num(ratio.canary_share),
            "null_share": num(ratio.null_share),
        }
        significance = f"e-value {ratio.e_value:.3g} vs {ratio.threshold:.3g}"
    else:
        margin = margin_test(xc, nc, xb, nb, slope=slope, intercept=intercept, alpha=alpha)
        harmful = margin.harmful
        evidence |= {
            "test": "confidence_sequence_margin",
            "statistic": num(margin.canary_lower),
            "threshold": num(margin.limit_at_upper),
        }
        significance = f"lower bound {pct(margin.canary_lower)} vs {pct(margin.limit_at_upper)}"
    what = f"canary failing units {pct(share_c)} vs allowed {pct(allowed)}"
    if harmful:
        return Check(name, limit, Verdict.FAIL, f"{what}: significant ({significance})", evidence)
    if share_c > allowed:
        reason = f"{what}: not significant ({significance})"
        return Check(name, limit, Verdict.HOLD, reason, evidence)
    if rule is not None:
        factor = 1.0 + rule.tolerance
        (xc, nc), (xb, nb) = _lenient(c, canary=True), _lenient(b, canary=False)
        if intercept == 0.0:
            sure = ratio_within(xc, nc, xb, nb, max_ratio=slope * factor, alpha=rule.alpha)
        else:
            sure = margin_within(
                xc, nc, xb, nb, slope=slope, intercept=intercept, factor=factor, alpha=rule.alpha
            )
        evidence |= promotion_evidence(rule, sure.confirmed, sure.statistic, sure.threshold)
        if not sure.confirmed:
            return Check(name, limit, Verdict.HOLD, unconfirmed(f"{what}: within", rule), evidence)
    return Check(name, limit, Verdict.PASS, f"{what}: within", evidence)

"""Rate gates (error, success, mismatch rate), judged with anytime-valid tests.

Every rate gate is judged on *bad events* — errors, failures (errors, for the success
rate) or mismatches — out of trials, and every bound becomes "the canary's bad rate is at
most ``slope * baseline bad rate + intercept``" or an absolute bound on the canary's own
rate; see :mod:`rollwise.stats.proportions` for the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.gates import Gate, GateMetric, PromotionRule
from ..stats.difference import difference_test
from ..stats.onesided import RATE_SCALE, default_mixture, rate_above, rate_below
from ..stats.proportions import WindowPair, margin_test, margin_within, ratio_test, ratio_within
from ..stats.sequential import confidence_sequence
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
from .data import VariantMetrics, WindowCounts, windows_aligned
from .verdicts import GateResult, Verdict

_BAD_EVENTS = {
    GateMetric.ERROR_RATE: "errors",
    GateMetric.SUCCESS_RATE: "failures",
    GateMetric.MISMATCH_RATE: "mismatches",
}


@dataclass(frozen=True, slots=True)
class _Counts:
    bad: int
    trials: int

    @property
    def bad_rate(self) -> float | None:
        return self.bad / self.trials if self.trials else None


def _counts(metric: GateMetric, data: VariantMetrics) -> _Counts:
    if metric is GateMetric.MISMATCH_RATE:
        return _Counts(data.comparisons.mismatches, data.comparisons.total)
    return _Counts(data.errors, data.requests)


def _window_pairs(
    metric: GateMetric, canary: VariantMetrics, baseline: VariantMetrics | None
) -> list[WindowPair] | None:
    """Per-window (canary bad, trials, baseline bad, trials), or None: pool the step."""
    if baseline is None or canary.windows is None or baseline.windows is None:
        return None
    if not windows_aligned(canary.windows, baseline.windows):
        return None

    def counts(w: WindowCounts) -> tuple[int, int]:
        if metric is GateMetric.MISMATCH_RATE:
            return w.comparisons.mismatches, w.comparisons.total
        return w.errors, w.requests

    return [(*counts(c), *counts(b)) for c, b in zip(canary.windows, baseline.windows, strict=True)]


def _value(metric: GateMetric, bad_rate: float | None) -> float | None:
    """The metric's own rate from the bad-event rate."""
    if bad_rate is None:
        return None
    return 1.0 - bad_rate if metric is GateMetric.SUCCESS_RATE else bad_rate


def _describe(metric: GateMetric, counts: _Counts) -> dict[str, Any]:
    return {
        "trials": counts.trials,
        "bad": counts.bad,
        "rate": num(_value(metric, counts.bad_rate)),
    }


def judge_rate(
    gate: Gate,
    baseline: VariantMetrics | None,
    canary: VariantMetrics,
    min_samples: int,
    promotion: PromotionRule | None = None,
) -> GateResult:
    metric = gate.metric
    bounds = bounds_of(gate)
    relative = any(name in ("max_increase", "max_difference") for name, _ in bounds)
    c = _counts(metric, canary)
    b = _counts(metric, baseline) if baseline is not None else None
    evidence: dict[str, Any] = {
        "alpha": gate.alpha,
        "min_samples": min_samples,
        "bad_events": _BAD_EVENTS[metric],
        "samples": {"canary": c.trials, "baseline": b.trials if b is not None else None},
        "canary": _describe(metric, c),
        "baseline": _describe(metric, b) if b is not None else None,
    }
    if c.trials < min_samples:
        return no_data(gate, f"canary has {c.trials} of {min_samples} samples", evidence)
    if relative and b is None:
        return no_data(gate, "a relative bound needs a baseline", evidence)
    if relative and b is not None and b.trials < min_samples:
        return no_data(gate, f"baseline has {b.trials} of {min_samples} samples", evidence)
    alpha = check_alpha(gate)
    rule = strict(promotion)
    windows = _window_pairs(metric, canary, baseline) if relative else None
    if relative:
        evidence["windows"] = len(windows) if windows is not None else 1
        evidence["pooled"] = windows is None
    checks: list[Check] = []
    for name, limit in bounds:
        if name in ("max", "min"):
            checks.append(_absolute(metric, name, limit, c, alpha, rule))
        elif b is not None:
            checks.append(_relative(metric, name, limit, c, b, alpha, rule, windows))
    return combine(gate, checks, evidence)


def _absolute(
    metric: GateMetric,
    name: str,
    limit: float,
    c: _Counts,
    alpha: float,
    rule: PromotionRule | None,
) -> Check:
    """Absolute bound on the canary's own rate: a one-proportion anytime-valid test."""
    success = metric is GateMetric.SUCCESS_RATE
    # In bad-event terms: "max" on an error rate or "min" on a success rate caps the bad
    # rate; the other two put a floor under it.
    caps_bad = (name == "max") != success
    bad_limit = 1.0 - limit if success else limit
    mixture = default_mixture(RATE_SCALE)
    if caps_bad:
        test = rate_above([(c.bad, c.trials, bad_limit)], alpha, mixture)
    else:
        test = rate_below([(c.bad, c.trials, bad_limit)], alpha, mixture)
    interval = confidence_sequence(c.bad, c.trials, alpha)
    low, high = _value(metric, interval.lower), _value(metric, interval.upper)
    estimate = _value(metric, c.bad_rate)
    assert estimate is not None
    assert low is not None
    assert high is not None
    within = estimate <= limit if name == "max" else estimate >= limit
    evidence: dict[str, Any] = {
        "test": "one_sided_mixture",
        "alpha": alpha,
        "statistic": num(test.e_value),
        "threshold": num(test.threshold),
        "estimate": num(estimate),
        "confidence_sequence": [num(min(low, high)), num(max(low, high))],
    }
    word = "above" if name == "max" else "below"
    if test.rejected:
        reason = f"canary {metric.value} {pct(estimate)} is significantly {word} {pct(limit)}"
        return Check(name, limit, Verdict.FAIL, reason, evidence)
    if within:
        reason = f"canary {metric.value} {pct(estimate)} within {name} {pct(limit)}"
        if rule is not None:
            # too bad: the bad rate beyond the allowed one by the tolerance (either way)
            if caps_bad:
                too_bad = bad_limit * (1.0 + rule.tolerance)
                sure = rate_below([(c.bad, c.trials, min(1.0, too_bad))], rule.alpha, mixture)
                confirmed = too_bad >= 1.0 or sure.rejected
            else:
                too_bad = bad_limit / (1.0 + rule.tolerance)
                sure = rate_above([(c.bad, c.trials, too_bad)], rule.alpha, mixture)
                confirmed = sure.rejected
            evidence |= promotion_evidence(rule, confirmed, sure.e_value, sure.threshold)
            if not confirmed:
                return Check(name, limit, Verdict.HOLD, unconfirmed(reason, rule), evidence)
        return Check(name, limit, Verdict.PASS, reason, evidence)
    reason = f"canary {metric.value} {pct(estimate)} is {word} {pct(limit)}, not significantly"
    return Check(name, limit, Verdict.HOLD, reason, evidence)


def _relative(
    metric: GateMetric,
    name: str,
    limit: float,
    c: _Counts,
    b: _Counts,
    alpha: float,
    rule: PromotionRule | None,
    windows: list[WindowPair] | None,
) -> Check:
    """Bound relative to the baseline, as ``bad_c <= slope * bad_b + intercept``."""
    if metric is GateMetric.SUCCESS_RATE:
        # success_c >= (1 - r) success_b  <=>  bad_c <= (1 - r) bad_b + r
        slope, intercept = (max(0.0, 1.0 - limit), min(limit, 1.0))
        if name == "max_difference":  # success_c >= success_b - d  <=>  bad_c <= bad_b + d
            slope, intercept = 1.0, limit
    else:
        slope, intercept = (1.0 + limit, 0.0) if name == "max_increase" else (1.0, limit)
    assert c.bad_rate is not None
    assert b.bad_rate is not None
    allowed_bad = min(1.0, slope * b.bad_rate + intercept)
    within = c.bad_rate <= allowed_bad
    evidence: dict[str, Any] = {"alpha": alpha}
    if intercept == 0.0:
        ratio = ratio_test(
            c.bad, c.trials, b.bad, b.trials, max_ratio=slope, alpha=alpha, windows=windows
        )
        harmful = ratio.harmful
        evidence |= {
            "test": "conditional_binomial_mixture",
            "statistic": num(ratio.e_value),
            "threshold": num(ratio.threshold),
            "canary_share_of_bad": num(ratio.canary_share),
            "null_share": num(ratio.null_share),
            "bad_rate_ratio": num(ratio.ratio),
            "bad_rate_ratio_lower_bound": num(ratio.ratio_lower_bound),
            "max_bad_rate_ratio": num(slope),
        }
        significance = f"e-value {ratio.e_value:.3g} vs {ratio.threshold:.3g}"
    else:
        pooled = [(c.bad, c.trials, b.bad, b.trials)]
        difference = difference_test(
            windows or pooled, slope=slope, intercept=intercept, alpha=alpha
        )
        margin = margin_test(  # the pooled bounds, for reading: the verdict is per window
            c.bad, c.trials, b.bad, b.trials, slope=slope, intercept=intercept, alpha=alpha
        )
        harmful = difference.harmful
        evidence |= {
            "test": "difference_mixture",
            "statistic": num(difference.e_value),
            "threshold": num(difference.threshold),
            "canary_bad_rate_lower_bound": num(margin.canary_lower),
            "baseline_bad_rate_upper_bound": num(margin.baseline_upper),
        }
        significance = f"e-value {difference.e_value:.3g} vs {difference.threshold:.3g}"
    estimate = _value(metric, c.bad_rate)
    allowed = _value(metric, allowed_bad)
    evidence |= {"estimate": num(estimate), "allowed": num(allowed)}
    what = f"canary {metric.value} {pct(estimate)} vs allowed {pct(allowed)}"
    if harmful:
        return Check(name, limit, Verdict.FAIL, f"{what}: significant ({significance})", evidence)
    if within:
        if rule is not None:
            factor = 1.0 + rule.tolerance
            if intercept == 0.0:
                sure = ratio_within(
                    c.bad, c.trials, b.bad, b.trials,
                    max_ratio=slope * factor, alpha=rule.alpha, windows=windows,
                )  # fmt: skip
            else:
                sure = margin_within(
                    c.bad, c.trials, b.bad, b.trials,
                    slope=slope, intercept=intercept, factor=factor, alpha=rule.alpha,
                )  # fmt: skip
            evidence |= promotion_evidence(rule, sure.confirmed, sure.statistic, sure.threshold)
            if not sure.confirmed:
                reason = unconfirmed(f"{what}: within", rule)
                return Check(name, limit, Verdict.HOLD, reason, evidence)
        return Check(name, limit, Verdict.PASS, f"{what}: within", evidence)
    return Check(name, limit, Verdict.HOLD, f"{what}: not significant ({significance})", evidence)

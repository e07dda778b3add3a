"""Latency gates (p50/p95/p99) on merged sketches; see :mod:`rollwise.stats.quantiles`.

A quantile q is judged only once each variant it needs has at least
``max(min_samples, quantile_min_samples(q))`` requests (20 for p50, 200 for p95, 1000 for
p99): fewer cannot say anything about a tail.
"""

from __future__ import annotations

from typing import Any

from ..core.gates import Gate, PromotionRule
from ..stats.quantiles import (
    QuantileTest,
    quantile_bound_test,
    quantile_comparison_test,
    quantile_min_samples,
    quantile_within,
)
from ..stats.sketch import LatencySketch
from ._checks import (
    Check,
    bounds_of,
    check_alpha,
    combine,
    no_data,
    num,
    promotion_evidence,
    secs,
    strict,
    unconfirmed,
)
from .data import VariantMetrics
from .verdicts import GateResult, Verdict


def _describe(sketch: LatencySketch | None, q: float) -> dict[str, Any] | None:
    if sketch is None:
        return None
    p50, p95, p99 = sketch.quantiles((0.5, 0.95, 0.99))
    known = {0.5: p50, 0.95: p95, 0.99: p99}
    value = known[q] if q in known else sketch.quantile(q)
    return {
        "samples": sketch.count,
        "quantile": num(value),
        "p50": num(p50),
        "p95": num(p95),
        "p99": num(p99),
    }


def judge_latency(
    gate: Gate,
    baseline: VariantMetrics | None,
    canary: VariantMetrics,
    min_samples: int,
    promotion: PromotionRule | None = None,
) -> GateResult:
    q = gate.metric.quantile
    assert q is not None
    needed = max(min_samples, quantile_min_samples(q))
    c_sketch = canary.latency
    b_sketch = baseline.latency if baseline is not None else None
    bounds = bounds_of(gate)
    relative = any(name in ("max_increase", "max_difference") for name, _ in bounds)
    evidence: dict[str, Any] = {
        "alpha": gate.alpha,
        "quantile": q,
        "min_samples": needed,
        "samples": {
            "canary": c_sketch.count if c_sketch is not None else 0,
            "baseline": b_sketch.count if b_sketch is not None else None,
        },
        "canary": _describe(c_sketch, q),
        "baseline": _describe(b_sketch, q),
        "unit": "seconds",
    }
    if c_sketch is None or c_sketch.count < needed:
        have = c_sketch.count if c_sketch is not None else 0
        return no_data(gate, f"canary has {have} of {needed} latency samples", evidence)
    if relative and b_sketch is None:
        return no_data(gate, "a relative bound needs the baseline's latency", evidence)
    if relative and b_sketch is not None and b_sketch.count < needed:
        reason = f"baseline has {b_sketch.count} of {needed} latency samples"
        return no_data(gate, reason, evidence)
    alpha = check_alpha(gate)
    estimate = c_sketch.quantile(q)
    assert estimate is not None
    rule = strict(promotion)
    checks: list[Check] = []
    for name, limit in bounds:
        if name == "max":
            test = quantile_bound_test(c_sketch, q, limit, alpha)
            check = _check(name, limit, test, estimate, limit, None, alpha)
            if rule is not None and check.verdict is Verdict.PASS:
                factor = 1.0 + rule.tolerance
                sure = quantile_within(c_sketch, q, limit, rule.alpha, factor=factor)
                check = _confirm(check, rule, sure)
            checks.append(check)
        elif b_sketch is not None:
            increase, difference = (limit, 0.0) if name == "max_increase" else (0.0, limit)
            test, upper = quantile_comparison_test(
                c_sketch,
                b_sketch,
                q,
                max_increase=increase,
                max_difference=difference,
                alpha=alpha,
            )
            base = b_sketch.quantile(q)
            assert base is not None
            allowed = (1.0 + increase) * base + difference
            check = _check(name, limit, test, estimate, allowed, upper, alpha)
            if rule is not None and check.verdict is Verdict.PASS:
                sure = quantile_within(
                    c_sketch, q, 0.0, rule.alpha, b_sketch,
                    max_increase=increase, max_difference=difference,
                    factor=1.0 + rule.tolerance,
                )  # fmt: skip
                check = _confirm(check, rule, sure)
            checks.append(check)
    return combine(gate, checks, evidence)


def _confirm(
    check: Check, rule: PromotionRule, sure: tuple[bool, float | None, float | None]
) -> Check:
    """A passing check under the ``upper_bound`` rule: it holds until the bound is shown."""
    confirmed, upper, allowed = sure
    evidence = check.evidence | promotion_evidence(rule, confirmed, upper, allowed)
    if confirmed:
        return Check(check.bound, check.limit, Verdict.PASS, check.reason, evidence)
    reason = unconfirmed(check.reason, rule)
    return Check(check.bound, check.limit, Verdict.HOLD, reason, evidence)


def _check(
    name: str,
    limit: float,
    test: QuantileTest,
    estimate: float,
    allowed: float,
    baseline_upper: float | None,
    alpha: float,
) -> Check:
    label = f"p{round(test.q * 100):d}"
    evidence: dict[str, Any] = {
        "test": "quantile_share_above",
        "alpha": alpha,
        "statistic": num(test.test.e_value) if test.test is not None else None,
        "threshold": num(test.test.threshold) if test.test is not None else None,
        "estimate": num(estimate),
        "allowed": num(allowed),
        "latency_threshold": num(test.threshold),
        "share_above": num(test.share_above),
        "max_share_above": num(1.0 - test.q),
    }
    if baseline_upper is not None or name != "max":
        evidence["baseline_upper_bound"] = num(baseline_upper)
    what = f"canary {label} {secs(estimate)} vs allowed {secs(allowed)}"
    if test.harmful:
        share = f"{(test.share_above or 0.0) * 100:.3g}%"
        reason = (
            f"{what}: significant ({share} of requests above {secs(test.threshold)},"
            f" allowed {(1.0 - test.q) * 100:.3g}%)"
        )
        return Check(name, limit, Verdict.FAIL, reason, evidence)
    if test.threshold is None:
        reason = f"{what}: the baseline's {label} is not yet bounded"
        return Check(name, limit, Verdict.HOLD, reason, evidence)
    if estimate <= allowed:
        return Check(name, limit, Verdict.PASS, f"{what}: within", evidence)
    return Check(name, limit, Verdict.HOLD, f"{what}: not significant", evidence)

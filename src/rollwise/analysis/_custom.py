"""Custom gates: plain checks of a provider's value against the gate's bounds.

A custom query returns one number per variant with no distribution behind it, so there is
no test to run: a bound that does not hold fails the gate, one that holds passes it. The
samples behind the value must reach the minimum, as for every gate. Because such a check
is not protected against repeated looks, the provider's value should cover the step's
whole cumulative window (less noisy than a short interval), and the bound should leave
room for noise.
"""

from __future__ import annotations

from typing import Any

from ..core.gates import Gate
from ._checks import Check, bounds_of, combine, no_data, num
from .data import CustomValue, VariantMetrics
from .verdicts import GateResult, Verdict


def _describe(value: CustomValue | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {"value": num(value.value), "samples": value.samples}


def judge_custom(
    gate: Gate, baseline: VariantMetrics | None, canary: VariantMetrics, min_samples: int
) -> GateResult:
    c = canary.custom.get(gate.key)
    b = baseline.custom.get(gate.key) if baseline is not None else None
    bounds = bounds_of(gate)
    relative = any(name in ("max_increase", "max_difference") for name, _ in bounds)
    evidence: dict[str, Any] = {
        "min_samples": min_samples,
        "higher_is_worse": gate.worse_when_higher,
        "samples": {
            "canary": c.samples if c is not None else 0,
            "baseline": b.samples if b is not None else None,
        },
        "canary": _describe(c),
        "baseline": _describe(b),
        "test": "plain_check",
    }
    if c is None:
        return no_data(gate, "the provider returned no value for the canary", evidence)
    if c.samples < min_samples:
        return no_data(gate, f"canary has {c.samples} of {min_samples} samples", evidence)
    if relative and b is None:
        return no_data(gate, "the provider returned no value for the baseline", evidence)
    if relative and b is not None and b.samples < min_samples:
        return no_data(gate, f"baseline has {b.samples} of {min_samples} samples", evidence)
    checks = [_check(gate, name, limit, c.value, b) for name, limit in bounds]
    return combine(gate, checks, evidence)


def _check(gate: Gate, name: str, limit: float, value: float, b: CustomValue | None) -> Check:
    higher_worse = gate.worse_when_higher
    if name == "max":
        allowed, ok = limit, value <= limit
    elif name == "min":
        allowed, ok = limit, value >= limit
    else:
        assert b is not None
        slack = abs(b.value) * limit if name == "max_increase" else limit
        allowed = b.value + slack if higher_worse else b.value - slack
        ok = value <= allowed if higher_worse else value >= allowed
    evidence = {"estimate": num(value), "allowed": num(allowed)}
    if ok:
        return Check(name, limit, Verdict.PASS, f"{gate.key} {value:.6g} within {name}", evidence)
    where = "above" if (name == "max" or (name != "min" and higher_worse)) else "below"
    reason = f"{gate.key} {value:.6g} is {where} the allowed {allowed:.6g}"
    return Check(name, limit, Verdict.FAIL, reason, evidence)

"""Shared pieces of gate judging: one check per bound, and how checks make a verdict."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..core.gates import Gate, PromotionRule, PromotionRuleKind
from .verdicts import GateResult, Verdict

BOUND_NAMES = ("max", "min", "max_increase", "max_difference")


def num(value: float | None, digits: int = 6) -> float | None:
    """A JSON-friendly number: None for missing or non-finite, else ``digits`` significant."""
    if value is None or not math.isfinite(value):
        return None
    if value == 0.0:
        return 0.0
    return float(f"{value:.{digits}g}")


def bounds_of(gate: Gate) -> list[tuple[str, float]]:
    """The gate's bounds in a fixed order, each a check of its own."""
    found = [(name, getattr(gate, name)) for name in BOUND_NAMES]
    return [(name, float(value)) for name, value in found if value is not None]


def check_alpha(gate: Gate) -> float:
    """Each bound is tested at alpha / k, so that the gate's false failures stay <= alpha."""
    return gate.alpha / max(1, len(bounds_of(gate)))


@dataclass(frozen=True, slots=True)
class Check:
    """One bound of a gate, judged: PASS, FAIL or HOLD, and why."""

    bound: str
    limit: float
    verdict: Verdict
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "bound": self.bound,
            "limit": self.limit,
            "verdict": self.verdict.value,
            "reason": self.reason,
            **self.evidence,
        }


def no_data(gate: Gate, reason: str, evidence: dict[str, Any]) -> GateResult:
    return GateResult(gate.key, gate.metric.value, Verdict.NO_DATA, reason, evidence)


def combine(gate: Gate, checks: Sequence[Check], evidence: dict[str, Any]) -> GateResult:
    """FAIL if any check fails; else HOLD if any holds; else PASS."""
    evidence = {**evidence, "checks": [check.to_dict() for check in checks]}
    for verdict in (Verdict.FAIL, Verdict.HOLD):
        chosen = [check for check in checks if check.verdict is verdict]
        if chosen:
            reason = "; ".join(check.reason for check in chosen)
            return GateResult(gate.key, gate.metric.value, verdict, reason, evidence)
    reason = "; ".join(check.reason for check in checks) or "no bound"
    return GateResult(gate.key, gate.metric.value, Verdict.PASS, reason, evidence)


def pct(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate * 100:.3g}%"


def secs(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value * 1000:.4g} ms"


def strict(promotion: PromotionRule | None) -> PromotionRule | None:
    """The rule when it asks for a confidence bound, None for the point-estimate rule."""
    if promotion is None or promotion.rule is PromotionRuleKind.ESTIMATE:
        return None
    return promotion


def promotion_evidence(
    promotion: PromotionRule, confirmed: bool, statistic: float | None, threshold: float | None
) -> dict[str, Any]:
    """What a check shows about the promotion rule (``upper_bound``)."""
    return {
        "promotion": {
            "rule": promotion.rule.value,
            "tolerance": promotion.tolerance,
            "alpha": promotion.alpha,
            "confirmed": confirmed,
            "statistic": num(statistic),
            "threshold": num(threshold),
        }
    }


def unconfirmed(what: str, promotion: PromotionRule) -> str:
    return (
        f"{what}: not yet shown below {(1 + promotion.tolerance):.3g}x the allowed value "
        f"(promotion rule upper_bound, alpha {promotion.alpha:g})"
    )

"""Guardrail metrics judged like rollout gates: the verdict the experiment controller acts on.

A guardrail (error rate, latency, unsubscribes) is a metric the experiment must not make
worse. Like a rollout gate it is judged on an interval of the relative lift, never on the
point estimate, against a tolerance ``threshold`` in the harmful direction:

- **fail**: the whole interval is worse than the tolerance (for higher-is-better,
  ``upper < -threshold``; for lower-is-better, ``lower > threshold``): the arm is
  significantly worse by more than allowed. One failure stops the experiment.
- **pass**: the whole interval is within the tolerance (the arm is shown not to be worse
  by more than allowed).
- **inconclusive**: neither yet (including no data): keep running; never a silent pass.

The controller looks at guardrails at every tick, so the engine judges them on the
always-valid (sequential) interval by default whatever the experiment's own method: a
fixed-horizon interval looked at that often would stop healthy experiments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from ...stats.experiment import Lift
from ._json import num
from .metrics import ExperimentMetric

__all__ = ["GuardrailReport", "GuardrailStatus", "GuardrailVerdict", "judge_guardrail"]

GuardrailStatus = Literal["fail", "pass", "inconclusive"]


@dataclass(frozen=True, slots=True)
class GuardrailVerdict:
    metric: str
    arm: str
    status: GuardrailStatus
    reason: str
    threshold: float
    direction: str
    relative: Lift
    method: str

    def to_dict(self) -> dict[str, Any]:
        r = self.relative
        return {
            "metric": self.metric,
            "arm": self.arm,
            "status": self.status,
            "reason": self.reason,
            "threshold": self.threshold,
            "direction": self.direction,
            "method": self.method,
            "relative": {
                "estimate": num(r.estimate),
                "lower": num(r.lower),
                "upper": num(r.upper),
                "p_value": num(r.p_value),
            },
        }


@dataclass(frozen=True, slots=True)
class GuardrailReport:
    """Every guardrail verdict and what the controller should do: stop or continue."""

    verdicts: tuple[GuardrailVerdict, ...] = ()
    sample_ratio_mismatch: bool = False
    failures: tuple[GuardrailVerdict, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "failures", tuple(v for v in self.verdicts if v.status == "fail"))

    @property
    def stop(self) -> bool:
        return bool(self.failures)

    @property
    def action(self) -> Literal["stop", "continue"]:
        return "stop" if self.stop else "continue"

    @property
    def reason(self) -> str:
        if self.failures:
            text = "; ".join(v.reason for v in self.failures)
            return f"guardrail failed: {text}"
        pending = sum(v.status == "inconclusive" for v in self.verdicts)
        words = f"{len(self.verdicts)} guardrail checks, {pending} inconclusive"
        if self.sample_ratio_mismatch:
            words += "; sample ratio mismatch: results are not trustworthy"
        return words

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "reason": self.reason,
            "sample_ratio_mismatch": self.sample_ratio_mismatch,
            "failures": [v.to_dict() for v in self.failures],
            "verdicts": [v.to_dict() for v in self.verdicts],
        }


def _pct(value: float) -> str:
    return f"{value * 100:+.2f}%"


def judge_guardrail(
    metric: ExperimentMetric, arm: str, relative: Lift, method: str
) -> GuardrailVerdict:
    """Judge one arm's relative lift on a guardrail metric."""
    t = metric.threshold
    low, high = relative.lower, relative.upper
    if not (math.isfinite(low) and math.isfinite(high)):
        status: GuardrailStatus = "inconclusive"
        reason = f"{metric.key} on {arm}: not enough data yet"
    else:
        # harm is the lift in the bad direction: worst and best case over the interval
        if metric.higher_is_better:
            worst, best = -low, -high
        else:
            worst, best = high, low
        span = f"[{_pct(low)}, {_pct(high)}]"
        limit = f"{t * 100:.2f}% worse"
        if best > t:
            status = "fail"
            reason = f"{metric.key} on {arm}: relative lift {span} is beyond {limit}"
        elif worst <= t:
            status = "pass"
            reason = f"{metric.key} on {arm}: relative lift {span} is within {limit}"
        else:
            status = "inconclusive"
            reason = f"{metric.key} on {arm}: relative lift {span} may be beyond {limit}"
    return GuardrailVerdict(metric.key, arm, status, reason, t, metric.direction, relative, method)

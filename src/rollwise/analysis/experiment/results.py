"""What an experiment analysis returns: SRM first, then each metric's arms against control.

Every value is a plain frozen dataclass with ``to_dict()`` giving JSON-ready data (NaN and
infinities become ``null``), which is what the results API, the CLI and the dashboard show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...stats.experiment import BayesianLift, Lift, SampleRatioTest
from ._json import num
from .guardrails import GuardrailReport
from .metrics import ExperimentMetric

__all__ = ["ArmResult", "ExperimentResults", "MetricResult", "PowerSummary", "SampleRatio"]


def _lift(lift: Lift) -> dict[str, Any]:
    return {
        "estimate": num(lift.estimate),
        "lower": num(lift.lower),
        "upper": num(lift.upper),
        "std_error": num(lift.std_error),
        "p_value": num(lift.p_value),
    }


@dataclass(frozen=True, slots=True)
class SampleRatio:
    """The sample-ratio-mismatch check over exposed units (shown before any result)."""

    test: SampleRatioTest
    excluded_units: int = 0

    @property
    def mismatch(self) -> bool:
        return self.test.mismatch

    def to_dict(self) -> dict[str, Any]:
        t = self.test
        total = sum(t.observed.values())
        return {
            "mismatch": t.mismatch,
            "p_value": num(t.p_value),
            "threshold": t.threshold,
            "statistic": num(t.statistic),
            "dof": t.dof,
            "observed": dict(t.observed),
            "expected": {arm: num(e) for arm, e in t.expected.items()},
            "observed_share": {
                arm: num(c / total) if total else None for arm, c in t.observed.items()
            },
            "excluded_units": self.excluded_units,
        }


@dataclass(frozen=True, slots=True)
class PowerSummary:
    """Planning figures for one arm: what the current sample can detect, what is missing."""

    power: float
    minimum_detectable_effect: float
    target_effect: float | None
    power_at_target: float | None
    units_needed: float | None
    units_remaining: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "power": self.power,
            "minimum_detectable_effect": num(self.minimum_detectable_effect),
            "target_effect": self.target_effect,
            "power_at_target": num(self.power_at_target),
            "units_needed": num(self.units_needed),
            "units_remaining": num(self.units_remaining),
        }


@dataclass(frozen=True, slots=True)
class ArmResult:
    """One treatment arm against control on one metric."""

    arm: str
    units: int
    value: float
    absolute: Lift
    relative: Lift
    bayesian: BayesianLift
    adjusted_p_value: float
    significant: bool
    improved: bool | None
    power: PowerSummary

    def to_dict(self) -> dict[str, Any]:
        b = self.bayesian
        return {
            "arm": self.arm,
            "units": self.units,
            "value": num(self.value),
            "absolute": _lift(self.absolute),
            "relative": _lift(self.relative),
            "adjusted_p_value": num(self.adjusted_p_value),
            "significant": self.significant,
            "improved": self.improved,
            "bayesian": {
                "expected": num(b.expected),
                "std_dev": num(b.std_dev),
                "chance_to_win": num(b.chance_to_win),
                "risk_treatment": num(b.risk_treatment),
                "risk_control": num(b.risk_control),
                "lower": num(b.lower),
                "upper": num(b.upper),
            },
            "power": self.power.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class MetricResult:
    metric: ExperimentMetric
    control_units: int
    control_value: float
    method: str
    cuped_theta: dict[str, float | None]
    arms: tuple[ArmResult, ...]

    def to_dict(self) -> dict[str, Any]:
        m = self.metric
        return {
            "metric": m.key,
            "kind": m.kind,
            "role": m.role,
            "direction": m.direction,
            "method": self.method,
            "control": {"units": self.control_units, "value": num(self.control_value)},
            "cuped_theta": {arm: num(t) for arm, t in self.cuped_theta.items()},
            "arms": [arm.to_dict() for arm in self.arms],
        }


@dataclass(frozen=True, slots=True)
class ExperimentResults:
    """The whole analysis: the SRM check first, then metrics, corrections, guardrails."""

    control: str
    sample_ratio: SampleRatio
    metrics: tuple[MetricResult, ...]
    correction: str
    alpha: float
    sequential: bool
    guardrails: GuardrailReport

    def metric(self, key: str) -> MetricResult:
        for result in self.metrics:
            if result.metric.key == key:
                return result
        raise KeyError(key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sample_ratio": self.sample_ratio.to_dict(),
            "control": self.control,
            "alpha": self.alpha,
            "sequential": self.sequential,
            "correction": self.correction,
            "metrics": [m.to_dict() for m in self.metrics],
            "guardrails": self.guardrails.to_dict(),
        }

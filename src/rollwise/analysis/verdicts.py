"""What the judge says about a gate and a step, with the evidence behind it.

Results are plain frozen dataclasses with ``to_dict()`` producing JSON-friendly data
(finite floats, strings, lists, dicts), so the controller can store them in a rollout's
history and the API can show them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..core.gates import Verdict

__all__ = ["Decision", "GateResult", "StepJudgement", "Verdict"]


class Decision(StrEnum):
    """What a step's judgement asks of the controller."""

    PROMOTE = "promote"
    HOLD = "hold"
    ROLLBACK = "rollback"
    NO_DATA = "no_data"
    """Some gate lacks data: the controller applies the rollout's NoDataPolicy."""
    PAUSE = "pause"
    """Sample-ratio mismatch: the split is not what the step configures, so the comparison
    cannot be trusted; a person should look (no gate failed)."""


@dataclass(frozen=True, slots=True)
class GateResult:
    """One gate's verdict, a one-line reason, and the numbers it was based on."""

    gate: str
    metric: str
    verdict: Verdict
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "gate": self.gate,
            "metric": self.metric,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "evidence": self.evidence,
        }


@dataclass(frozen=True, slots=True)
class StepJudgement:
    """The decision on a step, why, and every gate's result."""

    decision: Decision
    summary: str
    gates: tuple[GateResult, ...]
    bake_elapsed: bool
    min_samples: int
    samples: dict[str, int | None]
    """Requests per variant (``baseline`` is None when there is no baseline)."""
    sample_ratio: dict[str, Any] | None = None
    """The sample-ratio check's evidence (None when it did not run: no configured share,
    no baseline, or disabled)."""

    @property
    def failed(self) -> tuple[GateResult, ...]:
        return tuple(g for g in self.gates if g.verdict is Verdict.FAIL)

    @property
    def verdict(self) -> Verdict:
        """What the data alone shows, bake time aside (for a controller that times steps).

        FAIL when the decision is a rollback, SAMPLE_RATIO_MISMATCH when the split is off (and
        no gate failed), NO_DATA when data is missing, HOLD when a gate holds, PASS when every
        gate passes with its minimum samples (even while baking).
        """
        if self.decision is Decision.ROLLBACK:
            return Verdict.FAIL
        if self.decision is Decision.PAUSE:
            return Verdict.SAMPLE_RATIO_MISMATCH
        if self.decision is Decision.NO_DATA:
            return Verdict.NO_DATA
        if any(g.verdict is Verdict.HOLD for g in self.gates):
            return Verdict.HOLD
        return Verdict.PASS

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision.value,
            "verdict": self.verdict.value,
            "summary": self.summary,
            "bake_elapsed": self.bake_elapsed,
            "min_samples": self.min_samples,
            "samples": dict(self.samples),
            "sample_ratio": self.sample_ratio,
            "gates": [gate.to_dict() for gate in self.gates],
        }

"""What the store returns about rollouts: the rollout, its history rows, its latest judgement
and its evaluations over time.

A :class:`RolloutRecord` holds the checked spec (baseline resolved) and the state columns;
:attr:`RolloutRecord.state` rebuilds the core :class:`~rollwise.core.rollout.RolloutState`
the controller hands to ``decide`` and ``apply_action``. The traffic share is never stored:
:attr:`RolloutRecord.share` derives it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...core.rollout import RolloutPhase, RolloutSpec, RolloutState, TransitionRecord, share_at
from ._base import Record

__all__ = [
    "EvaluationRecord",
    "JudgementRecord",
    "RolloutHistoryRecord",
    "RolloutRecord",
]


class RolloutRecord(Record):
    """A rollout as stored. ``step`` is the 0-based index into ``spec.steps``."""

    id: int
    flag: str
    environment: str
    variant: str
    baseline: str
    spec: RolloutSpec
    phase: RolloutPhase
    step: int
    step_started_at: datetime | None
    attempt: int
    version: int
    created_at: datetime
    updated_at: datetime
    created_by: str

    @property
    def state(self) -> RolloutState:
        """The core state, for ``apply_action``, ``decide`` and ``step_clock``."""
        return RolloutState(
            phase=self.phase,
            step=self.step,
            step_started_at=self.step_started_at,
            attempt=self.attempt,
            version=self.version,
        )

    @property
    def share(self) -> int:
        """The canary's share of the pool in basis points, derived from phase and step."""
        return share_at(self.spec, self.phase, self.step)

    @property
    def is_active(self) -> bool:
        return self.phase.is_active


class RolloutHistoryRecord(TransitionRecord):
    """One stored transition: ``seq`` counts a rollout's transitions from 1."""

    rollout_id: int
    seq: int


class JudgementRecord(Record):
    """The controller's latest look at a rollout (overwritten every tick, never versioned).

    ``decision`` is what it decided (``hold``, ``advance``, ...), ``verdict`` what the data
    showed (``pass``, ``fail``, ``hold``, ``no_data``); ``step``, ``attempt`` and
    ``rollout_version`` say which state was judged, so a stale judgement is recognisable.
    """

    rollout_id: int
    at: datetime
    step: int
    attempt: int
    rollout_version: int
    decision: str
    verdict: str | None
    reason: str
    evidence: dict[str, Any] | None


class EvaluationRecord(JudgementRecord):
    """One kept judgement of the rollout's history of judgements: ``seq`` counts them from 1.

    Kept when the judged step, attempt or decision changed since the previous one, else at
    most one per :data:`~rollwise.store.rollouts.EVALUATION_INTERVAL`; the latest judgement
    (:class:`JudgementRecord`) is always the newest look.
    """

    seq: int

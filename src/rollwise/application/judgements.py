"""Record the controller's judgement of a rollout step, and act on its decision.

The controller judges a progressing rollout as it read it (``rollwise.controller.reconcile``);
:func:`record_step_decision` then, in one transaction, locks the rollout at the judged
version (a person who changed it meanwhile wins: ConflictError, nothing recorded), keeps
the judgement (the rollout's latest look: not versioned, not audited; the store also adds
it to the rollout's evaluations when step, attempt or decision changed, else at most once a
minute) and, unless the decision is ``hold``, applies the transition with the judgement's
evidence in its history.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..core.rollout import CONTROLLER_ACTOR, RolloutAction
from ..store import JudgementRecord, RolloutRecord, Tx
from .rollouts import act_on_rollout

__all__ = ["StepDecisionRecord", "record_step_decision"]


@dataclass(frozen=True, slots=True)
class StepDecisionRecord:
    """What was kept: the judgement, and the rollout afterwards (moved unless ``hold``)."""

    judgement: JudgementRecord
    rollout: RolloutRecord


def record_step_decision(
    tx: Tx,
    rollout: RolloutRecord,
    action: RolloutAction,
    *,
    at: datetime,
    reason: str,
    verdict: str | None,
    evidence: Mapping[str, Any],
    actor: str = CONTROLLER_ACTOR,
) -> StepDecisionRecord:
    """Keep the judgement of ``rollout`` (as it was read) and apply ``action``."""
    # hold changes nothing, but locks the row and checks the version first
    act_on_rollout(
        tx, rollout.id, RolloutAction.HOLD, expected_version=rollout.version, actor=actor, now=at
    )
    judgement = tx.rollouts.record_judgement(
        rollout.id,
        decision=action.value,
        reason=reason,
        verdict=verdict,
        evidence=evidence,
        at=at,
    )
    if action is RolloutAction.HOLD:
        return StepDecisionRecord(judgement, rollout)
    after = act_on_rollout(
        tx,
        rollout.id,
        action,
        expected_version=rollout.version,
        actor=actor,
        now=at,
        reason=reason,
        evidence=evidence,
    )
    return StepDecisionRecord(judgement, after)

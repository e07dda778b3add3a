"""A rollout's state and the pure function that applies one action to it.

:func:`apply_action` is the only way a state changes. It checks the action against
:data:`TRANSITIONS`, computes the next phase and step, bumps the version (which the store
compares to apply each transition exactly once), and returns the history record. The
traffic share is not part of the state: :func:`traffic_share` derives it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ...errors import ConflictError
from ._phases import (
    MANUAL_ACTIONS,
    TRANSITIONS,
    RolloutAction,
    RolloutPhase,
    legal_actions,
)
from ._spec import RolloutSpec
from ._traffic import share_at

__all__ = [
    "CONTROLLER_ACTOR",
    "Applied",
    "RolloutState",
    "TransitionRecord",
    "apply_action",
    "is_verifying",
]

CONTROLLER_ACTOR = "controller"
"""The actor of the controller's decisions (people act under their token's name)."""

_P = RolloutPhase
_A = RolloutAction
_VERIFY = "verify"

_DEFAULT_REASONS: dict[str, str] = {
    _A.START: "started",
    _VERIFY: "verifying the candidate's health before step 1",
    _A.PAUSE: "paused",
    _A.RESUME: "resumed",
    _A.PROMOTE: "promoted to 100%",
    _A.ABORT: "aborted: back to the baseline",
    _A.RETRY: "retried from the first step",
    _A.ADVANCE: "step passed its gates",
    _A.HOLD: "holding",
    _A.ROLLBACK: "a gate failed: back to the baseline",
}


class RolloutState(BaseModel):
    """Where a rollout is: phase, step, when the step began, which attempt, which version.

    ``step_started_at`` is when the current step began (or resumed): the bake and the
    maximum step duration count from it; None while pending, except while the candidate's
    health is verified (:func:`is_verifying`: the health check's deadline counts from it).
    ``attempt`` counts starts (1, then +1 per retry). ``version`` grows by one per transition.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    phase: RolloutPhase = RolloutPhase.PENDING
    step: Annotated[int, Field(ge=0)] = 0
    step_started_at: AwareDatetime | None = None
    attempt: Annotated[int, Field(ge=1)] = 1
    version: Annotated[int, Field(ge=1)] = 1


class TransitionRecord(BaseModel):
    """One row of a rollout's history: what moved where, who did it, why, on what evidence.

    The shares are the derived values at the time, kept so the history reads on its own.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: RolloutAction
    actor: str
    at: AwareDatetime
    from_phase: RolloutPhase
    from_step: int
    from_share: int
    to_phase: RolloutPhase
    to_step: int
    to_share: int
    attempt: int
    version: int
    """The version of the state this transition produced."""
    reason: str
    evidence: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Applied:
    """The state after an action and its history record (None for ``hold``: nothing moved)."""

    state: RolloutState
    record: TransitionRecord | None


def apply_action(
    spec: RolloutSpec,
    state: RolloutState,
    action: RolloutAction,
    *,
    now: datetime,
    actor: str,
    reason: str | None = None,
    evidence: Mapping[str, Any] | None = None,
) -> Applied:
    """Apply ``action`` at ``now`` (timezone-aware); ConflictError when it is not legal now.

    The error's ``details`` carry ``phase``, ``step``, ``action``, ``legal_actions`` and
    ``legal_manual_actions`` (what a person may do instead), for the API's 409.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if not actor:
        raise ValueError("actor must not be empty")
    steps = spec.steps
    if state.step >= len(steps):
        raise ValueError(f"state step {state.step} is outside the rollout's {len(steps)} step(s)")
    target = TRANSITIONS[state.phase].get(action)
    if target is None:
        raise _illegal(spec, state, action)
    if action is _A.HOLD:
        return Applied(state, None)

    step = state.step
    started: datetime | None = now
    attempt = state.attempt
    verify = False
    if action is _A.START or action is _A.RETRY:
        step = 0
        if action is _A.RETRY:
            attempt += 1
        # a health check comes first: pending, its clock started, until the controller
        # (or a person, skipping it) starts step 1 of a rollout that is verifying
        if spec.health_check is not None and not is_verifying(spec, state):
            target, verify = _P.PENDING, True
    elif action is _A.ADVANCE:
        step = min(step + 1, len(steps) - 1)
        if step == state.step or _is_finish_line(spec, step):
            target = _P.SUCCEEDED
    elif action is _A.PROMOTE:
        step = len(steps) - 1
    elif action is not _A.RESUME:  # pause, abort, rollback: the step and its clock stay
        started = state.step_started_at

    new_state = RolloutState(
        phase=target,
        step=step,
        step_started_at=started,
        attempt=attempt,
        version=state.version + 1,
    )
    record = TransitionRecord(
        action=action,
        actor=actor,
        at=now,
        from_phase=state.phase,
        from_step=state.step,
        from_share=share_at(spec, state.phase, state.step),
        to_phase=target,
        to_step=step,
        to_share=share_at(spec, target, step),
        attempt=attempt,
        version=new_state.version,
        reason=reason if reason else _DEFAULT_REASONS[_VERIFY if verify else action],
        evidence=dict(evidence) if evidence is not None else None,
    )
    return Applied(new_state, record)


def is_verifying(spec: RolloutSpec, state: RolloutState) -> bool:
    """Whether the rollout is verifying its candidate's health: its spec has a health check,
    and it is pending with its clock started (``start`` or ``retry`` was asked for); no
    traffic has moved yet. The controller starts step 1 once the candidate is healthy."""
    return (
        spec.health_check is not None
        and state.phase is _P.PENDING
        and state.step_started_at is not None
    )


def _is_finish_line(spec: RolloutSpec, step: int) -> bool:
    """The last step at 100% with no bake: reaching it is success, there is nothing to watch."""
    steps = spec.steps
    return step == len(steps) - 1 and steps[step].bake == 0


def _illegal(spec: RolloutSpec, state: RolloutState, action: RolloutAction) -> ConflictError:
    legal = legal_actions(state.phase)
    manual = [a.value for a in legal if a in MANUAL_ACTIONS]
    where = state.phase.value
    if state.phase in (_P.PROGRESSING, _P.PAUSED):
        where += f" at step {state.step + 1} of {len(spec.steps)}"
    if legal:
        now_legal = "legal now: " + ", ".join(a.value for a in legal)
    else:
        now_legal = f"no action is legal now: {state.phase.value} is final"
    return ConflictError(
        f"cannot {action.value} a rollout that is {where}; {now_legal}",
        flag=spec.flag,
        environment=spec.environment,
        phase=state.phase.value,
        step=state.step,
        action=action.value,
        legal_actions=[a.value for a in legal],
        legal_manual_actions=manual,
    )

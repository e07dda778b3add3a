"""/api/v1/rollouts: create a rollout, watch it, act on it (see docs/rollouts-api.md).

A rollout's view carries what a person or a CI job needs to decide: the state, the derived
share, the actions legal now, the current step's clock and the controller's latest
judgement; ``/evaluations`` pages through its judgements over time. Actions are
version-checked (``If-Match`` or ``version``): a stale version or an action that is not
legal now is a 409 that says the current version or the legal actions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ... import application
from ...core.flags import BUCKETS
from ...core.rollout import (
    MANUAL_ACTIONS,
    RolloutPhase,
    RolloutSpec,
    is_verifying,
    legal_actions,
    step_clock,
)
from ...store import (
    EvaluationRecord,
    JudgementRecord,
    RolloutHistoryRecord,
    RolloutRecord,
    Store,
)
from ..auth import Principal, require
from ..config_hub import ConfigHub
from ..deps import BEFORE_ID, MAX_INT, Version, expected_version, hub_of, if_match, store_of
from ..errors import error_responses

router = APIRouter(
    prefix="/api/v1/rollouts", tags=["rollouts"], responses=error_responses(401, 403, 422)
)
ROLLOUT_ID = Path(ge=1, le=MAX_INT, description="The rollout's id")
ManualAction = Literal["start", "pause", "resume", "promote", "abort", "retry"]


class RolloutCreate(RolloutSpec):
    """A rollout spec (docs/rollouts.md), and whether to start it at once."""

    start: bool = Field(default=False, description="Start at once instead of leaving it pending")


class ActionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Version | None = None
    reason: str | None = Field(default=None, max_length=1000, description="Kept in the history")


class StepClockView(BaseModel):
    started_at: datetime
    bake_ends_at: datetime
    expires_at: datetime = Field(description="When the step pauses if it has no verdict yet")


class RolloutSummary(BaseModel):
    id: int
    flag: str
    environment: str
    variant: str
    baseline: str
    strategy: str
    phase: RolloutPhase
    step: int = Field(description="0-based index of the current step")
    steps: int
    step_percent: int = Field(description="The current step's percent")
    share: int = Field(description="The canary's share of the pool now, in basis points")
    share_percent: float
    attempt: int
    version: int
    created_at: datetime
    updated_at: datetime
    created_by: str
    verifying: bool = Field(description="pending while the candidate's health is verified")


class RolloutView(RolloutSummary):
    spec: RolloutSpec
    legal_actions: list[str]
    legal_manual_actions: list[str]
    step_clock: StepClockView | None
    judgement: JudgementRecord | None


def _summary_values(record: RolloutRecord) -> dict[str, Any]:
    steps = record.spec.steps
    return {
        "id": record.id,
        "flag": record.flag,
        "environment": record.environment,
        "variant": record.variant,
        "baseline": record.baseline,
        "strategy": record.spec.strategy.type,
        "phase": record.phase,
        "step": record.step,
        "steps": len(steps),
        "step_percent": steps[record.step].percent,
        "share": record.share,
        "share_percent": record.share * 100 / BUCKETS,
        "attempt": record.attempt,
        "version": record.version,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "created_by": record.created_by,
        "verifying": is_verifying(record.spec, record.state),
    }


def _view(record: RolloutRecord, judgement: JudgementRecord | None) -> RolloutView:
    legal = legal_actions(record.phase)
    clock = step_clock(record.spec, record.state)
    return RolloutView(
        **_summary_values(record),
        spec=record.spec,
        legal_actions=[a.value for a in legal],
        legal_manual_actions=[a.value for a in legal if a in MANUAL_ACTIONS],
        step_clock=None
        if clock is None
        else StepClockView(
            started_at=clock.started_at,
            bake_ends_at=clock.bake_ends_at,
            expires_at=clock.expires_at,
        ),
        judgement=judgement,
    )


def _etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


@router.post("", status_code=201, response_model=RolloutView, responses=error_responses(404, 409))
def create_rollout(
    body: RolloutCreate,
    request: Request,
    response: Response,
    store: Store = Depends(store_of),
    hub: ConfigHub = Depends(hub_of),
    who: Principal = Depends(require("write")),
) -> RolloutView:
    spec = RolloutSpec.model_validate(body.model_dump(exclude={"start"}))
    controller = request.app.state.controller
    if controller is not None:  # the provider that will judge it: refuse gates it cannot serve
        controller.provider.validate_gates(spec.gates)
    with store.transaction(who.actor) as tx:
        record = application.create_rollout(tx, spec, start=body.start)
        view = _view(record, tx.rollouts.get_judgement(record.id))
    if body.start:
        hub.changed()
    _etag(response, record.version)
    return view


@router.get("", response_model=list[RolloutSummary])
def list_rollouts(
    flag: str | None = Query(default=None, max_length=128),
    environment: str | None = Query(default=None, max_length=64),
    phase: RolloutPhase | None = Query(default=None),
    active: bool | None = Query(default=None, description="Pending, progressing or paused"),
    limit: int = Query(default=100, ge=1, le=1000),
    before_id: int | None = BEFORE_ID,
    store: Store = Depends(store_of),
    _: Principal = Depends(require("read")),
) -> list[RolloutSummary]:
    with store.transaction("read") as tx:
        records = tx.rollouts.list_rollouts(
            flag=flag,
            environment=environment,
            phases=None if phase is None else [phase],
            active=active,
            limit=limit,
            before_id=before_id,
        )
    return [RolloutSummary(**_summary_values(record)) for record in records]


@router.get("/{rollout_id}", response_model=RolloutView, responses=error_responses(404))
def get_rollout(
    response: Response,
    rollout_id: int = ROLLOUT_ID,
    store: Store = Depends(store_of),
    _: Principal = Depends(require("read")),
) -> RolloutView:
    with store.transaction("read") as tx:
        record = tx.rollouts.get(rollout_id)
        view = _view(record, tx.rollouts.get_judgement(rollout_id))
    _etag(response, record.version)
    return view


@router.get(
    "/{rollout_id}/history",
    response_model=list[RolloutHistoryRecord],
    responses=error_responses(404),
)
def rollout_history(
    rollout_id: int = ROLLOUT_ID,
    store: Store = Depends(store_of),
    _: Principal = Depends(require("read")),
) -> list[RolloutHistoryRecord]:
    with store.transaction("read") as tx:
        return tx.rollouts.list_history(rollout_id)


@router.get(
    "/{rollout_id}/evaluations",
    response_model=list[EvaluationRecord],
    responses=error_responses(404),
)
def rollout_evaluations(
    rollout_id: int = ROLLOUT_ID,
    since: int | None = Query(
        default=None, ge=0, le=MAX_INT, description="page: the last seq of the previous page"
    ),
    limit: int = Query(default=100, ge=1, le=1000),
    store: Store = Depends(store_of),
    _: Principal = Depends(require("read")),
) -> list[EvaluationRecord]:
    """The controller's judgements over time, oldest first: one per change of step, attempt
    or decision, else at most one a minute; page on with ``since`` = the last ``seq``."""
    with store.transaction("read") as tx:
        return tx.evaluations.list_evaluations(rollout_id, since=since, limit=limit)


@router.post(
    "/{rollout_id}/{action}",
    response_model=RolloutView,
    responses=error_responses(400, 404, 409, 428),
)
def act(
    response: Response,
    action: ManualAction,
    rollout_id: int = ROLLOUT_ID,
    body: ActionBody | None = None,
    header_version: int | None = Depends(if_match),
    store: Store = Depends(store_of),
    hub: ConfigHub = Depends(hub_of),
    who: Principal = Depends(require("write")),
) -> RolloutView:
    """start, pause, resume, promote (to 100%), abort (back to 0%) or retry (after a
    rollback or an abort), based on the version you read."""
    given = body or ActionBody()
    version = expected_version(header_version, given.version)
    assert version is not None
    with store.transaction(who.actor) as tx:
        record = application.act_on_rollout(
            tx, rollout_id, action, expected_version=version, reason=given.reason
        )
        view = _view(record, tx.rollouts.get_judgement(rollout_id))
    hub.changed()
    _etag(response, record.version)
    return view

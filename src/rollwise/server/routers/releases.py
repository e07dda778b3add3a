"""/api/v1/releases: the release history per environment, recording a release (which starts
its rollout), and rolling back to the previous good release (see docs/releases.md).

A release's outcome follows its rollout: reading a release whose rollout has finished
brings the outcome up to date (promoted, rolled back, failed) in a short write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from ...application import releases as release_cases
from ...core.flags import FLAG_KEY_PATTERN, NAME_PATTERN
from ...core.release import RELEASE_PATTERN, ReleaseOutcome
from ...core.rollout import RolloutSpec
from ...store import RolloutRecord, Store
from ...store.releases import ReleaseRecord
from ..auth import Principal, require
from ..config_hub import ConfigHub
from ..deps import BEFORE_ID, MAX_INT, hub_of, store_of
from ..errors import error_responses

router = APIRouter(
    prefix="/api/v1/releases", tags=["releases"], responses=error_responses(401, 403, 422)
)
RELEASE_ID = Path(ge=1, le=MAX_INT, description="The release's id")


class ReleaseCreate(BaseModel):
    """A deployment to record; its rollout starts at once with the environment's strategy."""

    model_config = ConfigDict(extra="forbid")

    environment: Annotated[str, Field(pattern=NAME_PATTERN)]
    flag: Annotated[str, Field(pattern=FLAG_KEY_PATTERN, description="The release flag")]
    version: Annotated[str, Field(pattern=RELEASE_PATTERN, description="e.g. v1.5.0")]
    commit: Annotated[str, Field(max_length=100)] | None = None
    deployed_by: Annotated[str, Field(max_length=200)] | None = Field(
        default=None, description="Who or what deployed it (default: the token's name)"
    )
    rollout: dict[str, Any] | None = Field(
        default=None,
        description="Rollout spec fields over the environment's release defaults "
        "(strategy, gates, min_samples, ...)",
    )


class RollbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    environment: Annotated[str, Field(pattern=NAME_PATTERN)]
    flag: Annotated[str, Field(pattern=FLAG_KEY_PATTERN)] | None = Field(
        default=None, description="Default: the flag of the environment's newest release"
    )
    reason: Annotated[str, Field(max_length=1000)] | None = None


class RolloutBrief(BaseModel):
    """The release rollout, enough to follow it (``/api/v1/rollouts/{id}`` has the rest)."""

    id: int
    phase: str
    step: int
    steps: int
    step_percent: int
    share_percent: float
    strategy: str
    version: int


class ReleaseView(BaseModel):
    id: int
    environment: str
    flag: str
    version: str
    commit: str | None
    deployed_by: str
    deployed_at: datetime
    outcome: ReleaseOutcome
    rollout_id: int | None
    updated_at: datetime
    rollout: RolloutBrief | None = None


class RollbackView(BaseModel):
    from_release: ReleaseView
    to_release: ReleaseView
    aborted_rollout_id: int | None


def _brief(record: RolloutRecord) -> RolloutBrief:
    spec: RolloutSpec = record.spec
    return RolloutBrief(
        id=record.id,
        phase=record.phase.value,
        step=record.step,
        steps=len(spec.steps),
        step_percent=spec.steps[record.step].percent,
        share_percent=record.share / 100,
        strategy=spec.strategy.type,
        version=record.version,
    )


def _view(record: ReleaseRecord, rollout: RolloutRecord | None = None) -> ReleaseView:
    return ReleaseView(
        **record.model_dump(exclude={"rollout"}),
        rollout=None if rollout is None else _brief(rollout),
    )


@router.get("", response_model=list[ReleaseView], responses=error_responses(404))
def list_releases(
    environment: str = Query(max_length=64, description="The environment's history"),
    flag: str | None = Query(default=None, max_length=128),
    limit: int = Query(default=50, ge=1, le=1000),
    before_id: int | None = BEFORE_ID,
    store: Store = Depends(store_of),
    _: Principal = Depends(require("read")),
) -> list[ReleaseView]:
    """Newest first. Outcomes of finished rollouts are brought up to date first."""
    with store.reading() as tx:
        tx.environments.get(environment)
        records = tx.releases.list_releases(
            environment=environment, flag=flag, limit=limit, before_id=before_id
        )
        stale = [r.id for r in records if _may_have_ended(r)]
    if stale:
        with store.transaction("controller") as wtx:
            for release_id in stale:
                release_cases.sync_release(wtx, release_id)
            records = wtx.releases.list_releases(
                environment=environment, flag=flag, limit=limit, before_id=before_id
            )
    return [_view(record) for record in records]


def _may_have_ended(record: ReleaseRecord) -> bool:
    return record.outcome is ReleaseOutcome.DEPLOYING and record.rollout_id is not None


@router.get("/{release_id}", response_model=ReleaseView, responses=error_responses(404))
def get_release(
    release_id: int = RELEASE_ID,
    store: Store = Depends(store_of),
    _: Principal = Depends(require("read")),
) -> ReleaseView:
    """The release and its rollout's progress (what ``rollwise deploy`` polls)."""
    with store.reading() as tx:
        record = tx.releases.get(release_id)
        rollout = None if record.rollout_id is None else tx.rollouts.get(record.rollout_id)
    if rollout is not None and _may_have_ended(record) and not rollout.is_active:
        with store.transaction("controller") as wtx:
            record = release_cases.sync_release(wtx, release_id)
    return _view(record, rollout)


@router.post(
    "", status_code=201, response_model=ReleaseView, responses=error_responses(400, 404, 409)
)
def create_release(
    body: ReleaseCreate,
    request: Request,
    store: Store = Depends(store_of),
    hub: ConfigHub = Depends(hub_of),
    who: Principal = Depends(require("write")),
) -> ReleaseView:
    """Record the release and start its rollout (a first release goes live at once)."""
    with store.transaction(who.actor) as tx:
        started = release_cases.record_release(
            tx,
            body.environment,
            body.flag,
            body.version,
            commit=body.commit,
            deployed_by=body.deployed_by or who.actor,
            rollout=body.rollout,
            validate_gates=_gate_check(request),
        )
    hub.changed()
    return _view(started.release, started.rollout)


def _gate_check(request: Request) -> Any:
    """The controller's provider refuses gates it cannot serve (as a rollout's POST does)."""
    controller = request.app.state.controller
    return None if controller is None else controller.provider.validate_gates


@router.post("/rollback", response_model=RollbackView, responses=error_responses(404, 409))
def rollback(
    body: RollbackBody,
    store: Store = Depends(store_of),
    hub: ConfigHub = Depends(hub_of),
    who: Principal = Depends(require("write")),
) -> RollbackView:
    """All traffic back to the previous good release at once: audited and notified."""
    with store.transaction(who.actor) as tx:
        result = release_cases.rollback_release(tx, body.environment, body.flag, reason=body.reason)
    hub.changed()
    return RollbackView(
        from_release=_view(result.from_release),
        to_release=_view(result.to_release),
        aborted_rollout_id=None if result.aborted_rollout is None else result.aborted_rollout.id,
    )

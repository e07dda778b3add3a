"""/api/v1/experiments: define an A/B/n test on a flag, start it, stop it with a decision,
read its results (see docs/experiments.md, "Running an experiment").

Changes need a write token, reads a read token. An experiment is edited only while it is
a draft; starting it locks the flag's split in its environment to the arms' weights (a
change of that split is a 409 naming the experiment) until it is stopped. Versions: an
``If-Match`` header or ``version`` in the body makes a change conditional (409 when stale).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from ...analysis.experiment import AnalysisSettings
from ...application.experiment_results import experiment_results
from ...core.experiment import Decision, ExperimentDefinition, ExperimentState
from ...store import Store
from ...store.experiments import ExperimentRecord
from ..auth import Principal, require
from ..config_hub import ConfigHub
from ..deps import Version, expected_version, hub_of, if_match, store_of
from ..errors import error_responses

router = APIRouter(
    prefix="/api/v1/experiments", tags=["experiments"], responses=error_responses(401, 403, 422)
)
EXPERIMENT_KEY = Path(max_length=64, description="The experiment's key")


class ExperimentView(BaseModel):
    """An experiment as stored: definition, state, decision, timestamps, version."""

    key: str
    flag: str
    environment: str
    state: ExperimentState
    definition: ExperimentDefinition
    decision: Decision | None
    version: int
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    stopped_at: datetime | None
    created_by: str
    legal_actions: list[str]


class StartBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Version | None = None


class StopBody(BaseModel):
    """The decision is required: ship an arm, keep control, or inconclusive."""

    model_config = ConfigDict(extra="forbid")
    decision: dict[str, Any] = Field(
        description='{"kind": "ship"|"keep_control"|"inconclusive", "arm": ..., "reason": ...}'
    )
    version: Version | None = None


def _view(record: ExperimentRecord) -> ExperimentView:
    legal = {"draft": ["start"], "running": ["stop"], "stopped": []}[record.state]
    return ExperimentView(
        **{name: getattr(record, name) for name in ExperimentRecord.model_fields},
        legal_actions=legal,
    )


def _etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


@router.post(
    "", status_code=201, response_model=ExperimentView, responses=error_responses(404, 409)
)
def create_experiment(
    body: dict[str, Any],
    response: Response,
    store: Store = Depends(store_of),
    who: Principal = Depends(require("write")),
) -> ExperimentView:
    """Create a draft from a definition (every invalid field is a 422 naming it)."""
    with store.transaction(who.actor) as tx:
        record = tx.experiments.create(body)
    _etag(response, record.version)
    return _view(record)


@router.get("", response_model=list[ExperimentView])
def list_experiments(
    environment: str | None = Query(default=None, max_length=64),
    state: Literal["draft", "running", "stopped"] | None = Query(default=None),
    store: Store = Depends(store_of),
    _: Principal = Depends(require("read")),
) -> list[ExperimentView]:
    with store.reading() as tx:
        return [
            _view(r) for r in tx.experiments.list_experiments(environment=environment, state=state)
        ]


@router.get("/{key}", response_model=ExperimentView, responses=error_responses(404))
def get_experiment(
    response: Response,
    key: str = EXPERIMENT_KEY,
    store: Store = Depends(store_of),
    _: Principal = Depends(require("read")),
) -> ExperimentView:
    with store.reading() as tx:
        record = tx.experiments.get(key)
    _etag(response, record.version)
    return _view(record)


@router.patch("/{key}", response_model=ExperimentView, responses=error_responses(400, 404, 409))
def update_experiment(
    body: dict[str, Any],
    response: Response,
    key: str = EXPERIMENT_KEY,
    header_version: int | None = Depends(if_match),
    store: Store = Depends(store_of),
    who: Principal = Depends(require("write")),
) -> ExperimentView:
    """Change a draft: the fields given replace the stored ones (409 once started)."""
    changes = dict(body)
    body_version = changes.pop("version", None)
    version = expected_version(
        header_version, body_version if isinstance(body_version, int) else None, required=False
    )
    with store.transaction(who.actor) as tx:
        current = tx.experiments.get(key)
        merged = current.definition.model_dump(mode="json", exclude_none=True) | changes
        record = tx.experiments.update(key, merged, version)
    _etag(response, record.version)
    return _view(record)


@router.post(
    "/{key}/start", response_model=ExperimentView, responses=error_responses(400, 404, 409)
)
def start_experiment(
    response: Response,
    key: str = EXPERIMENT_KEY,
    body: StartBody | None = None,
    header_version: int | None = Depends(if_match),
    store: Store = Depends(store_of),
    hub: ConfigHub = Depends(hub_of),
    who: Principal = Depends(require("write")),
) -> ExperimentView:
    """draft → running: the flag's split becomes the arms' weights and stays locked."""
    version = expected_version(header_version, (body or StartBody()).version, required=False)
    with store.transaction(who.actor) as tx:
        record = tx.experiments.start(key, version)
    hub.changed()
    _etag(response, record.version)
    return _view(record)


@router.post("/{key}/stop", response_model=ExperimentView, responses=error_responses(400, 404, 409))
def stop_experiment(
    body: StopBody,
    response: Response,
    key: str = EXPERIMENT_KEY,
    header_version: int | None = Depends(if_match),
    store: Store = Depends(store_of),
    hub: ConfigHub = Depends(hub_of),
    who: Principal = Depends(require("write")),
) -> ExperimentView:
    """running → stopped, recording the decision; the split is unlocked (and kept)."""
    version = expected_version(header_version, body.version, required=False)
    with store.transaction(who.actor) as tx:
        record = tx.experiments.stop(key, body.decision, version)
    hub.changed()
    _etag(response, record.version)
    return _view(record)


@router.get("/{key}/results", responses=error_responses(404, 409))
def results(
    key: str = EXPERIMENT_KEY,
    alpha: float = Query(default=0.05, gt=0, lt=0.5),
    sequential: bool = Query(
        default=False, description="Always-valid intervals and p-values (safe to peek)"
    ),
    correction: Literal["holm", "benjamini_hochberg", "none"] = Query(default="holm"),
    store: Store = Depends(store_of),
    _: Principal = Depends(require("read")),
) -> dict[str, Any]:
    """Per metric and arm against control, from the stored sufficient statistics: the
    sample-ratio check first (``results.sample_ratio``), then the table."""
    settings = AnalysisSettings(alpha=alpha, sequential=sequential, correction=correction)
    with store.reading() as tx:
        record = tx.experiments.get(key)
        return experiment_results(tx, record, settings)

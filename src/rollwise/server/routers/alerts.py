"""/api/v1/alert-rules: metric conditions held for a duration, and their state history.

Rules are versioned like every other resource (``If-Match`` or ``version`` to change
one). The controller evaluates enabled rules and records their state changes
(inactive → pending → firing → resolved), which ``/events`` lists, newest first.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from ... import application
from ...core.gates import GateMetric
from ...store import (
    AlertComparison,
    AlertEventRecord,
    AlertRuleFields,
    AlertRuleRecord,
    AlertSeverity,
    AlertState,
    Store,
)
from ..auth import Principal, require
from ..deps import BEFORE_ID, Version, expected_version, if_match, store_of
from ..errors import error_responses

router = APIRouter(
    prefix="/api/v1/alert-rules", tags=["alerts"], responses=error_responses(401, 403, 422)
)
NAME = Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$", max_length=64)
Seconds = Annotated[float | str, Field(description="seconds, or text such as 90s, 5m, 1h")]


class AlertRulePatch(BaseModel):
    """The fields to change; the others keep their values. ``null`` clears an optional one."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    environment: str | None = Field(default=None, max_length=64)
    flag: str | None = Field(default=None, max_length=128)
    variant: str | None = Field(default=None, max_length=200)
    baseline: str | None = Field(default=None, max_length=200)
    metric: GateMetric | None = None
    comparison: AlertComparison | None = None
    threshold: float | None = None
    window: Seconds | None = None
    for_: Seconds | None = Field(default=None, alias="for")
    min_samples: int | None = Field(default=None, ge=1, le=1_000_000_000)
    severity: AlertSeverity | None = None
    query: str | None = Field(default=None, max_length=2000)
    description: str | None = Field(default=None, max_length=10_000)
    enabled: bool | None = None
    version: Version | None = None


_REQUIRED = {
    "environment",
    "metric",
    "comparison",
    "threshold",
    "window",
    "for",
    "min_samples",
    "severity",
}


def _etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


@router.get("", response_model=list[AlertRuleRecord])
def list_alert_rules(
    environment: str | None = Query(default=None, max_length=64),
    flag: str | None = Query(default=None, max_length=128),
    state: AlertState | None = Query(default=None),
    enabled: bool | None = Query(default=None),
    store: Store = Depends(store_of),
    _: Principal = Depends(require("read")),
) -> list[AlertRuleRecord]:
    with store.transaction("read") as tx:
        return tx.alerts.list_rules(
            environment=environment, flag=flag, state=state, enabled=enabled
        )


@router.post(
    "", status_code=201, response_model=AlertRuleRecord, responses=error_responses(404, 409)
)
def create_alert_rule(
    body: AlertRuleFields,
    response: Response,
    store: Store = Depends(store_of),
    who: Principal = Depends(require("write")),
) -> AlertRuleRecord:
    with store.transaction(who.actor) as tx:
        record = tx.alerts.create_rule(body)
    _etag(response, record.version)
    return record


@router.get("/{name}", response_model=AlertRuleRecord, responses=error_responses(404))
def get_alert_rule(
    response: Response,
    name: str = NAME,
    store: Store = Depends(store_of),
    _: Principal = Depends(require("read")),
) -> AlertRuleRecord:
    with store.transaction("read") as tx:
        record = tx.alerts.get_rule(name)
    _etag(response, record.version)
    return record


@router.patch(
    "/{name}", response_model=AlertRuleRecord, responses=error_responses(400, 404, 409, 428)
)
def update_alert_rule(
    body: AlertRulePatch,
    response: Response,
    name: str = NAME,
    header_version: int | None = Depends(if_match),
    store: Store = Depends(store_of),
    who: Principal = Depends(require("write")),
) -> AlertRuleRecord:
    version = expected_version(header_version, body.version)
    assert version is not None
    changes: dict[str, Any] = body.model_dump(exclude_unset=True, by_alias=True)
    changes.pop("version", None)
    for key in _REQUIRED & changes.keys():
        if changes[key] is None:  # null only clears optional fields; a required one stays
            del changes[key]
    with store.transaction(who.actor) as tx:
        record = application.update_alert_rule(tx, name, version, changes)
    _etag(response, record.version)
    return record


@router.delete(
    "/{name}",
    status_code=204,
    response_class=Response,
    responses=error_responses(400, 404, 409),
)
def delete_alert_rule(
    name: str = NAME,
    header_version: int | None = Depends(if_match),
    store: Store = Depends(store_of),
    who: Principal = Depends(require("write")),
) -> Response:
    with store.transaction(who.actor) as tx:
        tx.alerts.delete_rule(name, header_version)
    return Response(status_code=204)


@router.get("/{name}/events", response_model=list[AlertEventRecord], responses=error_responses(404))
def list_alert_events(
    name: str = NAME,
    limit: int = Query(default=100, ge=1, le=1000),
    before_id: int | None = BEFORE_ID,
    store: Store = Depends(store_of),
    _: Principal = Depends(require("read")),
) -> list[AlertEventRecord]:
    with store.transaction("read") as tx:
        return tx.alerts.list_events(name, limit=limit, before_id=before_id)

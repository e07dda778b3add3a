"""``POST /api/v1/sdk/telemetry``: what SDKs report — request windows, usage, comparisons.

Idempotent by ``batch_id`` (per environment): a retried batch is answered 202 with
``"duplicate": true`` and counted once. What the control plane does not store (unknown
flags or variants, windows too old) is listed in the answer's ``ignored``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from ...core.telemetry import TelemetryBatch
from ...errors import ConfigError
from ...store import IngestResult, Store
from ...store.telemetry import parse_batch
from ..auth import Principal, require, target_environment
from ..deps import store_of
from ..errors import ApiError, error_responses

router = APIRouter(
    prefix="/api/v1/sdk", tags=["sdk"], responses=error_responses(400, 401, 403, 404, 422)
)


@router.post(
    "/telemetry",
    status_code=202,
    response_model=IngestResult,
    summary="Report request windows, usage, comparisons and overrides",
)
def ingest(
    body: TelemetryBatch,
    environment: str | None = Query(
        default=None, max_length=64, description="Only for write/admin tokens"
    ),
    store: Store = Depends(store_of),
    who: Principal = Depends(require("report")),
) -> IngestResult:
    target = target_environment(who, environment)
    try:
        parsed = parse_batch(body)
    except ConfigError as error:
        problems = [
            {"path": f"body.{issue.path}", "message": issue.reason, "type": "value_error"}
            for issue in error.issues
        ]
        raise ApiError(
            422, "validation_error", f"body.{error.path}: {error.reason}", errors=problems
        ) from None
    return store.ingest_telemetry(target, parsed, who.actor)

"""``POST /api/v1/sdk/telemetry``: what SDKs report — request windows, usage, comparisons.

Idempotent by ``batch_id`` (per environment): a retried batch is answered 202 with
``"duplicate": true`` and counted once. What the control plane does not store (unknown
flags or variants, windows too old) is listed in the answer's ``ignored``.

Each batch also refreshes its instance in the fleet view (``sdk_instances``: who it is,
which config revision it evaluates, when it was last seen; see
:mod:`rollwise.store.instances`). The usual batch is stored in one transaction, and the
instance's upsert joins it; a batch large enough to be stored in parts records its
instance in one more short transaction after the parts. A retried batch counts nothing
twice and only moves the instance's ``last_seen`` forward.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from ...core.telemetry import TelemetryBatch
from ...errors import ConfigError
from ...store import IngestResult, Store, Tx
from ...store.telemetry import ParsedBatch, parse_batch, split_batch
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
    return ingest_batch(store, target, parsed, who.actor)


def ingest_batch(store: Store, environment: str, parsed: ParsedBatch, actor: str) -> IngestResult:
    """Store the batch and refresh its instance, in one transaction when the batch fits one."""
    if len(split_batch(parsed)) == 1:
        return store.retrying(actor, lambda tx: _ingest_and_record(tx, environment, parsed))
    result = store.ingest_telemetry(environment, parsed, actor)
    store.retrying(actor, lambda tx: _record_experiment_data(tx, environment, parsed))
    store.retrying(actor, lambda tx: _record_instance(tx, environment, parsed))
    return result


def _record_experiment_data(tx: Tx, environment: str, parsed: ParsedBatch) -> None:
    """Exposures and tracked events, once per batch id (see store/_experiment_data.py)."""
    batch = parsed.batch
    tx.experiment_data.record(environment, batch.batch_id, batch.exposures, batch.events)


def _ingest_and_record(tx: Tx, environment: str, parsed: ParsedBatch) -> IngestResult:
    result = tx.telemetry.ingest(environment, parsed)
    _record_experiment_data(tx, environment, parsed)
    _record_instance(tx, environment, parsed)  # last: the batch's own rows are locked first
    return result


def _record_instance(tx: Tx, environment: str, parsed: ParsedBatch) -> None:
    batch = parsed.batch
    tx.instances.record(environment, batch.instance, batch.sdk, batch.sent_at)

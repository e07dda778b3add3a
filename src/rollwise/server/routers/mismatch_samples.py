"""``GET /api/v1/mismatch-samples``: what the two sides of a dual run answered when they
disagreed (or the candidate raised), as the SDKs sent them — redacted and size-capped on
the way in. The counts are in ``GET /api/v1/metrics``; these are the examples behind them.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from ...store import MismatchSampleRecord, Store
from ..auth import Principal, require
from ..deps import BEFORE_ID, store_of
from ..errors import error_responses

router = APIRouter(
    prefix="/api/v1/mismatch-samples",
    tags=["metrics"],
    responses=error_responses(401, 403, 404, 422),
)


@router.get("", response_model=list[MismatchSampleRecord])
def list_mismatch_samples(
    environment: str = Query(max_length=64),
    name: str | None = Query(default=None, max_length=200, description="The comparison name"),
    flag: str | None = Query(default=None, max_length=128),
    limit: int = Query(default=50, ge=1, le=1000),
    before_id: int | None = BEFORE_ID,
    store: Store = Depends(store_of),
    _: Principal = Depends(require("read")),
) -> list[MismatchSampleRecord]:
    with store.transaction("read") as tx:
        tx.environments.get(environment)
        records = tx.telemetry.list_mismatch_samples(
            environment, name, limit, flag=flag, before_id=before_id
        )
    return records

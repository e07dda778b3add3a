"""/api/v1/audit: who changed what, when, from what to what."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query

from ...store import AuditRecord, Store
from ..auth import Principal, require
from ..deps import BEFORE_ID, store_of
from ..errors import error_responses

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=error_responses(401, 403, 422))


@router.get("", response_model=list[AuditRecord])
def list_audit(
    actor: str | None = Query(default=None, max_length=200),
    action: str | None = Query(default=None, max_length=64),
    target_type: str | None = Query(default=None, max_length=32),
    target: str | None = Query(default=None, max_length=200),
    environment: str | None = Query(default=None, max_length=64),
    since: datetime | None = Query(default=None),
    until: datetime | None = Query(default=None),
    limit: int = Query(default=100, ge=1, le=1000),
    before_id: int | None = BEFORE_ID,
    store: Store = Depends(store_of),
    _: Principal = Depends(require("read")),
) -> list[AuditRecord]:
    with store.transaction("read") as tx:
        return tx.audit.list_audit(
            actor=actor,
            action=action,
            target_type=target_type,
            target=target,
            environment=environment,
            since=since,
            until=until,
            limit=limit,
            before_id=before_id,
        )

"""What the store returns about the audit log and about itself."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ._base import Record

__all__ = [
    "AuditRecord",
    "StoreStatus",
]


class AuditRecord(Record):
    id: int
    at: datetime
    actor: str
    action: str
    target_type: str
    target: str
    environment: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class StoreStatus(Record):
    reachable: bool
    current_revision: str | None
    head_revision: str
    is_current: bool

"""The audit log: one row per change, written by every repository that changes
something, read newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from ._base import Operations, aware
from .records import AuditRecord
from .tables import audit_log

__all__ = ["AuditOperations"]


def _record(row: Any) -> AuditRecord:
    return AuditRecord(
        id=row.id,
        at=aware(row.at),
        actor=row.actor,
        action=row.action,
        target_type=row.target_type,
        target=row.target,
        environment=row.environment,
        before=row.before,
        after=row.after,
    )


class AuditOperations(Operations):
    def write(
        self,
        action: str,
        target_type: str,
        target: str,
        *,
        environment: str | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        """One audit row, at the transaction's clock, naming its actor (every repository
        that changes something writes one through here)."""
        self._conn.execute(
            insert(audit_log).values(
                at=self._now(),
                actor=self._actor,
                action=action,
                target_type=target_type,
                target=target,
                environment=environment,
                before=before,
                after=after,
            )
        )

    def list_audit(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target_type: str | None = None,
        target: str | None = None,
        environment: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> list[AuditRecord]:
        """Newest first; page with ``before_id`` = the last id of the previous page."""
        c = audit_log.c
        statement = select(audit_log).order_by(c.id.desc()).limit(max(1, min(limit, 1000)))
        for column, value in (
            (c.actor, actor),
            (c.action, action),
            (c.target_type, target_type),
            (c.target, target),
            (c.environment, environment),
        ):
            if value is not None:
                statement = statement.where(column == value)
        if since is not None:
            statement = statement.where(c.at >= since)
        if until is not None:
            statement = statement.where(c.at < until)
        if before_id is not None:
            statement = statement.where(c.id < before_id)
        return [_record(row) for row in self._conn.execute(statement)]

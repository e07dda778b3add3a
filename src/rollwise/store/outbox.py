"""The notification outbox: written with the event, delivered later, never lost.

A rollout transition or an alert change queues one row per enabled channel that wants it
(:meth:`OutboxOperations.enqueue`), in the transaction that records the event: both are
committed or neither is. A dispatcher then, each in its own short transaction:

1. :meth:`~OutboxOperations.claim_due` — takes up to ``limit`` pending rows that are due and
   moves their ``next_attempt_at`` a lease into the future, so no other dispatcher takes
   them meanwhile (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite serialises writers). A
   dispatcher that dies mid-delivery leaves the row due again when the lease ends.
2. sends each row's notification (outside any transaction),
3. :meth:`~OutboxOperations.mark_delivered`, :meth:`~OutboxOperations.mark_retry` (with the
   next time) or :meth:`~OutboxOperations.mark_failed` (permanent).

A delivery can be repeated after a crash between sending and marking (at-least-once); the
notification id is the row id, the same on every attempt, so receivers drop duplicates.
Status changes are bookkeeping, not configuration: they write no audit rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update

from ..core.notifications import ChannelFilter, NotificationContent
from ..errors import ConfigError
from ._base import Operations, aware
from .records import OutboxRecord, OutboxStatus
from .tables import notification_channels, outbox

__all__ = ["OutboxOperations"]

_STATUSES = ("pending", "delivered", "failed")
_ERROR_LIMIT = 4000


def _record(row: Any) -> OutboxRecord:
    return OutboxRecord(
        id=row.id,
        channel=row.channel,
        kind=row.kind,
        notification=dict(row.notification),
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=aware(row.next_attempt_at),
        last_error=row.last_error,
        created_at=aware(row.created_at),
        delivered_at=aware(row.delivered_at),
    )


class OutboxOperations(Operations):
    def enqueue(
        self,
        notification: NotificationContent | Mapping[str, Any],
        *,
        channels: list[str] | None = None,
    ) -> list[OutboxRecord]:
        """One pending row per enabled channel whose filter accepts ``notification`` (its
        ``kind`` and ``severity``: :class:`~rollwise.core.notifications.ChannelFilter`), or
        per named channel in ``channels`` (enabled or not); each row's id becomes the
        notification's ``id``. Returns the rows written."""
        content = NotificationContent.model_validate(notification)
        kind = content.kind
        statement = select(notification_channels).order_by(notification_channels.c.name)
        if channels is None:
            statement = statement.where(notification_channels.c.enabled.is_(True))
        else:
            statement = statement.where(notification_channels.c.name.in_(channels))
        rows = list(self._conn.execute(statement))
        if channels is not None:
            missing = sorted(set(channels) - {row.name for row in rows})
            if missing:
                raise self._not_found("notification channel", missing[0])
        now = self._now()
        written: list[dict[str, Any]] = []
        for row in rows:
            if channels is None and not ChannelFilter.of(row.config).accepts(
                kind, content.severity
            ):
                continue
            row_id = str(uuid.uuid4())
            written.append(
                {
                    "id": row_id,
                    "channel": row.name,
                    "kind": kind,
                    "notification": content.with_id(row_id).to_dict(),
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "last_error": None,
                    "created_at": now,
                    "delivered_at": None,
                }
            )
        if written:
            self._conn.execute(insert(outbox), written)
        return [self.get(values["id"]) for values in written]

    def get(self, outbox_id: str) -> OutboxRecord:
        row = self._conn.execute(select(outbox).where(outbox.c.id == outbox_id)).first()
        if row is None:
            raise self._not_found("outbox row", outbox_id)
        return _record(row)

    def list_outbox(
        self,
        *,
        status: OutboxStatus | None = None,
        channel: str | None = None,
        limit: int = 100,
    ) -> list[OutboxRecord]:
        """Newest first."""
        if status is not None and status not in _STATUSES:
            raise ConfigError.single(None, "status", f"unknown status {status!r}")
        statement = (
            select(outbox)
            .order_by(outbox.c.created_at.desc(), outbox.c.id)
            .limit(max(1, min(limit, 1000)))
        )
        if status is not None:
            statement = statement.where(outbox.c.status == status)
        if channel is not None:
            statement = statement.where(outbox.c.channel == channel)
        return [_record(row) for row in self._conn.execute(statement)]

    def claim_due(
        self, now: datetime | None = None, limit: int = 50, lease: timedelta = timedelta(seconds=60)
    ) -> list[OutboxRecord]:
        """Pending rows due at ``now``, oldest first, leased until ``now + lease``.

        Commit the transaction before delivering: the lease is what other dispatchers see.
        Each claim counts as an attempt.
        """
        moment = now if now is not None else self._now()
        due = self._conn.execute(
            select(outbox.c.id)
            .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= moment)
            .order_by(outbox.c.next_attempt_at, outbox.c.created_at, outbox.c.id)
            .limit(max(1, limit))
            .with_for_update(skip_locked=True)
        ).all()
        ids = [row.id for row in due]
        if not ids:
            return []
        self._conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(ids))
            .values(next_attempt_at=moment + lease, attempts=outbox.c.attempts + 1)
        )
        rows = self._conn.execute(select(outbox).where(outbox.c.id.in_(ids)))
        by_id = {row.id: _record(row) for row in rows}
        return [by_id[row_id] for row_id in ids]

    def mark_delivered(self, outbox_id: str, at: datetime | None = None) -> OutboxRecord:
        """Delivered (idempotent: a row no longer pending is returned as it is)."""
        return self._finish(
            outbox_id, status="delivered", delivered_at=at if at is not None else self._now()
        )

    def mark_retry(self, outbox_id: str, next_attempt_at: datetime, error: str) -> OutboxRecord:
        """Failed this time, try again at ``next_attempt_at`` (the row stays pending)."""
        return self._finish(
            outbox_id, status="pending", next_attempt_at=next_attempt_at, last_error=_cut(error)
        )

    def mark_failed(self, outbox_id: str, error: str) -> OutboxRecord:
        """Given up: the error was permanent, or too many attempts failed."""
        return self._finish(outbox_id, status="failed", last_error=_cut(error))

    def purge(self, older_than: timedelta) -> int:
        """Delete delivered and failed notifications created before ``now - older_than``;
        pending ones are never deleted. Returns how many rows went."""
        return int(
            self._conn.execute(
                delete(outbox).where(
                    outbox.c.status.in_(("delivered", "failed")),
                    outbox.c.created_at < self._now() - older_than,
                )
            ).rowcount
        )

    def _finish(self, outbox_id: str, **values: Any) -> OutboxRecord:
        self._conn.execute(
            update(outbox)
            .where(outbox.c.id == outbox_id, outbox.c.status == "pending")
            .values(**values)
        )
        return self.get(outbox_id)


def _cut(error: str) -> str:
    return error if len(error) <= _ERROR_LIMIT else error[: _ERROR_LIMIT - 1] + "…"

"""What the store returns about notification channels and the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ._base import Record

__all__ = [
    "ChannelRecord",
    "OutboxRecord",
    "OutboxStatus",
]


OutboxStatus = Literal["pending", "delivered", "failed"]


class ChannelRecord(Record):
    """A notification channel. ``config`` holds its secrets in clear: never serve it as is
    (the API masks it); ``rollwise.notifiers`` builds a notifier from it."""

    name: str
    type: str
    config: dict[str, Any]
    enabled: bool
    version: int
    created_at: datetime
    updated_at: datetime


class OutboxRecord(Record):
    """One notification for one channel, and where its delivery stands.

    ``notification`` is ``rollwise.notifiers.Notification.to_dict()``'s shape, with ``id``
    equal to the row's: the same on every retry, so a receiver can drop duplicates.
    ``attempts`` counts claims (an attempt begun, even if the process died during it).
    """

    id: str
    channel: str
    kind: str
    notification: dict[str, Any]
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

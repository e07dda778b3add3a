"""The notifier contract: how a notification is sent, how sending fails.

What a notification carries (:class:`Notification`, :class:`Severity`, :class:`Kind`,
:class:`Subject`) is a core value (``rollwise.core.notifications``), re-exported here: the
store writes it to the outbox as JSON (``to_dict``) and the dispatcher reads it back
(``from_dict``) before each delivery attempt. Its ``id`` is the outbox row's key and travels
with every delivery (``X-Rollwise-Event-Id`` header, e-mail ``Message-ID``): a receiver
that sees the same id twice is seeing a retry, not a new event.

A :class:`Notifier` either delivers or raises :class:`NotificationError`, whose
``retryable`` flag tells the dispatcher whether to try again later (timeouts, refused
connections, 5xx, 429, SMTP 4xx) or give up (other 4xx, rejected addresses, bad
credentials).
"""

from __future__ import annotations

from typing import Any, Protocol

from ..core.notifications import Kind, Notification, Severity, Subject
from ..errors import RollwiseError

__all__ = [
    "Kind",
    "Notification",
    "NotificationError",
    "Notifier",
    "Severity",
    "Subject",
]


class Notifier(Protocol):
    """Delivers notifications to one channel. Implementations must be thread-safe."""

    def send(self, notification: Notification) -> None:
        """Deliver once, or raise :class:`NotificationError`. Never retries by itself."""
        ...

    def close(self) -> None:
        """Release connections; the notifier must not be used afterwards."""
        ...


class NotificationError(RollwiseError):
    """A delivery failed. ``retryable`` says whether trying again later can succeed.

    ``retry_after`` (seconds) is the receiver's own hint (HTTP ``Retry-After``), when it
    gave one; ``status`` is the HTTP status or SMTP reply code, when there was one.
    """

    code = "notification_failed"

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        channel: str | None = None,
        notification_id: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
        **details: Any,
    ) -> None:
        super().__init__(
            message,
            retryable=retryable,
            channel=channel,
            notification_id=notification_id,
            status=status,
            retry_after=retry_after,
            **details,
        )
        self.retryable = retryable
        self.channel = channel
        self.notification_id = notification_id
        self.status = status
        self.retry_after = retry_after

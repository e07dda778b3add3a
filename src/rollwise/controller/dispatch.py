"""The outbox dispatcher: notifications from the outbox table to their channels.

Rollout transitions and alert changes write their notifications into the outbox in the
transaction that records them (``rollwise.store.outbox``). The dispatcher delivers them:

1. claim a batch of due rows in a short transaction and **commit** (the claim leases
   each row: nobody else takes it until the lease ends; each claim counts an attempt);
2. send each row's notification with its channel's notifier, outside any transaction;
3. record the outcome in another short transaction: ``delivered``; or, after a retryable
   failure (timeout, refused connection, 5xx, 429, SMTP 4xx), ``pending`` again with the
   next attempt at ``backoff * 2^(attempts-1)`` capped at ``max_backoff`` (a receiver's
   ``Retry-After`` wins when it asks for longer); or ``failed`` after a permanent error
   (other 4xx, a refused address), an unknown channel, a channel config that no longer
   validates, or ``max_attempts`` attempts.

**At least once, with a stable id.** A crash between sending and recording leaves the row
pending; it becomes due again when its lease ends and is sent again, with the same
notification id (``X-Rollwise-Event-Id``, the e-mail ``Message-ID``), so receivers drop
the duplicate. Nothing is lost: a row leaves ``pending`` only when its outcome is recorded.

**Only the leader sends.** The claim runs in the controller's fenced store (a deposed
leader claims nothing), and before each send the dispatcher asks ``leading`` (no I/O):
a leader that lost the lease mid-batch stops; what it had claimed becomes due again when
the claim's lease ends. An outcome is recorded in ``records`` (the plain store) by the
process that sent it, even if it lost the lease meanwhile: what it did is a fact.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from ..core.rollout import CONTROLLER_ACTOR
from ..errors import ConfigError
from ..notifiers import Notification, NotificationError, Notifier, NotifierRegistry
from ..notifiers import default_registry as default_notifiers
from ..store import ChannelRecord, OutboxRecord, Store
from .settings import DeliveryPolicy

__all__ = ["Delivery", "OutboxDispatcher"]

_MAX_BATCHES = 20
"""Batches per pass, so one pass ends even when notifications keep arriving."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of one attempt: ``delivered``, ``retry`` (when) or ``failed`` (why)."""

    outbox_id: str
    channel: str
    status: str
    attempts: int
    error: str | None = None
    next_attempt_at: datetime | None = None


def _utcnow() -> datetime:
    return datetime.now(UTC)


class OutboxDispatcher:
    """Claims due notifications and delivers them (see the module docs). Not thread-safe:
    one pass at a time."""

    def __init__(
        self,
        store: Store,
        registry: NotifierRegistry | None = None,
        policy: DeliveryPolicy | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        logger: logging.Logger | None = None,
        leading: Callable[[], bool] | None = None,
        records: Store | None = None,
    ) -> None:
        self.store = store
        self.records = records or store
        self._leading = leading or _always
        self.registry = registry or default_notifiers()
        self.policy = policy or DeliveryPolicy()
        self._clock = clock or _utcnow
        self._logger = logger or logging.getLogger("rollwise.controller")
        self._notifiers: dict[str, tuple[int, Notifier]] = {}

    def dispatch_once(self) -> list[Delivery]:
        """Deliver what is due now, batch by batch; returns every attempt's outcome."""
        deliveries: list[Delivery] = []
        for _ in range(_MAX_BATCHES):
            batch = self._dispatch_batch()
            deliveries += batch
            if len(batch) < self.policy.batch_size:
                break
        return deliveries

    def _dispatch_batch(self) -> list[Delivery]:
        lease = timedelta(seconds=self.policy.lease_seconds)
        with self.store.transaction(CONTROLLER_ACTOR) as tx:
            rows = tx.outbox.claim_due(self._clock(), self.policy.batch_size, lease)
            channels = (
                {channel.name: channel for channel in tx.channels.list_channels()} if rows else {}
            )
        started = time.monotonic()
        budget = self.policy.lease_seconds * 0.75
        deliveries: list[Delivery] = []
        for row in rows:
            if not self._leading():
                self._logger.warning(
                    "rollwise: no longer leading; %d claimed notification(s) wait for the leader",
                    len(rows) - len(deliveries),
                )
                break
            if time.monotonic() - started > budget:
                # the rest stay leased and become due again when the lease ends
                self._logger.warning(
                    "rollwise: outbox batch ran out of its lease; %d notification(s) wait",
                    len(rows) - len(deliveries),
                )
                break
            deliveries.append(self._deliver(row, channels.get(row.channel)))
        return deliveries

    def _deliver(self, row: OutboxRecord, channel: ChannelRecord | None) -> Delivery:
        if channel is None:
            return self._fail(row, f"notification channel {row.channel!r} no longer exists")
        try:
            notification = Notification.from_dict(row.notification)
        except ValidationError as error:
            return self._fail(row, f"the stored notification is not valid: {error}")
        try:
            notifier = self._notifier(channel)
        except ConfigError as error:
            return self._fail(row, f"channel {channel.name!r} is misconfigured: {error}")
        try:
            notifier.send(notification)
        except NotificationError as error:
            if not error.retryable:
                return self._fail(row, str(error))
            return self._retry(row, str(error), error.retry_after)
        except Exception as error:  # the boundary of one send: a notifier's bug is retried
            self._logger.exception("rollwise: notifier for channel %r failed", channel.name)
            return self._retry(row, f"{type(error).__name__}: {error}", None)
        with self.records.transaction(CONTROLLER_ACTOR) as tx:
            tx.outbox.mark_delivered(row.id, at=self._clock())
        self._logger.debug("rollwise: delivered %s to %s", row.id, row.channel)
        return Delivery(row.id, row.channel, "delivered", row.attempts)

    def _retry(self, row: OutboxRecord, error: str, retry_after: float | None) -> Delivery:
        if row.attempts >= self.policy.max_attempts:
            return self._fail(row, f"gave up after {row.attempts} attempts: {error}")
        delay = self.policy.retry_delay(row.attempts, retry_after)
        when = self._clock() + timedelta(seconds=delay)
        with self.records.transaction(CONTROLLER_ACTOR) as tx:
            tx.outbox.mark_retry(row.id, when, error)
        self._logger.warning(
            "rollwise: notification %s to %s failed (attempt %d), retrying in %.0fs: %s",
            row.id,
            row.channel,
            row.attempts,
            delay,
            error,
        )
        return Delivery(row.id, row.channel, "retry", row.attempts, error, when)

    def _fail(self, row: OutboxRecord, error: str) -> Delivery:
        with self.records.transaction(CONTROLLER_ACTOR) as tx:
            tx.outbox.mark_failed(row.id, error)
        self._logger.error("rollwise: notification %s to %s failed: %s", row.id, row.channel, error)
        return Delivery(row.id, row.channel, "failed", row.attempts, error)

    def _notifier(self, channel: ChannelRecord) -> Notifier:
        """The channel's notifier, rebuilt when the channel's version changes."""
        cached = self._notifiers.get(channel.name)
        if cached is not None:
            version, notifier = cached
            if version == channel.version:
                return notifier
            del self._notifiers[channel.name]
            _close_quietly(notifier)
        notifier = self.registry.build(channel.config)
        self._notifiers[channel.name] = (channel.version, notifier)
        return notifier

    def close(self) -> None:
        """Close every notifier built so far."""
        notifiers, self._notifiers = self._notifiers, {}
        for _, notifier in notifiers.values():
            _close_quietly(notifier)


def _always() -> bool:
    return True


def _close_quietly(notifier: Notifier) -> None:
    try:
        notifier.close()
    except Exception:  # the boundary of closing one notifier: the dispatcher goes on
        logging.getLogger("rollwise.controller").warning(
            "rollwise: closing a notifier failed", exc_info=True
        )

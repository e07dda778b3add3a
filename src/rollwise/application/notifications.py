"""Queue notifications: what a rollout transition or an alert change tells people.

The content comes from core (:func:`~rollwise.core.notifications.rollout_notification`,
:func:`~rollwise.core.alerts.alert_notification`); the store's outbox writes one row per
enabled channel whose filter wants it, in the event's own transaction, so that no
notification is lost across restarts (the dispatcher in ``rollwise.controller`` delivers).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..core.alerts import AlertState, alert_notification
from ..core.notifications import rollout_notification
from ..core.rollout import TransitionRecord
from ..store import AlertRuleRecord, OutboxRecord, RolloutRecord, Tx

__all__ = ["queue_alert_change", "queue_rollout_transition"]


def queue_rollout_transition(
    tx: Tx, rollout: RolloutRecord, transition: TransitionRecord
) -> list[OutboxRecord]:
    """``rollout.transition`` for every channel that wants it."""
    return tx.outbox.enqueue(
        rollout_notification(rollout.id, rollout.spec, transition, transition.actor)
    )


def queue_alert_change(
    tx: Tx,
    rule: AlertRuleRecord,
    to_state: AlertState,
    *,
    at: datetime,
    value: float | None,
    baseline_value: float | None,
    reason: str,
    details: Mapping[str, Any] | None,
) -> list[OutboxRecord]:
    """``alert.firing`` / ``alert.resolved`` for every channel that wants it."""
    content = alert_notification(
        rule,
        to_state,
        at=at,
        value=value,
        baseline_value=baseline_value,
        reason=reason,
        details=details,
    )
    return tx.outbox.enqueue(content)

"""Alert use cases: record an evaluation, set a state, change a rule (disabling ends it).

Each runs in the caller's transaction: the rule's row is locked, the pure state machine
(:func:`~rollwise.core.alerts.next_alert_state`) decides, the store keeps the change (the
rule's state and an ``alert_events`` row) and, for ``firing`` and ``resolved``, the outbox
queues ``alert.firing`` / ``alert.resolved`` (:mod:`.notifications`). State changes are
the rule's own history: they do not bump its version and write no audit rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..core.alerts import AlertState, next_alert_state
from ..store import AlertEventRecord, AlertRuleRecord, Tx
from .notifications import queue_alert_change

__all__ = ["observe_alert", "record_alert_state", "update_alert_rule"]

_NOTIFIED = (AlertState.FIRING, AlertState.RESOLVED)
_ENDED_BY_DISABLING = {
    AlertState.FIRING: AlertState.RESOLVED,
    AlertState.PENDING: AlertState.INACTIVE,
}


def observe_alert(
    tx: Tx,
    name: str,
    *,
    breached: bool | None,
    at: datetime | None = None,
    value: float | None = None,
    baseline_value: float | None = None,
    reason: str = "",
    details: Mapping[str, Any] | None = None,
    waiting: bool = False,
) -> AlertEventRecord | None:
    """One evaluation of the rule: ``breached`` None means no data; ``waiting``, fewer
    samples than the rule's minimum (the state stays). Returns the event when the state
    changed (see :func:`~rollwise.core.alerts.next_alert_state`), else None."""
    moment = at if at is not None else tx.now()
    rule = tx.alerts.get_rule(name, lock=True)
    target = next_alert_state(
        rule.state, rule.state_since, breached, rule.for_, moment, waiting=waiting
    )
    tx.alerts.save_evaluation(name, at=moment, value=value, reason=reason)
    return _change(tx, rule, target, moment, value, baseline_value, reason, details)


def record_alert_state(
    tx: Tx,
    name: str,
    state: AlertState | str,
    *,
    at: datetime | None = None,
    value: float | None = None,
    baseline_value: float | None = None,
    reason: str = "",
    details: Mapping[str, Any] | None = None,
) -> AlertEventRecord | None:
    """Set the rule's state; on a change, an event (and a notification for firing and
    resolved). The same state again records nothing and returns None."""
    moment = at if at is not None else tx.now()
    rule = tx.alerts.get_rule(name, lock=True)
    return _change(tx, rule, AlertState(state), moment, value, baseline_value, reason, details)


def update_alert_rule(
    tx: Tx, name: str, expected_version: int, changes: Mapping[str, Any]
) -> AlertRuleRecord:
    """Change some fields (see ``Tx.alerts.update_rule``). Disabling a rule ends its alert,
    since nothing will evaluate it any more: ``firing`` becomes ``resolved`` (notified),
    ``pending`` becomes ``inactive``."""
    before = tx.alerts.get_rule(name)
    after = tx.alerts.update_rule(name, expected_version, changes)
    if before.enabled and not after.enabled:
        ended = _ENDED_BY_DISABLING.get(after.state)
        if ended is not None:
            record_alert_state(tx, name, ended, reason="rule disabled")
            after = tx.alerts.get_rule(name)
    return after


def _change(
    tx: Tx,
    rule: AlertRuleRecord,
    target: AlertState,
    at: datetime,
    value: float | None,
    baseline_value: float | None,
    reason: str,
    details: Mapping[str, Any] | None,
) -> AlertEventRecord | None:
    if target is rule.state:
        return None
    event = tx.alerts.save_change(
        rule,
        target,
        at=at,
        value=value,
        baseline_value=baseline_value,
        reason=reason,
        details=details,
    )
    if target in _NOTIFIED:
        queue_alert_change(
            tx,
            rule,
            target,
            at=at,
            value=event.value,
            baseline_value=event.baseline_value,
            reason=reason,
            details=details,
        )
    return event

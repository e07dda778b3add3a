"""What the store returns about alert rules: the rule with its state, and its events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...core.alerts import AlertRuleSpec, AlertState
from ._base import Record

__all__ = [
    "AlertEventRecord",
    "AlertRuleRecord",
]


class AlertRuleRecord(AlertRuleSpec):
    """A stored rule, its version, and where its state machine stands."""

    version: int
    state: AlertState
    state_since: datetime | None
    last_value: float | None
    last_reason: str | None = None
    """What the last evaluation saw (the value, or why it could not judge: no data,
    waiting for samples)."""
    evaluated_at: datetime | None
    created_at: datetime
    updated_at: datetime

    def spec(self) -> AlertRuleSpec:
        return AlertRuleSpec.model_validate(
            self.model_dump(by_alias=True, include=set(AlertRuleSpec.model_fields))
        )


class AlertEventRecord(Record):
    """A change of a rule's state, with the values that caused it."""

    id: int
    rule: str
    at: datetime
    from_state: AlertState
    to_state: AlertState
    value: float | None
    baseline_value: float | None
    threshold: float
    reason: str
    details: dict[str, Any] | None

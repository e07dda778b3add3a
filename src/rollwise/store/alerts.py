"""Alert rules (CRUD, versioned, audited) and their states as stored (events).

``rollwise.application.alerts`` runs each evaluation through the pure state machine
(:func:`~rollwise.core.alerts.next_alert_state`) and stores what it decided here:
:meth:`AlertOperations.save_evaluation` what the evaluation saw,
:meth:`AlertOperations.save_change` a change of state (the rule's state and an
``alert_events`` row), in the caller's transaction with the notification it queues.
State changes are the rule's own history, not configuration: they do not bump the rule's
version and write no audit rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from ..core.alerts import (
    AlertComparison,
    AlertRuleFields,
    AlertRuleSpec,
    AlertSeverity,
    AlertState,
    parse_alert_rule,
)
from ..core.gates import GateMetric
from ..errors import ConfigError, ConfigIssue, ConflictError
from ._base import Operations, aware
from .records import AlertEventRecord, AlertRuleRecord
from .tables import alert_events, alert_rules

__all__ = ["AlertOperations"]

_T = alert_rules


def _record(row: Any) -> AlertRuleRecord:
    return AlertRuleRecord(
        name=row.name,
        environment=row.environment,
        flag=row.flag,
        variant=row.variant,
        baseline=row.baseline,
        metric=GateMetric(row.metric),
        comparison=AlertComparison(row.comparison),
        threshold=row.threshold,
        window=row.window_seconds,
        for_=row.for_seconds,
        min_samples=row.min_samples,
        severity=AlertSeverity(row.severity),
        query=row.query,
        description=row.description,
        enabled=row.enabled,
        version=row.version,
        state=AlertState(row.state),
        state_since=aware(row.state_since),
        last_value=row.last_value,
        last_reason=row.last_reason,
        evaluated_at=aware(row.evaluated_at),
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
    )


def _event(row: Any) -> AlertEventRecord:
    return AlertEventRecord(
        id=row.id,
        rule=row.rule,
        at=aware(row.at),
        from_state=AlertState(row.from_state),
        to_state=AlertState(row.to_state),
        value=row.value,
        baseline_value=row.baseline_value,
        threshold=row.threshold,
        reason=row.reason,
        details=row.details,
    )


def _finite(value: float | None) -> float | None:
    """A value the API can serve as JSON: NaN and infinities are "no value"."""
    return value if value is not None and math.isfinite(value) else None


def _columns(spec: AlertRuleSpec) -> dict[str, Any]:
    return {
        "environment": spec.environment,
        "flag": spec.flag,
        "variant": spec.variant,
        "baseline": spec.baseline,
        "metric": spec.metric.value,
        "comparison": spec.comparison.value,
        "threshold": spec.threshold,
        "window_seconds": spec.window,
        "for_seconds": spec.for_,
        "min_samples": spec.min_samples,
        "severity": spec.severity.value,
        "query": spec.query,
        "description": spec.description,
        "enabled": spec.enabled,
    }


def _dump(record: AlertRuleRecord) -> dict[str, Any]:
    return record.model_dump(mode="json", by_alias=True)


class AlertOperations(Operations):
    # -- rules ---------------------------------------------------------------------------

    def list_rules(
        self,
        *,
        environment: str | None = None,
        flag: str | None = None,
        state: AlertState | str | None = None,
        enabled: bool | None = None,
    ) -> list[AlertRuleRecord]:
        statement = select(_T).order_by(_T.c.name)
        if environment is not None:
            statement = statement.where(_T.c.environment == environment)
        if flag is not None:
            statement = statement.where(_T.c.flag == flag)
        if state is not None:
            statement = statement.where(_T.c.state == AlertState(state).value)
        if enabled is not None:
            statement = statement.where(_T.c.enabled == enabled)
        return [_record(row) for row in self._conn.execute(statement)]

    def get_rule(self, name: str, *, lock: bool = False) -> AlertRuleRecord:
        """The rule; ``lock`` holds its row until the transaction ends, so two evaluators
        cannot both record the same change."""
        statement = select(_T).where(_T.c.name == name)
        row = self._conn.execute(statement.with_for_update() if lock else statement).first()
        if row is None:
            raise self._not_found("alert rule", name)
        return _record(row)

    def create_rule(self, rule: AlertRuleFields | Mapping[str, Any]) -> AlertRuleRecord:
        spec = parse_alert_rule(rule)
        self._check_references(spec)
        if self._conn.execute(select(_T.c.name).where(_T.c.name == spec.name)).first():
            raise ConflictError(
                f"alert rule {spec.name!r} already exists", resource="alert rule", key=spec.name
            )
        now = self._now()
        self._conn.execute(
            insert(_T).values(
                name=spec.name,
                version=1,
                state=AlertState.INACTIVE.value,
                state_since=None,
                last_value=None,
                evaluated_at=None,
                created_at=now,
                updated_at=now,
                **_columns(spec),
            )
        )
        record = self.get_rule(spec.name)
        self._audit(
            "alert_rule.create",
            "alert_rule",
            spec.name,
            environment=spec.environment,
            after=_dump(record),
        )
        return record

    def update_rule(
        self, name: str, expected_version: int, changes: Mapping[str, Any]
    ) -> AlertRuleRecord:
        """Change some fields (the rest stay); the result is checked as a whole rule.

        The state is kept: the next evaluation judges the new condition. (Disabling a rule
        ends its alert: ``rollwise.application.alerts.update_alert_rule`` does both.)
        """
        before = self.get_rule(name)
        if "name" in changes and changes["name"] != name:
            raise ConfigError.single(None, "name", "a rule cannot be renamed: create a new one")
        merged = before.spec().model_dump(by_alias=True) | dict(changes)
        spec = parse_alert_rule(merged)
        self._check_references(spec)
        result = self._conn.execute(
            update(_T)
            .where(_T.c.name == name, _T.c.version == expected_version)
            .values(version=_T.c.version + 1, updated_at=self._now(), **_columns(spec))
        )
        if result.rowcount != 1:
            raise self._stale("alert rule", name, expected_version, before.version)
        after = self.get_rule(name)
        self._audit(
            "alert_rule.update",
            "alert_rule",
            name,
            environment=after.environment,
            before=_dump(before),
            after=_dump(after),
        )
        return after

    def delete_rule(self, name: str, expected_version: int | None = None) -> None:
        """Remove the rule and its events."""
        before = self.get_rule(name)
        version = before.version if expected_version is None else expected_version
        if version != before.version:
            raise self._stale("alert rule", name, version, before.version)
        self._conn.execute(delete(alert_events).where(alert_events.c.rule == name))
        result = self._conn.execute(delete(_T).where(_T.c.name == name, _T.c.version == version))
        if result.rowcount != 1:
            raise self._stale("alert rule", name, version, self.get_rule(name).version)
        self._audit(
            "alert_rule.delete",
            "alert_rule",
            name,
            environment=before.environment,
            before=_dump(before),
        )

    # -- states --------------------------------------------------------------------------

    def list_events(
        self, name: str, *, limit: int = 100, before_id: int | None = None
    ) -> list[AlertEventRecord]:
        """Newest first."""
        self.get_rule(name)
        statement = (
            select(alert_events)
            .where(alert_events.c.rule == name)
            .order_by(alert_events.c.id.desc())
            .limit(max(1, min(limit, 1000)))
        )
        if before_id is not None:
            statement = statement.where(alert_events.c.id < before_id)
        return [_event(row) for row in self._conn.execute(statement)]

    def save_evaluation(self, name: str, *, at: datetime, value: float | None, reason: str) -> None:
        """What one evaluation saw (the value, or why it could not judge)."""
        self._conn.execute(
            update(_T)
            .where(_T.c.name == name)
            .values(last_value=_finite(value), last_reason=reason[:2000] or None, evaluated_at=at)
        )

    def save_change(
        self,
        rule: AlertRuleRecord,
        to_state: AlertState,
        *,
        at: datetime,
        value: float | None = None,
        baseline_value: float | None = None,
        reason: str = "",
        details: Mapping[str, Any] | None = None,
    ) -> AlertEventRecord:
        """Move ``rule`` (read locked) to ``to_state`` since ``at``, and keep the event."""
        self._conn.execute(
            update(_T).where(_T.c.name == rule.name).values(state=to_state.value, state_since=at)
        )
        result = self._conn.execute(
            insert(alert_events).values(
                rule=rule.name,
                at=at,
                from_state=rule.state.value,
                to_state=to_state.value,
                value=_finite(value),
                baseline_value=_finite(baseline_value),
                threshold=rule.threshold,
                reason=reason,
                details=dict(details) if details is not None else None,
            )
        )
        event_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        row = self._conn.execute(select(alert_events).where(alert_events.c.id == event_id)).one()
        return _event(row)

    # -- helpers -------------------------------------------------------------------------

    def _check_references(self, spec: AlertRuleSpec) -> None:
        self.tx.flags.require_environment(spec.environment)
        if spec.flag is None:
            return
        flag = self.tx.flags.get(spec.flag)
        known = ", ".join(flag.variants)
        issues = [
            ConfigIssue(spec.flag, field, f"unknown variant {value!r} (variants are: {known})")
            for field, value in (("variant", spec.variant), ("baseline", spec.baseline))
            if value is not None and value not in flag.variants
        ]
        if issues:
            raise ConfigError(issues)

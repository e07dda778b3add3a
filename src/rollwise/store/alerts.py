"""Alert rules (CRUD, versioned, audited) and their state changes (events + notifications).

The controller evaluates each enabled rule and reports what it saw with
:meth:`AlertOperations.observe_alert` (breached or not, or no data): the store applies
:func:`~rollwise.store.alert_records.next_alert_state`, and on a change writes an
``alert_events`` row and, for ``firing`` and ``resolved``, queues ``alert.firing`` /
``alert.resolved`` in the outbox — all in the caller's transaction.
:meth:`AlertOperations.record_alert_state` records a state the caller decided itself.
State changes are the rule's own history (``alert_events``), not configuration: they do
not bump the rule's version and write no audit rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from ..core.gates import GateMetric
from ..errors import ConfigError, ConfigIssue, ConflictError
from ._base import aware
from ._notifications import alert_notification
from .alert_records import (
    AlertComparison,
    AlertEventRecord,
    AlertRuleFields,
    AlertRuleRecord,
    AlertRuleSpec,
    AlertSeverity,
    AlertState,
    next_alert_state,
    parse_alert_rule,
)
from .flags import FlagOperations
from .outbox import OutboxOperations
from .tables import alert_events, alert_rules

__all__ = ["AlertOperations"]

_T = alert_rules
_NOTIFIED = (AlertState.FIRING, AlertState.RESOLVED)
_ENDED_BY_DISABLING = {
    AlertState.FIRING: AlertState.RESOLVED,
    AlertState.PENDING: AlertState.INACTIVE,
}


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


class AlertOperations(FlagOperations, OutboxOperations):
    # -- rules ---------------------------------------------------------------------------

    def list_alert_rules(
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

    def get_alert_rule(self, name: str) -> AlertRuleRecord:
        row = self._conn.execute(select(_T).where(_T.c.name == name)).first()
        if row is None:
            raise self._not_found("alert rule", name)
        return _record(row)

    def create_alert_rule(self, rule: AlertRuleFields | Mapping[str, Any]) -> AlertRuleRecord:
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
        record = self.get_alert_rule(spec.name)
        self._audit(
            "alert_rule.create",
            "alert_rule",
            spec.name,
            environment=spec.environment,
            after=_dump(record),
        )
        return record

    def update_alert_rule(
        self, name: str, expected_version: int, changes: Mapping[str, Any]
    ) -> AlertRuleRecord:
        """Change some fields (the rest stay); the result is checked as a whole rule.

        The state is kept: the next evaluation judges the new condition. Disabling a rule
        ends its alert, since nothing will evaluate it any more: ``firing`` becomes
        ``resolved`` (notified), ``pending`` becomes ``inactive``.
        """
        before = self.get_alert_rule(name)
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
        after = self.get_alert_rule(name)
        self._audit(
            "alert_rule.update",
            "alert_rule",
            name,
            environment=after.environment,
            before=_dump(before),
            after=_dump(after),
        )
        if before.enabled and not after.enabled:
            ended = _ENDED_BY_DISABLING.get(after.state)
            if ended is not None:
                self.record_alert_state(name, ended, reason="rule disabled")
                after = self.get_alert_rule(name)
        return after

    def delete_alert_rule(self, name: str, expected_version: int | None = None) -> None:
        """Remove the rule and its events."""
        before = self.get_alert_rule(name)
        version = before.version if expected_version is None else expected_version
        if version != before.version:
            raise self._stale("alert rule", name, version, before.version)
        self._conn.execute(delete(alert_events).where(alert_events.c.rule == name))
        result = self._conn.execute(delete(_T).where(_T.c.name == name, _T.c.version == version))
        if result.rowcount != 1:
            raise self._stale("alert rule", name, version, self.get_alert_rule(name).version)
        self._audit(
            "alert_rule.delete",
            "alert_rule",
            name,
            environment=before.environment,
            before=_dump(before),
        )

    # -- states --------------------------------------------------------------------------

    def list_alert_events(
        self, name: str, *, limit: int = 100, before_id: int | None = None
    ) -> list[AlertEventRecord]:
        """Newest first."""
        self.get_alert_rule(name)
        statement = (
            select(alert_events)
            .where(alert_events.c.rule == name)
            .order_by(alert_events.c.id.desc())
            .limit(max(1, min(limit, 1000)))
        )
        if before_id is not None:
            statement = statement.where(alert_events.c.id < before_id)
        return [_event(row) for row in self._conn.execute(statement)]

    def observe_alert(
        self,
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
        changed (see :func:`next_alert_state`), else None."""
        moment = at if at is not None else self._now()
        value, baseline_value = _finite(value), _finite(baseline_value)
        rule = self._locked(name)
        target = next_alert_state(
            rule.state, rule.state_since, breached, rule.for_, moment, waiting=waiting
        )
        self._conn.execute(
            update(_T)
            .where(_T.c.name == name)
            .values(last_value=value, last_reason=reason[:2000] or None, evaluated_at=moment)
        )
        return self._change(rule, target, moment, value, baseline_value, reason, details)

    def record_alert_state(
        self,
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
        moment = at if at is not None else self._now()
        value, baseline_value = _finite(value), _finite(baseline_value)
        rule = self._locked(name)
        return self._change(rule, AlertState(state), moment, value, baseline_value, reason, details)

    # -- helpers -------------------------------------------------------------------------

    def _locked(self, name: str) -> AlertRuleRecord:
        """The rule, its row locked: two evaluators cannot both record the same change."""
        row = self._conn.execute(select(_T).where(_T.c.name == name).with_for_update()).first()
        if row is None:
            raise self._not_found("alert rule", name)
        return _record(row)

    def _change(
        self,
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
        self._conn.execute(
            update(_T).where(_T.c.name == rule.name).values(state=target.value, state_since=at)
        )
        result = self._conn.execute(
            insert(alert_events).values(
                rule=rule.name,
                at=at,
                from_state=rule.state.value,
                to_state=target.value,
                value=value,
                baseline_value=baseline_value,
                threshold=rule.threshold,
                reason=reason,
                details=dict(details) if details is not None else None,
            )
        )
        if target in _NOTIFIED:
            self.enqueue(
                alert_notification(
                    rule,
                    target,
                    at=at,
                    value=value,
                    baseline_value=baseline_value,
                    reason=reason,
                    details=details,
                )
            )
        event_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        row = self._conn.execute(select(alert_events).where(alert_events.c.id == event_id)).one()
        return _event(row)

    def _check_references(self, spec: AlertRuleSpec) -> None:
        self._require_environment(spec.environment)
        if spec.flag is None:
            return
        flag = self.get_flag(spec.flag)
        known = ", ".join(flag.variants)
        issues = [
            ConfigIssue(spec.flag, field, f"unknown variant {value!r} (variants are: {known})")
            for field, value in (("variant", spec.variant), ("baseline", spec.baseline))
            if value is not None and value not in flag.variants
        ]
        if issues:
            raise ConfigError(issues)

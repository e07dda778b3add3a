"""Alert rules on both databases: CRUD with versions and audit, the state machine, events,
and the firing/resolved notifications they queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollwise.application import observe_alert, record_alert_state, update_alert_rule
from rollwise.errors import ConfigError, ConflictError, NotFoundError
from rollwise.notifiers import Notification
from rollwise.store import AlertState, Store, next_alert_state, parse_alert_rule

from ._support import seed

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
RULE: dict[str, Any] = {
    "name": "checkout-errors",
    "environment": "production",
    "flag": "checkout",
    "metric": "error_rate",
    "comparison": "above",
    "threshold": 0.05,
    "window": "5m",
    "for": "2m",
    "severity": "critical",
}


def test_rules_crud_versions_and_audit(store: Store) -> None:
    seed(store)
    with store.transaction("alice") as tx:
        rule = tx.alerts.create_rule(RULE)
        assert (rule.window, rule.for_, rule.version, rule.state) == (
            300.0,
            120.0,
            1,
            AlertState.INACTIVE,
        )
        relative = tx.alerts.create_rule(
            {
                "name": "p95-up",
                "environment": "production",
                "flag": "checkout",
                "variant": "domain",
                "metric": "latency_p95",
                "comparison": "increase_above",
                "threshold": 0.5,
            }
        )
        assert relative.baseline is None
        updated = tx.alerts.update_rule("checkout-errors", 1, {"threshold": 0.1, "for": 60})
        assert (updated.version, updated.threshold, updated.for_) == (2, 0.1, 60.0)
        assert [r.name for r in tx.alerts.list_rules(flag="checkout")] == [
            "checkout-errors",
            "p95-up",
        ]
        assert [r.name for r in tx.alerts.list_rules(state="inactive", enabled=True)] == [
            "checkout-errors",
            "p95-up",
        ]
    with store.transaction("alice") as tx:
        with pytest.raises(ConflictError) as stale:
            tx.alerts.update_rule("checkout-errors", 1, {"threshold": 0.2})
        assert stale.value.details["current_version"] == 2
        with pytest.raises(ConflictError):
            tx.alerts.create_rule(RULE)
        tx.alerts.delete_rule("p95-up")
        with pytest.raises(NotFoundError):
            tx.alerts.get_rule("p95-up")
        actions = [a.action for a in tx.audit.list_audit(target_type="alert_rule")]
    assert actions == [
        "alert_rule.delete",
        "alert_rule.update",
        "alert_rule.create",
        "alert_rule.create",
    ]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"threshold": 5}, "threshold"),
        ({"variant": "domian"}, "variant"),
        ({"comparison": "increase_above", "flag": None}, "flag"),
        ({"baseline": "legacy"}, "baseline"),
        ({"metric": "custom"}, "query"),
        ({"window": "forever"}, "window"),
        ({"for": -1}, "for"),
        ({"severity": "loud"}, "severity"),
        ({"metric": "cpu"}, "metric"),  # a rollout gate on process samples, not an alert
        ({"metric": "failing_units"}, "metric"),  # unit sketches judge a step, not an alert
    ],
)
def test_invalid_rules_name_the_field(store: Store, change: dict[str, Any], path: str) -> None:
    seed(store)
    with store.transaction("alice") as tx, pytest.raises(ConfigError) as caught:
        tx.alerts.create_rule({**RULE, **change})
    assert caught.value.path == path


def test_unknown_environment_or_flag(store: Store) -> None:
    seed(store)
    with store.transaction("alice") as tx:
        with pytest.raises(NotFoundError):
            tx.alerts.create_rule({**RULE, "environment": "nowhere"})
        with pytest.raises(NotFoundError):
            tx.alerts.create_rule({**RULE, "flag": "nope"})


def test_pending_firing_resolved_with_events_and_notifications(store: Store) -> None:
    seed(store)
    with store.transaction("admin") as tx:
        tx.channels.create("oncall", {"type": "nop", "name": "oncall", "kinds": ["alert.*"]})
        tx.alerts.create_rule(RULE)

    def observe(breached: bool | None, minutes: float, value: float | None) -> AlertState | None:
        with store.transaction("controller") as tx:
            event = observe_alert(
                tx,
                "checkout-errors",
                breached=breached,
                at=T0 + timedelta(minutes=minutes),
                value=value,
            )
            return None if event is None else event.to_state

    assert observe(False, 0, 0.01) is None
    assert observe(True, 1, 0.07) is AlertState.PENDING
    assert observe(True, 2, 0.08) is None  # pending for 1 of 2 minutes
    assert observe(True, 3, 0.09) is AlertState.FIRING
    assert observe(None, 4, None) is None  # no data never resolves
    assert observe(True, 5, 0.09) is None
    assert observe(False, 6, 0.02) is AlertState.RESOLVED
    assert observe(False, 7, 0.01) is None
    with store.transaction("read") as tx:
        rule = tx.alerts.get_rule("checkout-errors")
        events = tx.alerts.list_events("checkout-errors")
        rows = tx.outbox.list_outbox()
    assert (rule.state, rule.state_since, rule.last_value) == (
        AlertState.RESOLVED,
        T0 + timedelta(minutes=6),
        0.01,
    )
    assert rule.evaluated_at == T0 + timedelta(minutes=7)
    assert rule.version == 1
    assert [(e.from_state.value, e.to_state.value, e.value) for e in events] == [
        ("firing", "resolved", 0.02),
        ("pending", "firing", 0.09),
        ("inactive", "pending", 0.07),
    ]
    notifications = [Notification.from_dict(row.notification) for row in reversed(rows)]
    assert [(n.kind, n.severity.value) for n in notifications] == [
        ("alert.firing", "critical"),
        ("alert.resolved", "info"),
    ]
    assert notifications[0].subject.alert_rule == "checkout-errors"
    assert notifications[0].fields["value"] == "9%"
    assert notifications[0].fields["for"] == "2m"


def test_disabling_a_rule_ends_its_alert(store: Store) -> None:
    seed(store)
    with store.transaction("admin") as tx:
        tx.channels.create("oncall", {"type": "nop", "name": "oncall", "kinds": ["alert.*"]})
        tx.alerts.create_rule({**RULE, "for": 0})
        tx.alerts.create_rule({**RULE, "name": "slow", "metric": "latency_p95", "threshold": 1})
    with store.transaction("controller") as tx:
        observe_alert(tx, "checkout-errors", breached=True, at=T0, value=0.09)
        observe_alert(tx, "slow", breached=True, at=T0, value=2.0)
    with store.transaction("admin") as tx:
        firing = update_alert_rule(tx, "checkout-errors", 1, {"enabled": False})
        pending = update_alert_rule(tx, "slow", 1, {"enabled": False})
        assert (firing.state, pending.state) == (AlertState.RESOLVED, AlertState.INACTIVE)
        ended = tx.alerts.list_events("checkout-errors")[0]
        assert (ended.from_state, ended.to_state, ended.reason) == (
            AlertState.FIRING,
            AlertState.RESOLVED,
            "rule disabled",
        )
        kinds = [Notification.from_dict(row.notification).kind for row in tx.outbox.list_outbox()]
        assert sorted(kinds) == ["alert.firing", "alert.resolved"]
        again = tx.alerts.update_rule("checkout-errors", 2, {"description": "still off"})
        assert again.state is AlertState.RESOLVED
        assert len(tx.alerts.list_events("checkout-errors")) == 2


def test_record_alert_state_directly(store: Store) -> None:
    seed(store)
    with store.transaction("controller") as tx:
        tx.alerts.create_rule({**RULE, "for": 0})
        fired = record_alert_state(tx, "checkout-errors", "firing", at=T0, value=float("nan"))
        assert fired is not None
        assert fired.value is None
        assert record_alert_state(tx, "checkout-errors", "firing", at=T0) is None
        tx.alerts.delete_rule("checkout-errors")
        with pytest.raises(NotFoundError):
            tx.alerts.list_events("checkout-errors")


STATES = st.sampled_from(list(AlertState))


@given(
    state=STATES,
    breached=st.sampled_from([True, False, None]),
    waited=st.integers(min_value=0, max_value=600),
    hold=st.integers(min_value=0, max_value=600),
)
def test_the_state_machine(
    state: AlertState, breached: bool | None, waited: int, hold: int
) -> None:
    after = next_alert_state(state, T0, breached, hold, T0 + timedelta(seconds=waited))
    if breached is None:
        assert after is (AlertState.INACTIVE if state is AlertState.PENDING else state)
    elif breached:
        if state is AlertState.PENDING:
            assert after is (AlertState.FIRING if waited >= hold else AlertState.PENDING)
        elif state is AlertState.FIRING:
            assert after is AlertState.FIRING
        else:
            assert after is (AlertState.FIRING if hold == 0 else AlertState.PENDING)
    else:
        assert after is {
            AlertState.FIRING: AlertState.RESOLVED,
            AlertState.PENDING: AlertState.INACTIVE,
        }.get(state, state)
    assert after is not AlertState.RESOLVED or state is AlertState.FIRING or state is after


def test_parse_reports_every_problem() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_alert_rule({**RULE, "threshold": 2, "baseline": "legacy"})
    assert [i.path for i in caught.value.issues] == ["threshold", "baseline"]

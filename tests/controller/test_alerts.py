"""Alert evaluation on SQLite and PostgreSQL: rules over ingested telemetry going pending,
firing and resolved, with their notifications delivered to a real HTTP receiver."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from rollwise.store import AlertRuleRecord, AlertState, Store

from ..notifiers._receivers import HttpReceiver
from ._support import Harness, traffic


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as running:
        yield running


def add_rule(store: Store, **fields: Any) -> None:
    rule: dict[str, Any] = {"environment": "production", "metric": "error_rate"}
    rule.update(fields)
    with store.transaction("admin") as tx:
        tx.alerts.create_rule(rule)


def get_rule(store: Store, name: str) -> AlertRuleRecord:
    with store.transaction("read") as tx:
        return tx.alerts.get_rule(name)


def test_an_error_rate_alert_goes_pending_firing_resolved_and_notifies(
    harness: Harness, receiver: HttpReceiver
) -> None:
    store, clock = harness.store, harness.clock
    with store.transaction("admin") as tx:
        tx.channels.create("hooks", {"type": "webhook", "name": "hooks", "url": receiver.url})
    add_rule(
        store,
        name="domain-errors",
        flag="checkout",
        variant="domain",
        threshold=0.05,
        window="5m",
        severity="critical",
        **{"for": "2m"},
    )

    def bad_traffic() -> None:
        traffic(store, clock.now - timedelta(seconds=10), legacy=(900, 9), domain=(100, 10))

    bad_traffic()
    report = harness.controller.tick()
    assert [(a.rule, a.changed_to) for a in report.alerts] == [
        ("domain-errors", AlertState.PENDING)
    ]
    assert report.alerts[0].observation is not None
    assert report.alerts[0].observation.value == pytest.approx(0.1)
    assert receiver.received == []  # pending is not worth a message

    clock.advance(minutes=1)
    bad_traffic()
    harness.tick()
    assert get_rule(store, "domain-errors").state is AlertState.PENDING

    clock.advance(minutes=1)
    bad_traffic()
    harness.tick()
    firing = get_rule(store, "domain-errors")
    assert firing.state is AlertState.FIRING
    assert firing.last_value == pytest.approx(0.1)
    with store.transaction("read") as tx:
        fired_event = tx.alerts.list_events("domain-errors")[0]
    assert fired_event.details is not None
    assert fired_event.details["samples"] == 300  # three bad windows in the last 5 minutes
    [fired] = [r.json() for r in receiver.received]
    assert (fired["kind"], fired["severity"]) == ("alert.firing", "critical")
    assert fired["subject"]["alert_rule"] == "domain-errors"
    assert "over the last 5m" in fired["summary"]

    clock.advance(minutes=6)  # the bad windows leave the 5-minute window
    traffic(store, clock.now - timedelta(seconds=10), legacy=(900, 0), domain=(100, 1))
    harness.tick()
    assert get_rule(store, "domain-errors").state is AlertState.RESOLVED
    kinds = [r.json()["kind"] for r in receiver.received]
    assert kinds == ["alert.firing", "alert.resolved"]
    with store.transaction("read") as tx:
        events = tx.alerts.list_events("domain-errors")
    assert [e.to_state for e in events] == [
        AlertState.RESOLVED,
        AlertState.FIRING,
        AlertState.PENDING,
    ]
    assert events[0].details is not None
    assert events[0].details["samples"] == 100


def test_no_data_is_never_a_breach(harness: Harness) -> None:
    add_rule(harness.store, name="quiet", flag="checkout", threshold=0.01)
    report = harness.controller.tick()
    [outcome] = report.alerts
    assert outcome.observation is not None
    assert outcome.observation.breached is None
    rule = get_rule(harness.store, "quiet")
    assert (rule.state, rule.last_value, rule.evaluated_at) == (
        AlertState.INACTIVE,
        None,
        harness.clock.now,
    )


def test_latency_relative_to_the_baseline_fires_at_once_without_for(harness: Harness) -> None:
    store, clock = harness.store, harness.clock
    add_rule(
        store,
        name="domain-slower",
        flag="checkout",
        variant="domain",
        metric="latency_p95",
        comparison="increase_above",
        threshold=0.5,
    )
    traffic(
        store,
        clock.now - timedelta(seconds=10),
        legacy=(900, 0),
        domain=(100, 0),
        legacy_latency=0.05,
        domain_latency=0.2,
    )
    [outcome] = harness.controller.tick().alerts
    assert outcome.changed_to is AlertState.FIRING
    assert outcome.observation is not None
    assert outcome.observation.value == pytest.approx(0.2, rel=0.1)
    assert outcome.observation.baseline_value == pytest.approx(0.05, rel=0.1)
    assert "more than 50% above the baseline's" in outcome.observation.reason


def test_a_rule_without_a_flag_watches_the_whole_environment(harness: Harness) -> None:
    store, clock = harness.store, harness.clock
    add_rule(store, name="env-success", metric="success_rate", comparison="below", threshold=0.95)
    traffic(store, clock.now - timedelta(seconds=10), legacy=(900, 90), domain=(100, 10))
    [outcome] = harness.controller.tick().alerts
    assert outcome.changed_to is AlertState.FIRING
    assert outcome.observation is not None
    assert outcome.observation.value == pytest.approx(0.9)


def test_disabled_rules_are_not_evaluated(harness: Harness) -> None:
    add_rule(harness.store, name="off", flag="checkout", threshold=0.01, enabled=False)
    assert harness.controller.tick().alerts == ()
    assert get_rule(harness.store, "off").evaluated_at is None


def test_a_rule_is_not_judged_on_a_handful_of_samples(harness: Harness) -> None:
    """1 error in 8 requests (12.5%) is not an incident: below ``min_samples`` (default
    100) the rule neither goes pending nor fires, and says it is waiting."""
    store, clock = harness.store, harness.clock
    add_rule(store, name="few", flag="checkout", variant="domain", threshold=0.05)
    assert get_rule(store, "few").min_samples == 100
    traffic(store, clock.now - timedelta(seconds=10), domain=(8, 1))
    [outcome] = harness.controller.tick().alerts
    assert outcome.changed_to is None
    assert outcome.observation is not None
    assert outcome.observation.waiting
    rule = get_rule(store, "few")
    assert rule.state is AlertState.INACTIVE
    assert rule.last_value == pytest.approx(0.125)
    assert rule.last_reason == "waiting for samples: 8 of 100 in the last 5m"

    clock.advance(seconds=30)
    traffic(store, clock.now - timedelta(seconds=10), domain=(92, 9))
    harness.tick()
    assert get_rule(store, "few").state is AlertState.FIRING  # 10 of 100: now it counts


def test_below_the_minimum_a_rule_keeps_its_state(harness: Harness) -> None:
    """Neither resolved by a few good requests nor sent back from pending to inactive."""
    store, clock = harness.store, harness.clock
    add_rule(store, name="held", flag="checkout", variant="domain", threshold=0.05, min_samples=50)
    add_rule(
        store,
        name="slow-to-fire",
        flag="checkout",
        variant="domain",
        threshold=0.05,
        min_samples=50,
        window="1m",
        **{"for": "10m"},
    )
    traffic(store, clock.now - timedelta(seconds=10), domain=(60, 30))
    harness.tick()
    assert get_rule(store, "held").state is AlertState.FIRING
    assert get_rule(store, "slow-to-fire").state is AlertState.PENDING

    clock.advance(minutes=6)  # the bad window is gone from both windows
    traffic(store, clock.now - timedelta(seconds=10), domain=(8, 0))
    harness.tick()
    held, slow = get_rule(store, "held"), get_rule(store, "slow-to-fire")
    assert (held.state, slow.state) == (AlertState.FIRING, AlertState.PENDING)
    assert held.last_reason is not None
    assert held.last_reason.startswith("waiting for samples")

    clock.advance(seconds=30)
    traffic(store, clock.now - timedelta(seconds=10), domain=(50, 0))
    harness.tick()
    assert get_rule(store, "held").state is AlertState.RESOLVED
    assert get_rule(store, "slow-to-fire").state is AlertState.INACTIVE


def test_increase_above_waits_for_samples_on_the_baseline_too(harness: Harness) -> None:
    store, clock = harness.store, harness.clock
    add_rule(
        store,
        name="relative",
        flag="checkout",
        variant="domain",
        metric="latency_p95",
        comparison="increase_above",
        threshold=0.5,
        min_samples=20,
    )
    at = clock.now - timedelta(seconds=10)
    traffic(store, at, legacy=(5, 0), domain=(200, 0), domain_latency=0.5)
    [outcome] = harness.controller.tick().alerts
    assert outcome.changed_to is None
    rule = get_rule(store, "relative")
    assert rule.state is AlertState.INACTIVE
    assert rule.last_reason == "waiting for samples: the baseline has 5 of 20 in the last 5m"

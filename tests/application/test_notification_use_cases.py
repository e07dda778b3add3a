"""What the use cases queue: core builds the notification, the outbox keeps one row per
channel whose filter wants it, and disabling a rule through the use case ends its alert."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from rollwise.application import create_rollout, observe_alert, update_alert_rule
from rollwise.core.alerts import AlertState
from rollwise.core.notifications import ChannelFilter, Notification, Severity
from rollwise.notifiers import default_registry
from rollwise.store import Store

from ..store._support import SPEC, seed

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
RULE = {
    "name": "errors",
    "environment": "production",
    "flag": "checkout",
    "metric": "error_rate",
    "threshold": 0.05,
    "min_samples": 1,
}


def test_each_channel_gets_what_its_filter_wants(store: Store) -> None:
    seed(store)
    with store.transaction("admin") as tx:
        tx.channels.create("all", {"type": "nop", "name": "all"})
        tx.channels.create("alerts", {"type": "nop", "name": "alerts", "kinds": ["alert.*"]})
        tx.channels.create("urgent", {"type": "nop", "name": "urgent", "min_severity": "critical"})
        tx.alerts.create_rule(RULE)
    with store.transaction("bob") as tx:
        create_rollout(tx, SPEC, start=True, now=T0)
    with store.transaction("controller") as tx:
        observe_alert(tx, "errors", breached=True, at=T0, value=0.2)
    with store.reading() as tx:
        rows = tx.outbox.list_outbox()
    got = sorted((row.channel, row.kind) for row in rows)
    assert got == [("alerts", "alert.firing"), ("all", "alert.firing"),
                   ("all", "rollout.transition")]  # fmt: skip
    for row in rows:
        notification = Notification.from_dict(row.notification)
        assert notification.id == row.id
        assert notification.occurred_at == T0


def test_disabling_a_firing_rule_through_the_use_case_resolves_it(store: Store) -> None:
    seed(store)
    with store.transaction("admin") as tx:
        tx.channels.create("all", {"type": "nop", "name": "all"})
        tx.alerts.create_rule({**RULE, "for": 0})
    with store.transaction("controller") as tx:
        event = observe_alert(tx, "errors", breached=True, at=T0, value=float("inf"))
    assert event is not None
    assert event.value is None  # not JSON: stored as "no value"
    with store.transaction("admin") as tx:
        disabled = update_alert_rule(tx, "errors", 1, {"enabled": False})
        kinds = [row.kind for row in tx.outbox.list_outbox()]
    assert disabled.state is AlertState.RESOLVED
    assert sorted(kinds) == ["alert.firing", "alert.resolved"]


SEVERITIES = st.sampled_from(list(Severity))
PATTERNS = st.lists(st.sampled_from(["*", "alert.*", "rollout.*", "*.resolved"]), min_size=1)


@given(kind=st.sampled_from(["alert.firing", "rollout.transition"]), severity=SEVERITIES,
       minimum=SEVERITIES, kinds=PATTERNS)  # fmt: skip
def test_one_filter_for_stored_configs_and_parsed_ones(
    kind: str, severity: Severity, minimum: Severity, kinds: list[str]
) -> None:
    config = default_registry().parse(
        {"type": "nop", "name": "c", "kinds": kinds, "min_severity": minimum.value}
    )
    stored = ChannelFilter.of(config.model_dump(mode="json"))
    assert stored == config.filter
    assert stored.accepts(kind, severity) == (
        severity.rank >= minimum.rank and config.filter.accepts(kind, severity)
    )

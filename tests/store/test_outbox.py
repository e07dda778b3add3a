"""The notification outbox and channels: which channels get a row, the claim/lease cycle,
concurrent claimers, and the store's channel filter agreeing with the notifiers package."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollwise.application import act_on_rollout, create_rollout
from rollwise.core.notifications import ChannelFilter
from rollwise.errors import ConflictError
from rollwise.notifiers import Notification, default_registry
from rollwise.store import OutboxRecord, Store

from ._support import EVIDENCE, SPEC, seed

CHANNELS: list[dict[str, Any]] = [
    {"type": "nop", "name": "everything"},
    {"type": "nop", "name": "alerts-only", "kinds": ["alert.*"]},
    {"type": "nop", "name": "critical-only", "min_severity": "critical"},
    {"type": "nop", "name": "switched-off"},
]


def note(
    title: str = "t", kind: str = "rollout.transition", severity: str = "info"
) -> dict[str, Any]:
    return {
        "kind": kind,
        "severity": severity,
        "title": title,
        "summary": "",
        "subject": {"flag": "checkout", "environment": "production"},
        "occurred_at": "2026-05-01T12:00:00Z",
        "fields": {},
        "evidence": None,
        "links": {},
    }


def add_channels(store: Store) -> None:
    with store.transaction("admin") as tx:
        for config in CHANNELS:
            tx.channels.create(config["name"], config, enabled=config["name"] != "switched-off")


def test_transitions_queue_one_row_per_enabled_channel_that_wants_them(store: Store) -> None:
    seed(store)
    add_channels(store)
    with store.transaction("bob") as tx:
        rollout = create_rollout(tx, SPEC, start=True)
        started = tx.outbox.list_outbox()
        act_on_rollout(tx, rollout.id, "rollback", expected_version=2, evidence=EVIDENCE)
        everything = tx.outbox.list_outbox()
    assert [row.channel for row in started] == ["everything"]
    rolled_back = [row for row in everything if row.notification["severity"] == "critical"]
    assert sorted(row.channel for row in rolled_back) == ["critical-only", "everything"]
    assert len({row.id for row in everything}) == 3
    configs = {c.name: c for c in default_registry().parse_all(CHANNELS)}
    for row in everything:
        notification = Notification.from_dict(row.notification)
        assert notification.id == row.id
        assert configs[row.channel].accepts(notification)
        assert (row.status, row.attempts, row.delivered_at) == ("pending", 0, None)


def test_claim_lease_retry_deliver_and_fail(store: Store) -> None:
    seed(store)
    add_channels(store)
    with store.transaction("t") as tx:
        first, *_ = tx.outbox.enqueue(note("first"))
        second, *_ = tx.outbox.enqueue(note("second"))
    lease = timedelta(seconds=30)
    now = store.now() + timedelta(seconds=1)
    with store.transaction("dispatcher") as tx:
        claimed = tx.outbox.claim_due(now, limit=10, lease=lease)
    assert [row.id for row in claimed] == [first.id, second.id]
    assert all(row.attempts == 1 for row in claimed)
    with store.transaction("dispatcher") as tx:
        assert tx.outbox.claim_due(now + timedelta(seconds=29), lease=lease) == []  # leased
        retry = tx.outbox.mark_retry(first.id, now + timedelta(minutes=5), "HTTP 503 from receiver")
        delivered = tx.outbox.mark_delivered(second.id, at=now)
    assert (retry.status, retry.last_error) == ("pending", "HTTP 503 from receiver")
    assert (delivered.status, delivered.delivered_at) == ("delivered", now)
    with store.transaction("dispatcher") as tx:
        assert tx.outbox.claim_due(now + timedelta(minutes=4)) == []
        again = tx.outbox.claim_due(now + timedelta(minutes=5))
        assert [(row.id, row.attempts) for row in again] == [(first.id, 2)]
        failed = tx.outbox.mark_failed(first.id, "HTTP 404: not found")
        assert (failed.status, failed.last_error) == ("failed", "HTTP 404: not found")
        # marking a row that is no longer pending changes nothing
        assert tx.outbox.mark_delivered(first.id) == failed
        assert tx.outbox.mark_retry(second.id, now, "late") == delivered
        assert tx.outbox.claim_due(now + timedelta(days=30)) == []
        assert [r.id for r in tx.outbox.list_outbox(status="failed")] == [first.id]
        assert [r.id for r in tx.outbox.list_outbox(status="delivered")] == [second.id]


def test_a_claim_whose_lease_ran_out_is_due_again(store: Store) -> None:
    """A dispatcher that died mid-delivery loses nothing: the row comes back."""
    seed(store)
    add_channels(store)
    with store.transaction("t") as tx:
        (row,) = tx.outbox.enqueue(note())
    late = store.now() + timedelta(seconds=1)
    with store.transaction("a") as tx:
        assert [r.id for r in tx.outbox.claim_due(late, lease=timedelta(seconds=60))] == [row.id]
    with store.transaction("b") as tx:
        back = tx.outbox.claim_due(late + timedelta(seconds=60), lease=timedelta(seconds=60))
    assert [(r.id, r.attempts) for r in back] == [(row.id, 2)]


def test_two_concurrent_claimers_never_claim_the_same_row(store: Store) -> None:
    seed(store)
    with store.transaction("admin") as tx:
        tx.channels.create("everything", CHANNELS[0])
        for index in range(60):
            tx.outbox.enqueue(note(f"n{index}"))
    now = store.now() + timedelta(seconds=1)
    claims: dict[str, list[OutboxRecord]] = {"a": [], "b": []}
    barrier = threading.Barrier(2)

    def claimer(name: str) -> None:
        barrier.wait(10)
        while True:
            with store.transaction(name) as tx:
                batch = tx.outbox.claim_due(now, limit=7, lease=timedelta(minutes=5))
            if not batch:
                return
            claims[name] += batch

    threads = [threading.Thread(target=claimer, args=(name,)) for name in claims]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    a = {row.id for row in claims["a"]}
    b = {row.id for row in claims["b"]}
    assert not a & b
    assert len(a | b) == 60
    assert len(claims["a"]) + len(claims["b"]) == 60


def test_enqueue_to_named_channels_even_when_disabled(store: Store) -> None:
    seed(store)
    add_channels(store)
    with store.transaction("t") as tx:
        (row,) = tx.outbox.enqueue(note(kind="alert.firing"), channels=["switched-off"])
        test = tx.channels.queue_test_notification("alerts-only")
        assert tx.audit.list_audit(action="channel.test")[0].target == "alerts-only"
    assert row.channel == "switched-off"
    assert Notification.from_dict(test.notification).kind == "rollwise.test"


def test_channels_are_versioned_and_audited_without_their_values(store: Store) -> None:
    secret = {"type": "webhook", "name": "hooks", "url": "http://r/x", "secret": "s" * 20}
    with store.transaction("admin") as tx:
        created = tx.channels.create("hooks", secret)
        assert (created.version, created.type, created.config["secret"]) == (1, "webhook", "s" * 20)
        off = tx.channels.update("hooks", 1, enabled=False)
        assert (off.version, off.enabled) == (2, False)
        assert [c.name for c in tx.channels.list_channels(enabled=False)] == ["hooks"]
        audit = tx.audit.list_audit(target_type="channel")
    assert all("s" * 20 not in str(row.after) + str(row.before) for row in audit)
    assert audit[-1].after is not None
    assert audit[-1].after["config"] == {"fields (values not recorded)": sorted(secret)}
    with store.transaction("admin") as tx:
        with pytest.raises(ConflictError) as stale:
            tx.channels.update("hooks", 1, enabled=True)
        assert stale.value.details["current_version"] == 2
        tx.channels.delete("hooks", 2, redact=lambda c: {"type": c["type"]})
        assert tx.channels.list_channels() == []
        assert tx.audit.list_audit(action="channel.delete")[0].before["config"] == {  # type: ignore[index]
            "type": "webhook"
        }


KINDS = st.sampled_from(["rollout.transition", "alert.firing", "alert.resolved", "x.y"])
PATTERNS = st.lists(
    st.sampled_from(["*", "alert.*", "rollout.*", "alert.firing", "*.resolved", "x.?"]),
    min_size=1,
    max_size=3,
)
SEVERITIES = st.sampled_from(["info", "warning", "critical"])


@given(kind=KINDS, severity=SEVERITIES, kinds=PATTERNS, minimum=SEVERITIES)
def test_a_stored_config_filters_as_its_parsed_config(
    kind: str, severity: str, kinds: list[str], minimum: str
) -> None:
    raw = {"type": "nop", "name": "c", "kinds": kinds, "min_severity": minimum}
    config = default_registry().parse(raw)
    stored = config.model_dump(mode="json")
    notification = Notification.from_dict({**note(kind=kind, severity=severity), "id": "x"})
    assert ChannelFilter.of(stored).accepts(kind, severity) == config.accepts(notification)


def test_retention_removes_old_finished_notifications_never_pending_ones(
    database_url: str,
) -> None:
    moment = [datetime(2026, 5, 1, 12, tzinfo=UTC)]
    store = Store(database_url, clock=lambda: moment[0])
    try:
        seed(store)
        add_channels(store)
        with store.transaction("t") as tx:
            delivered, *_ = tx.outbox.enqueue(note("delivered"))
            failed, *_ = tx.outbox.enqueue(note("failed"))
            pending, *_ = tx.outbox.enqueue(note("pending"))
            tx.outbox.mark_delivered(delivered.id)
            tx.outbox.mark_failed(failed.id, "HTTP 404")
        moment[0] += timedelta(days=29)
        with store.transaction("retention") as tx:
            assert tx.outbox.purge(timedelta(days=30)) == 0
        moment[0] += timedelta(days=2)
        with store.transaction("retention") as tx:
            assert tx.outbox.purge(timedelta(days=30)) == 2
            assert [row.id for row in tx.outbox.list_outbox()] == [pending.id]
    finally:
        store.close()

"""The outbox dispatcher against a real HTTP receiver and a real SMTP sink, on SQLite and
PostgreSQL: delivered once, retried with backoff, given up on permanent errors, and resent
with the same id after a crash between sending and recording."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from rollwise.controller import DeliveryPolicy, OutboxDispatcher
from rollwise.notifiers import EVENT_ID_HEADER, Notification, default_registry
from rollwise.store import OutboxRecord, Store

from .._support.clock import FakeClock
from ..notifiers._receivers import HttpReceiver, Reply, SmtpSink
from ._support import Harness, at_step_start, canary_spec, start_rollout, traffic

POLICY = DeliveryPolicy(backoff_seconds=10, max_backoff_seconds=600, max_attempts=4)


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as running:
        yield running


@pytest.fixture
def dispatcher(seeded: Store, clock: FakeClock) -> Iterator[OutboxDispatcher]:
    dispatching = OutboxDispatcher(seeded, policy=POLICY, clock=clock)
    try:
        yield dispatching
    finally:
        dispatching.close()


def webhook(store: Store, receiver: HttpReceiver, name: str = "hooks") -> None:
    config = {"type": "webhook", "name": name, "url": receiver.url, "secret": "s" * 16}
    with store.transaction("admin") as tx:
        tx.channels.create(name, config)


def queue_test(store: Store, channel: str) -> OutboxRecord:
    with store.transaction("admin") as tx:
        return tx.channels.queue_test_notification(channel)


def outbox_row(store: Store, outbox_id: str) -> OutboxRecord:
    with store.transaction("read") as tx:
        return tx.outbox.get(outbox_id)


def test_a_failed_delivery_is_retried_after_backoff_with_the_same_event_id(
    seeded: Store, clock: FakeClock, receiver: HttpReceiver, dispatcher: OutboxDispatcher
) -> None:
    webhook(seeded, receiver)
    queued = queue_test(seeded, "hooks")
    receiver.reply_with(Reply(500, b"oops"), Reply(502, b"bad gateway"))

    [first] = dispatcher.dispatch_once()
    assert (first.status, first.attempts) == ("retry", 1)
    assert first.next_attempt_at == clock.now + timedelta(seconds=10)
    assert "500" in (first.error or "")
    assert dispatcher.dispatch_once() == []  # not due yet

    clock.advance(seconds=10)
    [second] = dispatcher.dispatch_once()
    assert second.status == "retry"
    assert second.next_attempt_at == clock.now + timedelta(seconds=20)  # doubled

    clock.advance(seconds=20)
    [third] = dispatcher.dispatch_once()
    assert (third.status, third.attempts) == ("delivered", 3)
    row = outbox_row(seeded, queued.id)
    assert (row.status, row.attempts, row.delivered_at) == ("delivered", 3, clock.now)
    ids = {request.headers[EVENT_ID_HEADER.lower()] for request in receiver.received}
    assert ids == {queued.id}
    assert len(receiver.received) == 3

    clock.advance(hours=1)
    assert dispatcher.dispatch_once() == []
    assert len(receiver.received) == 3


def test_a_permanent_error_is_given_up_at_once(
    seeded: Store, clock: FakeClock, receiver: HttpReceiver, dispatcher: OutboxDispatcher
) -> None:
    webhook(seeded, receiver)
    queued = queue_test(seeded, "hooks")
    receiver.reply_with(Reply(404, b"no such hook"))
    [outcome] = dispatcher.dispatch_once()
    assert outcome.status == "failed"
    row = outbox_row(seeded, queued.id)
    assert row.status == "failed"
    assert "404" in (row.last_error or "")
    clock.advance(days=1)
    assert dispatcher.dispatch_once() == []
    assert len(receiver.received) == 1


def test_retry_after_is_honoured_and_attempts_are_capped(
    seeded: Store, clock: FakeClock, receiver: HttpReceiver, dispatcher: OutboxDispatcher
) -> None:
    webhook(seeded, receiver)
    queued = queue_test(seeded, "hooks")
    receiver.reply_with(*[Reply(503, b"busy", {"Retry-After": "120"})] + [Reply(500)] * 3)
    [first] = dispatcher.dispatch_once()
    assert first.next_attempt_at == clock.now + timedelta(seconds=120)
    for _ in range(3):
        clock.advance(hours=1)
        dispatcher.dispatch_once()
    row = outbox_row(seeded, queued.id)
    assert (row.status, row.attempts) == ("failed", 4)
    assert (row.last_error or "").startswith("gave up after 4 attempts")
    assert len(receiver.received) == 4


def test_a_deleted_channel_fails_its_notifications(
    seeded: Store, receiver: HttpReceiver, dispatcher: OutboxDispatcher
) -> None:
    webhook(seeded, receiver)
    queued = queue_test(seeded, "hooks")
    with seeded.transaction("admin") as tx:
        tx.channels.delete("hooks")
    [outcome] = dispatcher.dispatch_once()
    assert outcome.status == "failed"
    assert outbox_row(seeded, queued.id).last_error == (
        "notification channel 'hooks' no longer exists"
    )
    assert receiver.received == []


def test_a_crash_between_sending_and_recording_resends_with_the_same_id(
    seeded: Store, clock: FakeClock, receiver: HttpReceiver, dispatcher: OutboxDispatcher
) -> None:
    webhook(seeded, receiver)
    queued = queue_test(seeded, "hooks")
    # a dispatcher claims the row, sends it, and dies before recording the delivery
    with seeded.transaction("controller") as tx:
        [claimed] = tx.outbox.claim_due(clock.now, 10, timedelta(seconds=120))
        channel = tx.channels.get("hooks")
    notifier = default_registry().build(channel.config)
    notifier.send(Notification.from_dict(claimed.notification))
    notifier.close()

    assert dispatcher.dispatch_once() == []  # leased: nobody else sends it meanwhile
    clock.advance(seconds=121)
    [outcome] = dispatcher.dispatch_once()
    assert (outcome.status, outcome.attempts) == ("delivered", 2)
    sent = [request.headers[EVENT_ID_HEADER.lower()] for request in receiver.received]
    assert sent == [queued.id, queued.id]  # the receiver drops the duplicate by its id
    assert receiver.received[0].body == receiver.received[1].body


def email_channel(store: Store, sink: SmtpSink) -> None:
    config: dict[str, Any] = {
        "type": "email",
        "name": "oncall",
        "host": "127.0.0.1",
        "port": sink.port,
        "security": "none",
        "from": "rollwise@example.org",
        "to": ["oncall@example.org"],
    }
    with store.transaction("admin") as tx:
        tx.channels.create("oncall", config)


def test_email_through_a_real_smtp_sink_with_a_retry(
    seeded: Store, clock: FakeClock, dispatcher: OutboxDispatcher
) -> None:
    with SmtpSink(refuse_data="451 4.3.0 try again later") as sink:
        email_channel(seeded, sink)
        queued = queue_test(seeded, "oncall")
        [first] = dispatcher.dispatch_once()
        assert first.status == "retry"
        assert sink.messages == []

        sink.refuse_data = None
        clock.advance(seconds=10)
        [second] = dispatcher.dispatch_once()
        assert second.status == "delivered"
        [message] = sink.messages
        assert message.rcpt_tos == ["oncall@example.org"]
        assert queued.id in message.message["Message-ID"]
        assert outbox_row(seeded, queued.id).status == "delivered"


def test_a_rejected_recipient_is_a_permanent_failure(
    seeded: Store, dispatcher: OutboxDispatcher
) -> None:
    refusal = {"oncall@example.org": "550 5.1.1 no such user"}
    with SmtpSink(refuse_recipients=refusal) as sink:
        email_channel(seeded, sink)
        queued = queue_test(seeded, "oncall")
        [outcome] = dispatcher.dispatch_once()
        assert outcome.status == "failed"
        assert outbox_row(seeded, queued.id).status == "failed"


def test_a_rollback_reaches_the_webhook_with_its_evidence(
    harness: Harness, receiver: HttpReceiver
) -> None:
    store, clock = harness.store, harness.clock
    webhook(store, receiver)
    started = start_rollout(store, clock, canary_spec())
    traffic(store, at_step_start(started), legacy=(9000, 90), domain=(1000, 50))
    clock.advance(seconds=10)
    report = harness.controller.tick()
    assert [d.status for d in report.deliveries] == ["delivered", "delivered"]
    kinds = [(r.json()["kind"], r.json()["severity"]) for r in receiver.received]
    assert kinds == [("rollout.transition", "info"), ("rollout.transition", "critical")]
    rollback = receiver.received[1].json()
    assert rollback["title"] == "checkout: domain rolled back in production"
    assert rollback["fields"]["actor"] == "controller"
    assert rollback["fields"]["gate error_rate"].startswith("fail")
    assert rollback["evidence"]["gates"][0]["gate"] == "error_rate"

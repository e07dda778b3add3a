"""The generic webhook against a real HTTP receiver on loopback."""

from __future__ import annotations

import hashlib
import hmac
import os
from datetime import timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from rollwise.errors import RollwiseError
from rollwise.notifiers import (
    Notification,
    NotificationError,
    WebhookConfig,
    WebhookNotifier,
    default_registry,
    verify_signature,
)

from ._receivers import HttpReceiver, Reply, refused_port
from .conftest import NOW

SECRET = "a-shared-secret-of-32-characters"


def config(url: str, **overrides: Any) -> WebhookConfig:
    values: dict[str, Any] = {"name": "hooks", "url": url}
    values.update(overrides)
    return WebhookConfig(**values)


def send_and_fail(notifier: WebhookNotifier, notification: Notification) -> NotificationError:
    with pytest.raises(NotificationError) as caught:
        notifier.send(notification)
    return caught.value


def test_posts_the_notification_as_json_with_its_event_id(
    receiver: HttpReceiver, notification: Notification
) -> None:
    headers = {"Authorization": "Bearer receiver-token", "X-Team": "payments"}
    with WebhookNotifier(config(receiver.url, headers=headers)) as notifier:
        notifier.send(notification)
    [request] = receiver.received
    assert request.method == "POST"
    assert request.path == "/hook"
    body = request.json()
    assert body == {"schema_version": 1, **notification.to_dict()}
    assert list(body["fields"]) == ["step", "share", "phase", "error_rate gate", "p95 gate"]
    assert body["subject"] == {
        "flag": "checkout",
        "environment": "production",
        "rollout": "17",
        "alert_rule": None,
    }
    assert body["occurred_at"] == "2024-05-01T12:30:00Z"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-rollwise-event-id"] == notification.id
    assert request.headers["x-rollwise-event-kind"] == "rollout.transition"
    assert request.headers["authorization"] == "Bearer receiver-token"
    assert request.headers["x-team"] == "payments"
    assert request.headers["user-agent"] == "rollwise-notifier"
    assert "x-rollwise-signature" not in request.headers


def test_a_retry_is_the_same_request_so_receivers_can_deduplicate(
    receiver: HttpReceiver, notification: Notification
) -> None:
    with WebhookNotifier(config(receiver.url, secret=SECRET)) as notifier:
        notifier.send(notification)
        notifier.send(Notification.from_dict(notification.to_dict()))
    first, second = receiver.received
    assert first.body == second.body
    assert first.headers["x-rollwise-event-id"] == second.headers["x-rollwise-event-id"]
    assert first.headers["x-rollwise-signature"] == second.headers["x-rollwise-signature"]


def test_the_signature_is_hmac_sha256_of_the_exact_body(
    receiver: HttpReceiver, notification: Notification
) -> None:
    with WebhookNotifier(config(receiver.url, secret=SECRET)) as notifier:
        notifier.send(notification)
    [request] = receiver.received
    signature = request.headers["x-rollwise-signature"]
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert signature == f"sha256={expected}"
    assert verify_signature(SECRET, request.body, signature)
    assert not verify_signature(SECRET, request.body + b" ", signature)
    assert not verify_signature("another-secret-of-enough-length", request.body, signature)
    assert not verify_signature(SECRET, request.body, None)


@pytest.mark.parametrize(
    ("reply", "retryable"),
    [
        (Reply(500, b"database is down"), True),
        (Reply(502, b"bad gateway"), True),
        (Reply(503, b""), True),
        (Reply(408, b"request timeout"), True),
        (Reply(429, b"slow down"), True),
        (Reply(400, b"unknown field 'evidence'"), False),
        (Reply(401, b"bad token"), False),
        (Reply(404, b"no such hook"), False),
        (Reply(410, b"gone"), False),
        (Reply(301, b"", {"Location": "https://new.example/hook"}), False),
    ],
)
def test_status_codes_are_classified_retryable_or_permanent(
    receiver: HttpReceiver, notification: Notification, reply: Reply, retryable: bool
) -> None:
    receiver.reply_with(reply)
    with WebhookNotifier(config(receiver.url)) as notifier:
        error = send_and_fail(notifier, notification)
    assert isinstance(error, RollwiseError)
    assert error.retryable is retryable
    assert error.status == reply.status
    assert error.channel == "hooks"
    assert error.notification_id == notification.id
    assert error.details["retryable"] is retryable
    assert error.message.startswith(f"hooks: {receiver.origin} answered {reply.status}")
    if reply.body:
        assert reply.body.decode() in error.message
    if reply.status == 301:
        assert "https://new.example/hook" in error.message


def test_a_huge_error_answer_is_quoted_briefly_and_not_read_whole(
    receiver: HttpReceiver, notification: Notification
) -> None:
    receiver.reply_with(Reply(500, b"E" * (8 * 1024 * 1024)))
    with WebhookNotifier(config(receiver.url)) as notifier:
        error = send_and_fail(notifier, notification)
        notifier.send(notification)  # a fresh connection replaces the abandoned one
    assert error.retryable
    assert error.details["response"] == "E" * 300
    assert len(receiver.received) == 2


def test_429_carries_the_receivers_retry_after(
    receiver: HttpReceiver, notification: Notification
) -> None:
    receiver.reply_with(Reply(429, b"rate limited", {"Retry-After": "7"}))
    with WebhookNotifier(config(receiver.url)) as notifier:
        error = send_and_fail(notifier, notification)
    assert error.retryable
    assert error.retry_after == 7.0


def test_an_unreadable_retry_after_is_no_hint(
    receiver: HttpReceiver, notification: Notification
) -> None:
    receiver.reply_with(Reply(429, b"", {"Retry-After": "soon"}))
    with WebhookNotifier(config(receiver.url)) as notifier:
        error = send_and_fail(notifier, notification)
    assert error.retryable
    assert error.retry_after is None


def test_retry_after_as_an_http_date_is_read_against_the_injected_clock(
    receiver: HttpReceiver, notification: Notification
) -> None:
    later = format_datetime(NOW + timedelta(seconds=30), usegmt=True)
    receiver.reply_with(Reply(503, b"maintenance", {"Retry-After": later}))
    with WebhookNotifier(config(receiver.url), clock=NOW.timestamp) as notifier:
        error = send_and_fail(notifier, notification)
    assert error.retryable
    assert error.retry_after == 30.0


def test_a_receiver_slower_than_the_timeout_is_a_retryable_failure(
    receiver: HttpReceiver, notification: Notification
) -> None:
    receiver.reply_with(Reply(hold=True))
    with WebhookNotifier(config(receiver.url, timeout=0.3)) as notifier:
        error = send_and_fail(notifier, notification)
    assert error.retryable
    assert error.status is None
    assert "did not answer within 0.3s" in error.message
    assert len(receiver.received) == 1  # it arrived; the answer did not


def test_a_refused_connection_is_a_retryable_failure(notification: Notification) -> None:
    with refused_port() as port, WebhookNotifier(config(f"http://127.0.0.1:{port}/x")) as notifier:
        error = send_and_fail(notifier, notification)
    assert error.retryable
    assert f"cannot reach http://127.0.0.1:{port}" in error.message


def test_after_a_failure_the_next_send_goes_through(
    receiver: HttpReceiver, notification: Notification
) -> None:
    receiver.reply_with(Reply(500), Reply(hold=False))
    with WebhookNotifier(config(receiver.url)) as notifier:
        send_and_fail(notifier, notification)
        notifier.send(notification)
    assert len(receiver.received) == 2


class CountingTransport(httpx.HTTPTransport):
    """A real transport that counts what goes through it, to show injection works."""

    def __init__(self) -> None:
        super().__init__()
        self.requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return super().handle_request(request)


def test_the_registry_injects_the_transport(
    receiver: HttpReceiver, notification: Notification
) -> None:
    transport = CountingTransport()
    registry = default_registry(http_transport=transport)
    for name in ("first", "second"):
        notifier = registry.build({"type": "webhook", "name": name, "url": receiver.url})
        try:
            notifier.send(notification)
        finally:
            notifier.close()  # leaves the shared transport usable for the next one
    transport.close()
    assert transport.requests == 2
    assert len(receiver.received) == 2
    assert receiver.received[0].headers["user-agent"] == "rollwise-notifier"


def test_a_borrowed_client_is_left_open_and_a_closed_notifier_refuses_work(
    receiver: HttpReceiver, notification: Notification
) -> None:
    with httpx.Client() as shared:
        notifier = WebhookNotifier(config(receiver.url), client=shared)
        notifier.send(notification)
        assert receiver.received[0].headers["user-agent"] == "rollwise-notifier"
        notifier.close()
        assert not shared.is_closed
        with pytest.raises(RuntimeError, match="closed"):
            notifier.send(notification)
    owned = WebhookNotifier(config(receiver.url))
    owned.send(notification)
    owned.close()
    with pytest.raises(RuntimeError, match="closed"):
        owned.send(notification)


def test_a_forked_child_sends_on_its_own_connection(
    receiver: HttpReceiver, notification: Notification
) -> None:
    with WebhookNotifier(config(receiver.url)) as notifier:
        notifier.send(notification)  # the parent's pooled connection now exists
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            code = 1
            try:
                notifier.send(notification)
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        notifier.send(notification)  # the parent's connection still works
    assert len(receiver.received) == 3

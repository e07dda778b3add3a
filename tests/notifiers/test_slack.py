"""The Slack-compatible notifier: payload shapes, escaping, and a real receiver."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rollwise.notifiers import Notification, NotificationError, SlackConfig, SlackNotifier
from rollwise.notifiers.slack import slack_payload

from ._receivers import HttpReceiver, Reply


def config(url: str = "https://hooks.slack.com/services/T0/B0/SECRET", **extra: Any) -> SlackConfig:
    return SlackConfig(name="ops-chat", url=url, **extra)


def all_text(payload: Any) -> Iterator[str]:
    """Every string Slack parses as mrkdwn, however deep (plain_text objects are not)."""
    if isinstance(payload, str):
        yield payload
    elif isinstance(payload, dict) and payload.get("type") != "plain_text":
        for value in payload.values():
            yield from all_text(value)
    elif isinstance(payload, list):
        for value in payload:
            yield from all_text(value)


def test_attachments_carry_title_colour_fields_in_order_and_links(
    receiver: HttpReceiver, notification: Notification
) -> None:
    settings = config(receiver.url, channel="#deploys", username="rollwise")
    with SlackNotifier(settings) as notifier:
        notifier.send(notification)
    [request] = receiver.received
    assert request.headers["content-type"] == "application/json"
    payload = request.json()
    assert payload["text"] == ":rotating_light: [CRITICAL] checkout rolled back in production"
    assert payload["channel"] == "#deploys"
    assert payload["username"] == "rollwise"
    [attachment] = payload["attachments"]
    assert attachment["color"] == "#d0021b"
    assert attachment["title"] == "checkout rolled back in production"
    assert attachment["title_link"] == "https://rollwise.example/rollouts/17"
    assert attachment["text"].startswith("error rate 5.1% vs 1.0% on the baseline")
    assert "<https://rollwise.example/rollouts/17|rollout>" in attachment["text"]
    fields = [(field["title"], field["value"]) for field in attachment["fields"]]
    assert fields == [
        ("flag", "checkout"),
        ("environment", "production"),
        ("rollout", "17"),
        ("step", "2"),
        ("share", "25%"),
        ("phase", "progressing → rolled_back"),
        ("error_rate gate", "failed"),
        ("p95 gate", "passed"),
    ]
    assert attachment["fallback"].startswith("[CRITICAL] checkout rolled back")
    assert notification.id in attachment["footer"]
    assert attachment["ts"] == int(notification.occurred_at.timestamp())
    assert "evidence" not in json.dumps(payload).lower()


def test_blocks_style_is_block_kit_within_its_limits(
    notification_factory: Callable[..., Notification],
) -> None:
    many = {f"gate {index}": "passed" for index in range(200)}
    notification = notification_factory(fields=many, severity="warning")
    payload = slack_payload(notification, config(style="blocks"))
    blocks = payload["blocks"]
    assert payload["text"].startswith("[WARNING] checkout rolled back")
    assert blocks[0] == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": ":warning: checkout rolled back in production",
            "emoji": True,
        },
    }
    assert blocks[1]["text"]["text"].startswith("error rate 5.1%")
    field_sections = [block for block in blocks if "fields" in block]
    assert all(1 <= len(block["fields"]) <= 10 for block in field_sections)
    texts = [field["text"] for block in field_sections for field in block["fields"]]
    assert texts[:3] == ["*flag*\ncheckout", "*environment*\nproduction", "*rollout*\n17"]
    assert texts[3] == "*gate 0*\npassed"
    assert texts[-1].endswith("more fields in the webhook body")
    assert len(blocks) <= 50
    assert blocks[-1]["type"] == "context"
    assert notification.id in blocks[-1]["elements"][0]["text"]
    assert "attachments" not in payload


@pytest.mark.parametrize("style", ["attachments", "blocks"])
def test_notification_text_cannot_inject_mentions_or_links(
    notification_factory: Callable[..., Notification], style: str
) -> None:
    notification = notification_factory(
        title="flag <!channel> & co",
        summary="see <https://evil.example|your bank> now <@U123>",
        fields={"<!here>": "<!everyone>"},
    )
    payload = slack_payload(notification, config(style=style))
    for text in all_text(payload):
        assert "<!" not in text
        assert "<@" not in text
        assert "<https://evil" not in text
    joined = " ".join(all_text(payload))
    assert "&lt;@U123&gt;" in joined
    assert "&lt;!here&gt;" in joined


def test_a_receiver_error_is_classified_and_the_url_stays_secret(
    receiver: HttpReceiver, notification: Notification
) -> None:
    secret_url = receiver.url + "/T0/B0/very-secret-token"
    receiver.reply_with(Reply(404, b"no_service"))
    with SlackNotifier(config(secret_url)) as notifier, pytest.raises(NotificationError) as caught:
        notifier.send(notification)
    error = caught.value
    assert not error.retryable
    assert error.status == 404
    assert "no_service" in error.message
    assert "very-secret-token" not in str(error)
    assert "very-secret-token" not in json.dumps(error.details, default=str)
    assert "very-secret-token" not in repr(config(secret_url))
    assert receiver.received[0].path == "/hook/T0/B0/very-secret-token"


def test_rate_limiting_is_retryable_with_the_receivers_hint(
    receiver: HttpReceiver, notification: Notification
) -> None:
    receiver.reply_with(Reply(429, b"rate_limited", {"Retry-After": "30"}))
    with (
        SlackNotifier(config(receiver.url)) as notifier,
        pytest.raises(NotificationError) as caught,
    ):
        notifier.send(notification)
    assert caught.value.retryable
    assert caught.value.retry_after == 30.0


def test_a_minimal_notification_renders_in_both_styles(
    notification_factory: Callable[..., Notification],
) -> None:
    bare = notification_factory(
        summary="", subject={}, fields={}, evidence=None, links={}, severity="info"
    )
    attachments = slack_payload(bare, config())
    assert attachments["attachments"][0]["fields"] == []
    assert attachments["attachments"][0]["color"] == "#2b7bb9"
    assert "title_link" not in attachments["attachments"][0]
    blocks = slack_payload(bare, config(style="blocks"))["blocks"]
    assert [block["type"] for block in blocks] == ["header", "context"]

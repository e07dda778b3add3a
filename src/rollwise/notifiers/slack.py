"""Slack-compatible incoming webhooks (Slack, Mattermost, Rocket.Chat).

Two message styles. ``attachments`` (the default) is a colour-barred attachment with title,
summary, one field per subject part and notification field, links and a footer: Slack,
Mattermost and Rocket.Chat all render it. ``blocks`` is Slack's Block Kit (header,
summary, field sections, links, context); other receivers show only its ``text`` fallback.
Text from notifications is escaped (``&``, ``<``, ``>``), so a flag name cannot smuggle in
an ``@channel`` mention or a link. The evidence is not sent: it belongs in a webhook.

The webhook URL is a credential and is kept as a secret: it never appears in reprs, errors
or logs (errors name the receiver's origin only).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import SecretStr, field_validator

from ._config import ChannelConfigBase, Timeout, check_http_url
from ._http import HttpNotifier
from ._render import format_time, format_value, headline
from .base import Notification, Severity

__all__ = ["SlackConfig", "SlackNotifier", "slack_payload"]

COLORS = {Severity.INFO: "#2b7bb9", Severity.WARNING: "#e8a317", Severity.CRITICAL: "#d0021b"}
EMOJI = {
    Severity.INFO: ":information_source:",
    Severity.WARNING: ":warning:",
    Severity.CRITICAL: ":rotating_light:",
}
MAX_FIELDS = 40  # Block Kit allows 50 blocks of at most 10 fields; leave room for the rest.
_HEADER_LIMIT = 150
_TEXT_LIMIT = 3000
_FIELD_LIMIT = 1900
_SHORT_FIELD = 40  # longer values get a full-width column


class SlackConfig(ChannelConfigBase):
    """``type: slack``: an incoming-webhook URL and how the message should look."""

    type: Literal["slack"] = "slack"
    url: SecretStr
    style: Literal["attachments", "blocks"] = "attachments"
    channel: str | None = None
    username: str | None = None
    icon_emoji: str | None = None
    icon_url: str | None = None
    timeout: Timeout = 10.0

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: SecretStr) -> SecretStr:
        check_http_url(value.get_secret_value())
        return value

    @field_validator("icon_url")
    @classmethod
    def _check_icon_url(cls, value: str | None) -> str | None:
        return None if value is None else check_http_url(value)


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: the three characters that start entities, links, mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _facts(notification: Notification) -> list[tuple[str, str]]:
    facts = list(notification.subject.parts())
    facts += [(key, format_value(value)) for key, value in notification.fields.items()]
    if len(facts) > MAX_FIELDS:
        hidden = len(facts) - MAX_FIELDS + 1
        facts = [*facts[: MAX_FIELDS - 1], ("…", f"{hidden} more fields in the webhook body")]
    return facts


def _links(notification: Notification) -> str:
    # URLs were validated as http(s) without whitespace; '|' and '>' would end the link.
    return " · ".join(
        f"<{url.replace('>', '%3E').replace('|', '%7C')}|{escape(label)}>"
        for label, url in notification.links.items()
    )


def _fallback(notification: Notification) -> str:
    text = headline(notification)
    if notification.summary:
        text += f"\n{notification.summary}"
    return escape(text)


def _attachments(notification: Notification) -> dict[str, Any]:
    body = escape(notification.summary)
    links = _links(notification)
    if links:
        body = f"{body}\n{links}" if body else links
    attachment: dict[str, Any] = {
        "fallback": _fallback(notification),
        "color": COLORS[notification.severity],
        "title": escape(notification.title),
        "text": _cut(body, _TEXT_LIMIT),
        "fields": [
            {
                "title": escape(label),
                "value": escape(_cut(value, _FIELD_LIMIT)),
                "short": len(value) <= _SHORT_FIELD,
            }
            for label, value in _facts(notification)
        ],
        "footer": escape(f"rollwise · {notification.kind} · {notification.id}"),
        "ts": int(notification.occurred_at.timestamp()),
        "mrkdwn_in": ["text", "fields"],
    }
    if notification.links:
        attachment["title_link"] = next(iter(notification.links.values()))
    return {
        "text": f"{EMOJI[notification.severity]} {escape(headline(notification))}",
        "attachments": [attachment],
    }


def _blocks(notification: Notification) -> dict[str, Any]:
    header = f"{EMOJI[notification.severity]} {notification.title}"
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _cut(header, _HEADER_LIMIT), "emoji": True},
        }
    ]
    if notification.summary:
        summary = _cut(escape(notification.summary), _TEXT_LIMIT)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": summary}})
    facts = [
        {"type": "mrkdwn", "text": f"*{escape(label)}*\n{escape(_cut(value, _FIELD_LIMIT))}"}
        for label, value in _facts(notification)
    ]
    for start in range(0, len(facts), 10):
        blocks.append({"type": "section", "fields": facts[start : start + 10]})
    links = _links(notification)
    if links:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": links}})
    context = " · ".join(
        (
            notification.severity.value.upper(),
            notification.kind,
            format_time(notification.occurred_at),
            f"id {notification.id}",
        )
    )
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": escape(context)}]})
    return {"text": _fallback(notification), "blocks": blocks}


def slack_payload(notification: Notification, config: SlackConfig) -> dict[str, Any]:
    """The JSON object POSTed to the incoming webhook."""
    payload = _blocks(notification) if config.style == "blocks" else _attachments(notification)
    for key in ("channel", "username", "icon_emoji", "icon_url"):
        value = getattr(config, key)
        if value is not None:
            payload[key] = value
    return payload


class SlackNotifier(HttpNotifier[SlackConfig]):
    """Posts each notification to a Slack-compatible incoming webhook. Thread-safe."""

    def send(self, notification: Notification) -> None:
        body = json.dumps(slack_payload(notification, self.config), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        self._poster.post(self.config.url.get_secret_value(), body, headers, notification.id)

"""Notifiers: deliver rollout transitions and alert changes to people and systems.

One :class:`Notifier` per channel, built from a typed config through a
:class:`NotifierRegistry`::

    registry = default_registry()
    config = registry.parse({"type": "slack", "name": "ops", "url": "https://hooks..."})
    notifier = registry.build(config)
    if config.accepts(notification):
        notifier.send(notification)       # or NotificationError(retryable=...)
    notifier.close()

Backends: ``webhook`` (signed JSON POST), ``slack`` (Slack, Mattermost, Rocket.Chat),
``email`` (SMTP), ``nop``. Notifiers send once and never retry: retries, backoff and
exactly-once bookkeeping belong to the outbox dispatcher in ``rollwise.controller``.
See docs/notifications.md.
"""

from ._config import ChannelConfigBase
from .base import Kind, Notification, NotificationError, Notifier, Severity, Subject
from .email import EmailConfig, EmailNotifier
from .nop import NopConfig, NopNotifier
from .registry import ChannelConfig, NotifierRegistry, build_notifier, default_registry
from .slack import SlackConfig, SlackNotifier
from .webhook import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    WebhookConfig,
    WebhookNotifier,
    sign_body,
    verify_signature,
)

__all__ = [
    "EVENT_ID_HEADER",
    "SIGNATURE_HEADER",
    "ChannelConfig",
    "ChannelConfigBase",
    "EmailConfig",
    "EmailNotifier",
    "Kind",
    "NopConfig",
    "NopNotifier",
    "Notification",
    "NotificationError",
    "Notifier",
    "NotifierRegistry",
    "Severity",
    "SlackConfig",
    "SlackNotifier",
    "Subject",
    "WebhookConfig",
    "WebhookNotifier",
    "build_notifier",
    "default_registry",
    "sign_body",
    "verify_signature",
]

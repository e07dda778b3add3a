"""Channel configs by type name, and the factories that turn them into notifiers.

A :class:`NotifierRegistry` is a plain object: build one with :func:`default_registry`
(webhook, slack, email, nop), add your own types with ``register``, and pass it to
whatever builds notifiers. There is no process-wide registry to mutate.

``parse`` turns untrusted data (YAML, JSON, API input) into a typed config and reports
every problem as a :class:`~rollwise.errors.ConfigError` naming the field and the reason;
``build`` does that and calls the type's factory.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

import httpx
from pydantic import Field

from .._registry import TypedRegistry
from ..errors import ConfigError, ConfigIssue, field_path
from ._config import ChannelConfigBase
from .base import Notifier
from .email import EmailConfig, EmailNotifier
from .nop import NopConfig, NopNotifier
from .slack import SlackConfig, SlackNotifier
from .webhook import WebhookConfig, WebhookNotifier

__all__ = [
    "ChannelConfig",
    "NotifierRegistry",
    "build_notifier",
    "default_registry",
]

ChannelConfig = Annotated[
    WebhookConfig | SlackConfig | EmailConfig | NopConfig, Field(discriminator="type")
]
"""The built-in channel configs as one pydantic type, for embedding in larger models."""


class NotifierRegistry(TypedRegistry[ChannelConfigBase, Notifier]):
    """Notifier types by name: each a config model and a factory from config to notifier."""

    def __init__(self) -> None:
        super().__init__(ChannelConfigBase, "notifier")

    def parse_all(
        self, items: Sequence[Mapping[str, Any] | ChannelConfigBase], *, path: str = "channels"
    ) -> list[ChannelConfigBase]:
        """Several channels at once: every problem of every channel, and unique names."""
        configs: list[ChannelConfigBase] = []
        issues: list[ConfigIssue] = []
        seen: set[str] = set()
        for index, item in enumerate(items):
            try:
                config = self.parse(item, path=field_path(path, [index]))
            except ConfigError as error:
                issues += error.issues
                continue
            if config.name in seen:
                where = field_path(path, [index, "name"])
                issues.append(ConfigIssue(None, where, f"duplicate channel name {config.name!r}"))
            seen.add(config.name)
            configs.append(config)
        if issues:
            raise ConfigError(issues)
        return configs


def default_registry(
    *,
    http_transport: httpx.BaseTransport | None = None,
    http_client: httpx.Client | None = None,
    ssl_context: ssl.SSLContext | None = None,
    clock: Callable[[], datetime] | None = None,
) -> NotifierRegistry:
    """A new registry with the built-in types, their dependencies injected.

    ``http_transport`` or ``http_client`` go to the webhook and Slack notifiers (a shared
    client is borrowed, never closed by them); ``ssl_context`` to e-mail; ``clock`` to all.
    """
    now = clock or (lambda: datetime.now(UTC))

    def timestamp() -> float:
        return now().timestamp()

    def webhook(config: WebhookConfig) -> Notifier:
        return WebhookNotifier(
            config, transport=http_transport, client=http_client, clock=timestamp
        )

    def slack(config: SlackConfig) -> Notifier:
        return SlackNotifier(config, transport=http_transport, client=http_client, clock=timestamp)

    def email(config: EmailConfig) -> Notifier:
        return EmailNotifier(config, ssl_context=ssl_context, clock=now)

    registry = NotifierRegistry()
    registry.register("webhook", webhook, WebhookConfig)
    registry.register("slack", slack, SlackConfig)
    registry.register("email", email, EmailConfig)
    registry.register("nop", NopNotifier, NopConfig)
    return registry


def build_notifier(
    config: Mapping[str, Any] | ChannelConfigBase, registry: NotifierRegistry | None = None
) -> Notifier:
    """The notifier for one channel config, from ``registry`` (default: the built-ins)."""
    return (registry or default_registry()).build(config)

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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar, get_args

import httpx
from pydantic import Field, ValidationError

from ..errors import ConfigError, ConfigIssue
from ._config import ChannelConfigBase, issues_from, join_path
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

C = TypeVar("C", bound=ChannelConfigBase)

ChannelConfig = Annotated[
    WebhookConfig | SlackConfig | EmailConfig | NopConfig, Field(discriminator="type")
]
"""The built-in channel configs as one pydantic type, for embedding in larger models."""


@dataclass(frozen=True, slots=True)
class _Entry:
    config_model: type[ChannelConfigBase]
    factory: Callable[[Any], Notifier]


class NotifierRegistry:
    """Notifier types by name: each a config model and a factory from config to notifier."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}

    def register(
        self,
        type_name: str,
        factory: Callable[[C], Notifier],
        config_model: type[C],
        *,
        replace: bool = False,
    ) -> None:
        """Add a type. ``config_model.type`` must be ``Literal[type_name]``."""
        field = config_model.model_fields.get("type")
        if field is None or get_args(field.annotation) != (type_name,):
            raise ValueError(
                f"{config_model.__name__}.type must be Literal[{type_name!r}] to register it"
            )
        if type_name in self._entries and not replace:
            raise ValueError(f"notifier type {type_name!r} is already registered")
        self._entries[type_name] = _Entry(config_model, factory)

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(sorted(self._entries))

    def __contains__(self, type_name: object) -> bool:
        return type_name in self._entries

    def parse(
        self, data: Mapping[str, Any] | ChannelConfigBase, *, path: str = ""
    ) -> ChannelConfigBase:
        """A typed config from ``data``, or a ConfigError naming each bad field."""
        if isinstance(data, ChannelConfigBase):
            entry = self._entries.get(data.type)
            if entry is None or not isinstance(data, entry.config_model):
                raise ConfigError.single(None, join_path(path, ["type"]), self._unknown(data.type))
            return data
        if not isinstance(data, Mapping):
            kind = type(data).__name__
            raise ConfigError.single(None, path, f"expected a mapping, got {kind}")
        type_name = data.get("type")
        if type_name is None:
            reason = f"required: one of {', '.join(self.types)}"
            raise ConfigError.single(None, join_path(path, ["type"]), reason)
        entry = self._entries.get(type_name) if isinstance(type_name, str) else None
        if entry is None:
            raise ConfigError.single(None, join_path(path, ["type"]), self._unknown(type_name))
        try:
            return entry.config_model.model_validate(data)
        except ValidationError as error:
            raise ConfigError(issues_from(error, path)) from None

    def parse_all(
        self, items: Sequence[Mapping[str, Any] | ChannelConfigBase], *, path: str = "channels"
    ) -> list[ChannelConfigBase]:
        """Several channels at once: every problem of every channel, and unique names."""
        configs: list[ChannelConfigBase] = []
        issues: list[ConfigIssue] = []
        seen: set[str] = set()
        for index, item in enumerate(items):
            try:
                config = self.parse(item, path=join_path(path, [index]))
            except ConfigError as error:
                issues += error.issues
                continue
            if config.name in seen:
                where = join_path(path, [index, "name"])
                issues.append(ConfigIssue(None, where, f"duplicate channel name {config.name!r}"))
            seen.add(config.name)
            configs.append(config)
        if issues:
            raise ConfigError(issues)
        return configs

    def build(self, config: Mapping[str, Any] | ChannelConfigBase) -> Notifier:
        """The notifier for ``config`` (validated first if it is raw data)."""
        parsed = self.parse(config)
        return self._entries[parsed.type].factory(parsed)

    def _unknown(self, type_name: object) -> str:
        return f"unknown notifier type {type_name!r}; known types: {', '.join(self.types)}"


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

"""Channel configs and the registry: typed parsing, clear errors, extension, filtering."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import TypeAdapter

from rollwise.errors import ConfigError
from rollwise.notifiers import (
    ChannelConfig,
    ChannelConfigBase,
    EmailConfig,
    EmailNotifier,
    NopConfig,
    NopNotifier,
    Notification,
    NotifierRegistry,
    SlackConfig,
    SlackNotifier,
    WebhookConfig,
    WebhookNotifier,
    build_notifier,
    default_registry,
)

WEBHOOK = {"type": "webhook", "name": "hooks", "url": "https://hooks.example/rollwise"}
SLACK = {"type": "slack", "name": "ops-chat", "url": "https://hooks.slack.com/services/T/B/X"}
EMAIL = {
    "type": "email",
    "name": "ops-mail",
    "host": "smtp.example.org",
    "from": "rollwise@example.org",
    "to": ["ops@example.org"],
}
NOP = {"type": "nop", "name": "quiet"}


def test_the_default_registry_knows_the_built_in_types() -> None:
    assert default_registry().types == ("email", "nop", "slack", "webhook")


@pytest.mark.parametrize(
    ("data", "config_type", "notifier_type"),
    [
        (WEBHOOK, WebhookConfig, WebhookNotifier),
        (SLACK, SlackConfig, SlackNotifier),
        (EMAIL, EmailConfig, EmailNotifier),
        (NOP, NopConfig, NopNotifier),
    ],
)
def test_each_type_parses_and_builds(
    data: dict[str, Any], config_type: type[Any], notifier_type: type[Any]
) -> None:
    registry = default_registry()
    config = registry.parse(data)
    assert type(config) is config_type
    assert config.name == data["name"]
    notifier = registry.build(config)
    assert type(notifier) is notifier_type
    notifier.close()
    built = build_notifier(data)
    assert type(built) is notifier_type
    built.close()
    assert type(TypeAdapter(ChannelConfig).validate_python(data)) is config_type


def test_the_nop_notifier_accepts_everything(notification: Notification) -> None:
    notifier = build_notifier(NOP)
    notifier.send(notification)
    notifier.close()


@pytest.mark.parametrize(
    ("data", "path", "reason"),
    [
        ({"name": "x"}, "type", "required: one of email, nop, slack, webhook"),
        ({**NOP, "type": "pagerduty"}, "type", "unknown notifier type 'pagerduty'"),
        ({**NOP, "type": 3}, "type", "unknown notifier type 3"),
        ({"type": "webhook", "name": "x"}, "url", "Field required"),
        ({**WEBHOOK, "url": "ftp://files.example/x"}, "url", "must be an http:// or https://"),
        ({**WEBHOOK, "url": "hooks.example/x"}, "url", "must be an http:// or https://"),
        ({**WEBHOOK, "timeout": 0}, "timeout", "greater than 0"),
        ({**WEBHOOK, "timeout": 1000}, "timeout", "less than or equal to 300"),
        ({**WEBHOOK, "headers": {"X-Rollwise-Event-Id": "1"}}, "headers", "set by rollwise"),
        ({**WEBHOOK, "headers": {"Content-Type": "text/plain"}}, "headers", "set by rollwise"),
        ({**WEBHOOK, "headers": {"Bad Name": "v"}}, "headers", "not a valid HTTP header name"),
        ({**WEBHOOK, "headers": {"X-A": "v\r\nX-B: w"}}, "headers", "line breaks"),
        ({**WEBHOOK, "headers": {"X-Team": "東京"}}, "headers", "printable ASCII"),
        ({**WEBHOOK, "secret": "short"}, "secret", "at least 16 characters"),
        ({**WEBHOOK, "urll": "https://x"}, "urll", "Extra inputs are not permitted"),
        ({**SLACK, "name": "ops chat!"}, "name", "should match pattern"),
        ({**SLACK, "style": "cards"}, "style", "'attachments' or 'blocks'"),
        ({**SLACK, "min_severity": "urgent"}, "min_severity", "'info', 'warning' or 'critical'"),
        ({**SLACK, "kinds": []}, "kinds", "at least one pattern"),
        ({k: v for k, v in EMAIL.items() if k != "from"}, "from", "Field required"),
        ({**EMAIL, "to": []}, "to", "at least 1 item"),
        ({**EMAIL, "to": ["not-an-address"]}, "to", "is not an e-mail address"),
        ({**EMAIL, "to": ["a@example.org, b@example.org"]}, "to", "one address per entry"),
        ({**EMAIL, "from": "rollwise@example.org\nBcc: x@y.org"}, "from", "line breaks"),
        ({**EMAIL, "port": 70000}, "port", "less than or equal to 65535"),
        ({**EMAIL, "security": "tls"}, "security", "'starttls', 'ssl' or 'none'"),
        ({**EMAIL, "username": "bot"}, "", "give both 'username' and 'password'"),
        (
            {**EMAIL, "security": "none", "username": "bot", "password": "pw"},
            "",
            "logging in needs security 'starttls' or 'ssl'",
        ),
        ({**EMAIL, "ca_file": "/nonexistent/ca.pem"}, "ca_file", "is not a readable file"),
    ],
)
def test_invalid_configs_name_the_field_and_the_reason(
    data: dict[str, Any], path: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        default_registry().parse(data)
    issue = caught.value.issues[0]
    assert issue.path == path
    assert reason in issue.reason
    assert reason in str(caught.value)
    assert caught.value.details["issues"][0]["path"] == path


def test_every_problem_is_reported_with_its_position() -> None:
    items: list[dict[str, Any]] = [
        {**WEBHOOK, "url": "mailto:x", "timeout": -1},
        {"type": "teams", "name": "t"},
        NOP,
        {**NOP, "kinds": ["alert.*"]},
    ]
    with pytest.raises(ConfigError) as caught:
        default_registry().parse_all(items)
    assert [issue.path for issue in caught.value.issues] == [
        "channels.0.url",
        "channels.0.timeout",
        "channels.1.type",
        "channels.3.name",
    ]
    assert "duplicate channel name 'quiet'" in caught.value.issues[-1].reason


def test_secrets_do_not_appear_in_errors_or_reprs() -> None:
    with pytest.raises(ConfigError) as caught:
        default_registry().parse({**SLACK, "url": "hooks.slack.com/services/T/B/TOPSECRET"})
    assert "TOPSECRET" not in str(caught.value)
    assert "TOPSECRET" not in repr(caught.value.details)
    with pytest.raises(ConfigError) as caught:
        default_registry().parse({**EMAIL, "username": "bot", "password": 12345678})
    assert "12345678" not in str(caught.value)
    parsed = default_registry().parse(
        {**WEBHOOK, "secret": "TOPSECRET-0123456789", "url": "https://h.example/TOPSECRET"}
    )
    assert "TOPSECRET-0123456789" not in repr(parsed)


def test_parse_and_parse_all_accept_typed_configs() -> None:
    registry = default_registry()
    typed = WebhookConfig(name="hooks", url="https://hooks.example/x")
    assert registry.parse(typed) is typed
    assert registry.parse_all([typed, NOP])[0] is typed
    with pytest.raises(ConfigError, match="expected a mapping, got list"):
        registry.parse([1, 2])  # type: ignore[arg-type]


class MemoryConfig(ChannelConfigBase):
    type: Literal["memory"] = "memory"
    capacity: int = 10


class MemoryNotifier:
    def __init__(self, config: MemoryConfig) -> None:
        self.config = config
        self.sent: list[Notification] = []

    def send(self, notification: Notification) -> None:
        self.sent.append(notification)

    def close(self) -> None:
        pass


def test_a_registry_is_extended_with_new_types_without_touching_others(
    notification: Notification,
) -> None:
    registry = default_registry()
    registry.register("memory", MemoryNotifier, MemoryConfig)
    notifier = registry.build({"type": "memory", "name": "mem", "capacity": 3})
    assert isinstance(notifier, MemoryNotifier)
    assert notifier.config.capacity == 3
    notifier.send(notification)
    assert notifier.sent == [notification]
    assert "memory" in registry
    assert "memory" not in default_registry()
    with pytest.raises(ConfigError) as caught:
        registry.parse({"type": "memory", "name": "mem", "capacity": "lots"})
    assert caught.value.path == "capacity"


def test_register_refuses_duplicates_and_mismatched_models() -> None:
    registry = default_registry()
    with pytest.raises(ValueError, match="already registered"):
        registry.register("nop", NopNotifier, NopConfig)
    registry.register("nop", NopNotifier, NopConfig, replace=True)
    with pytest.raises(ValueError, match=r"MemoryConfig.type must be Literal\['other'\]"):
        registry.register("other", MemoryNotifier, MemoryConfig)
    empty = NotifierRegistry()
    assert empty.types == ()
    with pytest.raises(ConfigError, match="unknown notifier type 'nop'"):
        empty.build(NopConfig(name="quiet"))


def test_a_channel_accepts_notifications_by_kind_pattern_and_severity(
    notification_factory: Callable[..., Notification],
) -> None:
    config = default_registry().parse({**NOP, "kinds": ["alert.*"], "min_severity": "warning"})
    assert config.accepts(notification_factory(kind="alert.firing", severity="warning"))
    assert config.accepts(notification_factory(kind="alert.resolved", severity="critical"))
    assert not config.accepts(notification_factory(kind="alert.resolved", severity="info"))
    assert not config.accepts(notification_factory(kind="rollout.transition"))
    everything = default_registry().parse(NOP)
    assert everything.accepts(notification_factory(kind="rollout.transition", severity="info"))


def test_an_unreadable_ca_file_is_a_config_error(tmp_path: Path) -> None:
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate")
    with pytest.raises(ConfigError) as caught:
        build_notifier({**EMAIL, "ca_file": str(bogus)})
    assert caught.value.path == "ca_file"
    assert "cannot load certificates" in caught.value.reason

"""``rollwise channels list|create|test``: where notifications go."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import typer

from ..core.state_document import REFERENCE
from ._common import EXIT_USAGE, JSON, TOKEN, URL, fail, load_mapping, plane, say, show_list

__all__ = ["group"]

group = typer.Typer(help="Notification channels (webhook, slack, email).", no_args_is_help=True)
FIELDS = typer.Option(
    None,
    "--set",
    help="A config field, KEY=VALUE (JSON values allowed; '${VAR}' reads the environment)",
)
FILE = typer.Option(None, "--file", "-f", help="The config as YAML/JSON")


@group.command("list")
def list_(url: str = URL, token: str = TOKEN, as_json: bool = JSON) -> None:
    """Every channel (secrets masked)."""
    with plane(url, token) as client:
        items = client.get("/api/v1/notification-channels")
    show_list(
        items,
        as_json,
        ("name", "type", "enabled", "kinds", "min severity", "version"),
        lambda c: (
            c["name"],
            c["type"],
            "yes" if c["enabled"] else "no",
            ", ".join(c["config"].get("kinds") or []),
            c["config"].get("min_severity"),
            c["version"],
        ),
        "no channels",
    )


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _expand(value: Any) -> Any:
    """``${NAME}`` from this shell's environment (secrets stay out of files and history)."""
    if isinstance(value, str):
        missing = [m.group(1) for m in REFERENCE.finditer(value) if m.group(1) not in os.environ]
        if missing:
            fail(f"environment variable {missing[0]} is not set", EXIT_USAGE)
        return REFERENCE.sub(lambda m: os.environ[m.group(1)], value)
    if isinstance(value, dict):
        return {k: _expand(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v) for v in value]
    return value


@group.command()
def create(
    name: str = typer.Argument(..., help="The channel's name"),
    type_: str = typer.Option(None, "--type", help="webhook, slack or email"),
    field: list[str] = FIELDS,
    file: Path = FILE,
    disabled: bool = typer.Option(False, "--disabled", help="Create it switched off"),
    url: str = URL,
    token: str = TOKEN,
    as_json: bool = JSON,
) -> None:
    """Create a channel; write secrets as '${VAR}' (single-quoted) to read them from env."""
    config: dict[str, Any] = {} if file is None else load_mapping(file, "the config's fields")
    for item in field or []:
        key, sep, value = item.partition("=")
        if not sep:
            fail(f"--set {item!r}: write KEY=VALUE", EXIT_USAGE)
        config[key.strip()] = _value(value)
    if type_:
        config["type"] = type_
    config["name"] = name
    with plane(url, token) as client:
        created = client.post(
            "/api/v1/notification-channels", {"config": _expand(config), "enabled": not disabled}
        )
    say(created, as_json, f"created {created['type']} channel {created['name']}")


@group.command("test")
def send_test(
    name: str = typer.Argument(..., help="The channel's name"),
    url: str = URL,
    token: str = TOKEN,
    as_json: bool = JSON,
) -> None:
    """Queue a test notification for the channel (the controller delivers it)."""
    with plane(url, token) as client:
        queued = client.post(f"/api/v1/notification-channels/{name}/test")
    ids = ", ".join(str(item.get("id")) for item in queued)
    say(
        queued,
        as_json,
        f"queued a test notification for {name} (outbox {ids}); see `rollwise audit`",
    )

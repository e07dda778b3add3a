"""``rollwise env list|create|show``: environments (staging, production, ...)."""

from __future__ import annotations

import typer

from ._common import JSON, TOKEN, URL, plane, show_fields, show_list, when

__all__ = ["group"]

group = typer.Typer(help="Environments: list, create, show.", no_args_is_help=True)
KEY = typer.Argument(..., help="The environment's key, e.g. production")


@group.command("list")
def list_(url: str = URL, token: str = TOKEN, as_json: bool = JSON) -> None:
    """Every environment."""
    with plane(url, token) as client:
        items = client.get("/api/v1/environments")
    show_list(
        items,
        as_json,
        ("key", "name", "production", "version", "updated"),
        lambda e: (e["key"], e["name"], e["production"], e["version"], when(e["updated_at"])),
        "no environments",
    )


@group.command()
def create(
    key: str = KEY,
    name: str = typer.Option("", "--name", help="A name for people"),
    description: str = typer.Option("", "--description"),
    production: bool = typer.Option(
        False, "--production", help="Mark it production: its SDKs refuse unsigned overrides"
    ),
    url: str = URL,
    token: str = TOKEN,
    as_json: bool = JSON,
) -> None:
    """Create an environment."""
    body = {"key": key, "name": name, "description": description, "production": production}
    with plane(url, token) as client:
        created = client.post("/api/v1/environments", body)
    _show(created, as_json)


@group.command()
def show(key: str = KEY, url: str = URL, token: str = TOKEN, as_json: bool = JSON) -> None:
    """One environment."""
    with plane(url, token) as client:
        record = client.get(f"/api/v1/environments/{key}")
    _show(record, as_json)


def _show(record: dict[str, object], as_json: bool) -> None:
    fields = [
        (name, record.get(name)) for name in ("key", "name", "description", "production", "version")
    ]
    fields += [("created", when(str(record.get("created_at") or "")))]
    fields += [("updated", when(str(record.get("updated_at") or "")))]
    show_fields(dict(record), as_json, fields)

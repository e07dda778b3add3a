"""``rollwise tokens list|create|revoke`` (admin): API and SDK tokens."""

from __future__ import annotations

import typer

from ._common import JSON, TOKEN, URL, plane, print_json, say, show_list, when

__all__ = ["group"]

group = typer.Typer(help="API and SDK tokens (admin token needed).", no_args_is_help=True)


@group.command("list")
def list_(url: str = URL, token: str = TOKEN, as_json: bool = JSON) -> None:
    """Every token (never its secret)."""
    with plane(url, token) as client:
        items = client.get("/api/v1/tokens")
    show_list(
        items,
        as_json,
        ("id", "name", "scope", "environment", "revoked", "created", "last used"),
        lambda t: (
            t["id"],
            t["name"],
            t["scope"],
            t["environment"],
            "revoked" if t["revoked"] else "",
            when(t["created_at"]),
            when(t["last_used_at"]),
        ),
        "no tokens",
    )


@group.command()
def create(
    name: str = typer.Argument(..., help="A name the audit log will show"),
    scope: str = typer.Option(..., "--scope", help="admin, write, read or sdk"),
    env: str = typer.Option(
        None, "--env", "--environment", help="The environment (sdk tokens are bound to one)"
    ),
    url: str = URL,
    token: str = TOKEN,
    as_json: bool = JSON,
) -> None:
    """Create a token; its secret is printed once, now."""
    body = {"name": name, "scope": scope, "environment": env}
    with plane(url, token) as client:
        created = client.post("/api/v1/tokens", {k: v for k, v in body.items() if v is not None})
    if as_json:
        print_json(created)
        return
    record = created["token"]
    typer.echo(f"created token {record['id']} ({record['scope']}); its secret, shown once:")
    typer.echo(created["secret"])


@group.command()
def revoke(
    token_id: str = typer.Argument(..., help="The token's id (`tokens list`)"),
    url: str = URL,
    token: str = TOKEN,
    as_json: bool = JSON,
) -> None:
    """Revoke a token: refused from now on."""
    with plane(url, token) as client:
        record = client.post(f"/api/v1/tokens/{token_id}/revoke")
    say(record, as_json, f"revoked token {record['id']} ({record['name']})")

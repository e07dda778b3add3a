"""``rollwise login`` / ``logout`` / ``whoami``: which control plane, as whom."""

from __future__ import annotations

import os

import typer

from ._common import (
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    JSON,
    TOKEN,
    URL,
    console,
    fail,
    plane,
    print_json,
    table,
)
from ._http import ControlPlane, ControlPlaneError, resolve
from ._login import Login, config_path, forget, save_login

__all__ = ["login", "logout", "whoami"]


def login(
    url: str = typer.Argument(..., help="The control plane, e.g. https://rollwise.example.com"),
    token: str = typer.Option(
        None, "--token", help="API token (env ROLLWISE_TOKEN; asked for when neither is set)"
    ),
) -> None:
    """Check URL and token against the control plane, then keep them in a 0600 file."""
    secret = token or os.environ.get("ROLLWISE_TOKEN") or typer.prompt("token", hide_input=True)
    base = url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        fail(f"{url!r}: expected http://... or https://...", EXIT_USAGE)
    client = ControlPlane(base, secret)
    try:
        who = client.get("/api/v1/whoami")
    except ControlPlaneError as error:
        fail(f"not logged in: {error.message}", EXIT_UNAVAILABLE)
    finally:
        client.close()
    path = save_login(Login(base, secret))
    typer.echo(f"logged in to {base} as {who['name']} ({who['scope']}); saved in {path}")


def logout() -> None:
    """Forget the saved URL and token."""
    path = config_path()
    if forget():
        typer.echo(f"logged out (removed {path})")
    else:
        typer.echo("not logged in")


def whoami(url: str = URL, token: str = TOKEN, as_json: bool = JSON) -> None:
    """The control plane this shell talks to and the token's name, scope and environment."""
    base, _ = resolve(url, token)
    with plane(url, token) as client:
        who = client.get("/api/v1/whoami")
    who = {"url": base, **who}
    if as_json:
        print_json(who)
        return
    rows = [(k, who.get(k)) for k in ("url", "name", "scope", "environment", "actor", "id")]
    console().print(table(("field", "value"), rows))

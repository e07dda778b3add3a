"""``rollwise releases list`` and ``rollwise rollback``: the release history of an environment,
and all traffic back to the previous good release at once (see docs/releases.md).

Exit codes are those of every resource command (cli/_common.py): 0 done; 1 not found or
refused (no earlier good release); 2 usage; 3 the control plane unreachable or failing.
"""

from __future__ import annotations

from typing import Any

import typer

from ._common import JSON, TOKEN, URL, plane, print_json, show_list, when

__all__ = ["group", "rollback"]

group = typer.Typer(help="The release history of an environment.", no_args_is_help=True)

ENV = typer.Option(..., "--env", "-e", help="The environment (e.g. production)")
FLAG = typer.Option(None, "--flag", help="The release flag (default: every / the newest)")


def _row(item: dict[str, Any]) -> list[Any]:
    return [
        item["id"],
        item["version"],
        item["outcome"],
        item["flag"],
        (item.get("commit") or "")[:12],
        item["deployed_by"],
        when(item["deployed_at"]),
        item.get("rollout_id"),
    ]


@group.command("list")
def list_releases(
    environment: str = ENV,
    flag: str | None = FLAG,
    limit: int = typer.Option(20, "--limit", min=1, max=1000, help="How many, newest first"),
    url: str | None = URL,
    token: str | None = TOKEN,
    as_json: bool = JSON,
) -> None:
    """The releases deployed to an environment, newest first, with their outcomes."""
    with plane(url, token) as client:
        data = client.get(
            "/api/v1/releases", {"environment": environment, "flag": flag, "limit": limit}
        )
    show_list(
        data,
        as_json,
        ("ID", "VERSION", "OUTCOME", "FLAG", "COMMIT", "DEPLOYED BY", "DEPLOYED AT", "ROLLOUT"),
        _row,
        f"no release in {environment}",
    )


def rollback(
    environment: str = ENV,
    flag: str | None = FLAG,
    reason: str | None = typer.Option(None, "--reason", "-r", help="Why: kept in the audit"),
    url: str | None = URL,
    token: str | None = TOKEN,
    as_json: bool = JSON,
) -> None:
    """Send all traffic back to the previous good release at once (a running release
    rollout is aborted first); audited and notified."""
    body = {"environment": environment, "flag": flag, "reason": reason}
    with plane(url, token) as client:
        data = client.post("/api/v1/releases/rollback", {k: v for k, v in body.items() if v})
    if as_json:
        print_json(data)
        return
    left, restored = data["from_release"], data["to_release"]
    line = (
        f"rolled back {left['flag']} in {environment}: {left['version']} → "
        f"{restored['version']} (all traffic)"
    )
    if data.get("aborted_rollout_id") is not None:
        line += f"; rollout {data['aborted_rollout_id']} aborted"
    typer.echo(line)

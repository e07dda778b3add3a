"""``rollwise audit``: who changed what, when, from what to what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import typer

from ..core.durations import parse_duration
from ..core.state_document import field_changes
from ._common import EXIT_USAGE, JSON, TOKEN, URL, console, fail, plane, print_json, table, when

__all__ = ["audit"]


def _since(text: str) -> str:
    """``1h`` / ``2d`` (ago) or an ISO timestamp."""
    try:
        return (datetime.now(UTC) - timedelta(seconds=parse_duration(text))).isoformat()
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--since {text!r}: write a duration (90m, 2d) or a timestamp", EXIT_USAGE)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def _summary(row: dict[str, Any]) -> str:
    changes = field_changes(row.get("before") or {}, row.get("after") or {})
    shown = [c for c in changes if c.path not in ("version", "updated_at", "state.version")]
    text = "; ".join(f"{c.path}: {c.before!r} → {c.after!r}" for c in shown[:6])
    if len(shown) > 6:
        text += f"; … {len(shown) - 6} more"
    return text


def audit(
    since: str = typer.Option(None, "--since", help="Since a time ago (2h, 7d) or a timestamp"),
    actor: str = typer.Option(None, "--actor", help="Only this actor (token:name:id, controller)"),
    resource: str = typer.Option(
        None, "--resource", help="TYPE or TYPE:KEY, e.g. flag or flag:checkout"
    ),
    env: str = typer.Option(None, "--env", "--environment", help="Only this environment"),
    action: str = typer.Option(None, "--action", help="e.g. flag.kill"),
    limit: int = typer.Option(100, "--limit", min=1, max=1000),
    url: str = URL,
    token: str = TOKEN,
    as_json: bool = JSON,
) -> None:
    """The audit log, newest first."""
    params: dict[str, Any] = {"actor": actor, "environment": env, "action": action, "limit": limit}
    if since:
        params["since"] = _since(since)
    if resource:
        kind, _, key = resource.partition(":")
        params["target_type"] = kind
        params["target"] = key or None
    with plane(url, token) as client:
        rows = client.get("/api/v1/audit", params)
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo("no audit entries")
        return
    console().print(
        table(
            ("at", "actor", "action", "resource", "environment", "changes"),
            [
                (
                    when(r["at"]),
                    r["actor"],
                    r["action"],
                    f"{r['target_type']}:{r['target']}",
                    r["environment"],
                    _summary(r),
                )
                for r in rows
            ],
        )
    )

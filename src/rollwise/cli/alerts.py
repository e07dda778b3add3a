"""``rollwise alerts list|show|create|disable``: alert rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ._common import JSON, TOKEN, URL, load_mapping, plane, say, show_fields, show_list, when

__all__ = ["group"]

group = typer.Typer(
    help="Alert rules: a metric condition held for a duration.", no_args_is_help=True
)
NAME = typer.Argument(..., help="The rule's name")
FILE = typer.Option(None, "--file", "-f", help="The rule as YAML/JSON (the API's fields)")


def _condition(rule: dict[str, Any]) -> str:
    scope = rule["flag"] or "all flags"
    if rule.get("variant"):
        scope += f"/{rule['variant']}"
    return f"{rule['metric']} {rule['comparison']} {rule['threshold']:g} ({scope})"


@group.command("list")
def list_(
    env: str = typer.Option(None, "--env", "--environment", help="Only this environment"),
    flag: str = typer.Option(None, "--flag", help="Only rules on this flag"),
    state: str = typer.Option(None, "--state", help="inactive, pending, firing or resolved"),
    url: str = URL,
    token: str = TOKEN,
    as_json: bool = JSON,
) -> None:
    """Alert rules and where each stands."""
    with plane(url, token) as client:
        items = client.get(
            "/api/v1/alert-rules", {"environment": env, "flag": flag, "state": state}
        )
    show_list(
        items,
        as_json,
        ("name", "environment", "condition", "for", "severity", "enabled", "state", "since"),
        lambda r: (
            r["name"],
            r["environment"],
            _condition(r),
            f"{r['for']:g}s",
            r["severity"],
            "yes" if r["enabled"] else "no",
            r["state"],
            when(r["state_since"]),
        ),
        "no alert rules",
    )


@group.command()
def show(name: str = NAME, url: str = URL, token: str = TOKEN, as_json: bool = JSON) -> None:
    """One rule: its condition, its state and what it last saw."""
    with plane(url, token) as client:
        rule = client.get(f"/api/v1/alert-rules/{name}")
    fields = [
        ("name", rule["name"]),
        ("environment", rule["environment"]),
        ("condition", _condition(rule)),
        ("window", f"{rule['window']:g}s"),
        ("for", f"{rule['for']:g}s"),
        ("min samples", rule["min_samples"]),
        ("severity", rule["severity"]),
        ("enabled", rule["enabled"]),
        ("state", f"{rule['state']} since {when(rule['state_since'])}"),
        ("last value", rule["last_value"]),
        ("last reason", rule.get("last_reason")),
        ("description", rule["description"]),
        ("version", rule["version"]),
    ]
    show_fields(rule, as_json, fields)


@group.command()
def create(
    name: str = NAME,
    file: Path = FILE,
    env: str = typer.Option(None, "--env", "--environment"),
    metric: str = typer.Option(None, "--metric", help="error_rate, latency_p95, ..."),
    comparison: str = typer.Option(None, "--comparison", help="above, below, increase_above"),
    threshold: float = typer.Option(None, "--threshold"),
    window: str = typer.Option(None, "--window", help="e.g. 5m"),
    for_: str = typer.Option(None, "--for", help="Held this long before firing, e.g. 2m"),
    flag: str = typer.Option(None, "--flag"),
    variant: str = typer.Option(None, "--variant"),
    baseline: str = typer.Option(None, "--baseline"),
    min_samples: int = typer.Option(None, "--min-samples"),
    severity: str = typer.Option(None, "--severity", help="info, warning, critical"),
    query: str = typer.Option(None, "--query", help="For the custom metric"),
    description: str = typer.Option(None, "--description"),
    url: str = URL,
    token: str = TOKEN,
    as_json: bool = JSON,
) -> None:
    """Create an alert rule from options and/or a file (options win)."""
    body: dict[str, Any] = {} if file is None else load_mapping(file, "the rule's fields")
    options = {
        "environment": env,
        "metric": metric,
        "comparison": comparison,
        "threshold": threshold,
        "window": window,
        "for": for_,
        "flag": flag,
        "variant": variant,
        "baseline": baseline,
        "min_samples": min_samples,
        "severity": severity,
        "query": query,
        "description": description,
    }
    body.update({k: v for k, v in options.items() if v is not None})
    body["name"] = name
    with plane(url, token) as client:
        rule = client.post("/api/v1/alert-rules", body)
    say(rule, as_json, f"created alert rule {rule['name']}: {_condition(rule)}")


@group.command()
def disable(
    name: str = NAME,
    enable: bool = typer.Option(False, "--enable", help="Enable it again instead"),
    url: str = URL,
    token: str = TOKEN,
    as_json: bool = JSON,
) -> None:
    """Stop evaluating a rule (a firing alert resolves); --enable turns it back on."""
    with plane(url, token) as client:
        version = client.get(f"/api/v1/alert-rules/{name}")["version"]
        rule = client.patch(f"/api/v1/alert-rules/{name}", {"enabled": enable, "version": version})
    say(rule, as_json, f"alert rule {rule['name']} {'enabled' if rule['enabled'] else 'disabled'}")

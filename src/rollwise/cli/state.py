"""``rollwise apply`` / ``export`` / ``schema``: the control plane's state as a file.

``apply -f rollwise.yaml`` sends the file and the values of the ``${VARIABLE}``
references it makes (from this shell's environment) to ``POST /api/v1/state/plan``,
prints the difference, then applies it with ``POST /api/v1/state/apply`` in one
transaction. ``--dry-run`` stops after the difference: exit 1 when there is one (drift),
0 when none. A file with problems prints each, ``path: reason``, and exits 2.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import typer

from ..core.state_document import StateDocument, variable_references
from ._common import (
    EXIT_FAILED,
    JSON,
    TOKEN,
    URL,
    client_for,
    exit_code_of,
    load_mapping,
    print_json,
    say,
)
from ._http import ControlPlaneError

__all__ = ["apply", "export", "schema"]

OUTPUT = typer.Option(None, "--output", "-o", help="Write here instead of stdout")


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def render_changes(changes: list[dict[str, Any]]) -> list[str]:
    """A plan as lines a person reads: ``+`` create, ``~`` update, each field below."""
    lines = []
    for change in changes:
        sign = "+" if change["action"] == "create" else "~"
        kind = change["kind"].replace("_", " ")
        where = change.get("environment")
        suffix = f" in {where}" if where and change["kind"] in ("flag_state", "alert") else ""
        lines.append(f"{sign} {change['action']} {kind} {change['key']}{suffix}")
        for field in change.get("fields") or []:
            if change["action"] == "create":
                lines.append(f"    {field['path']}: {_value(field['after'])}")
            else:
                before, after = _value(field["before"]), _value(field["after"])
                lines.append(f"    {field['path']}: {before} → {after}")
    return lines


def _issues(error: ControlPlaneError) -> list[str]:
    details = error.details.get("server_details") or {}
    issues = details.get("issues") if isinstance(details, dict) else None
    if not issues:
        return [error.message]
    return [f"{i.get('path') or '(file)'}: {i.get('reason')}" for i in issues]


def apply(
    file: str = typer.Option(..., "--file", "-f", help="The state file, YAML or JSON ('-': stdin)"),
    env: str = typer.Option(
        None, "--env", "--environment", help="Apply only this environment's part"
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Only print the difference; exit 1 when there is one"
    ),
    url: str = URL,
    token: str = TOKEN,
    as_json: bool = JSON,
) -> None:
    """Make the control plane match the file (idempotent, one transaction, nothing deleted)."""
    document = load_mapping(file, "sections (environments, flags, ...)")
    names = {name for _, name in variable_references(document)}
    variables = {name: os.environ[name] for name in sorted(names) if name in os.environ}
    body = {"document": document, "variables": variables, "environment": env}
    client = client_for(url, token, timeout=60.0)
    try:
        plan = client.post("/api/v1/state/plan", body)
        changes = plan["changes"]
        if dry_run or not changes:
            _report(changes, as_json, applied=False)
            raise typer.Exit(EXIT_FAILED if dry_run and changes else 0)
        if not as_json:
            for line in render_changes(changes):
                typer.echo(line)
        result = client.post("/api/v1/state/apply", body)
    except ControlPlaneError as error:
        for line in _issues(error):
            typer.echo(f"rollwise: {line}", err=True)
        raise typer.Exit(exit_code_of(error)) from None
    finally:
        client.close()
    say(result, as_json, f"applied {len(result['changes'])} change(s)")


def _report(changes: list[dict[str, Any]], as_json: bool, *, applied: bool) -> None:
    if as_json:
        print_json({"changes": changes, "applied": applied})
    elif not changes:
        typer.echo("no changes: the control plane matches the file")
    else:
        for line in render_changes(changes):
            typer.echo(line)
        typer.echo(f"{len(changes)} change(s) to apply")


def export(
    output: Path = OUTPUT,
    env: str = typer.Option(None, "--env", "--environment", help="Only this environment"),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of YAML"),
    url: str = URL,
    token: str = TOKEN,
) -> None:
    """The current state as a file for `apply` (secrets as ${VARIABLE} references)."""
    import yaml

    from ._common import plane

    with plane(url, token) as client:
        data = client.get("/api/v1/state/export", {"environment": env})
    if as_json:
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
    names = sorted({name for _, name in variable_references(data)})
    if names:
        typer.echo(f"rollwise: set {', '.join(names)} before applying this file", err=True)


def schema() -> None:
    """The JSON Schema of the state file (for editors: yaml-language-server, VS Code)."""
    document = StateDocument.model_json_schema(by_alias=True)
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "rollwise state file (rollwise apply)"
    print_json(document)

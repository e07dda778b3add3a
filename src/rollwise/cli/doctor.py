"""``rollwise doctor``: is what runs what the control plane says? (read-only, over HTTP)

Asks ``GET /api/v1/monitoring/doctor`` and prints each finding: what disagrees and the
fix (docs/doctor.md). Exit codes: 0 healthy, 1 problems found, 3 the control plane could
not be asked (unreachable, a bad token, an unknown environment).

Registered on the ``rollwise`` app by :func:`register` (``cli/_app.py``).
"""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from ._http import ControlPlane, ControlPlaneError, resolve

__all__ = ["EXIT_ERROR", "EXIT_HEALTHY", "EXIT_PROBLEMS", "doctor", "register"]

EXIT_HEALTHY, EXIT_PROBLEMS, EXIT_ERROR = 0, 1, 3
_STYLE = {"error": "bold red", "warning": "yellow"}


def doctor(
    env: str = typer.Option(
        None, "--env", "--environment", help="One environment (default: every one)"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the API's JSON report"),
    url: str = typer.Option(
        None, "--url", help="Control plane (env ROLLWISE_URL; default http://127.0.0.1:8000)"
    ),
    token: str = typer.Option(None, "--token", help="API token (env ROLLWISE_TOKEN)"),
) -> None:
    """Check that the fleet, rollouts, outbox, controller and database agree with the
    control plane; print each problem with its fix. Exit 0 healthy, 1 problems, 3 error."""
    base, secret = resolve(url, token)
    try:
        with ControlPlane(base, secret) as plane:
            report = plane.get("/api/v1/monitoring/doctor", {"environment": env})
    except ControlPlaneError as error:
        typer.echo(f"rollwise: error: {error.message}", err=True)
        raise typer.Exit(EXIT_ERROR) from None
    if as_json:
        typer.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        _print(Console(highlight=False, soft_wrap=True), report)
    raise typer.Exit(EXIT_HEALTHY if report.get("status") == "healthy" else EXIT_PROBLEMS)


def register(app: typer.Typer) -> None:
    """Add ``doctor`` to ``app`` (the ``rollwise`` command)."""
    app.command("doctor")(doctor)


def _print(console: Console, report: dict[str, Any]) -> None:
    findings: list[dict[str, Any]] = report.get("findings", [])
    environments = ", ".join(report.get("environments", [])) or "no environment"
    checks = len(report.get("checks", []))
    if not findings:
        console.print(
            f"[green]healthy[/]: {checks} checks over {escape(environments)}, nothing to fix."
        )
        return
    for finding in findings:
        severity = str(finding.get("severity", "warning"))
        where = finding.get("environment") or "control plane"
        console.print(
            f"[{_STYLE.get(severity, 'yellow')}]{severity.upper()}[/] "
            f"[bold]{escape(str(finding.get('code')))}[/] "
            f"({escape(str(where))}: {escape(str(finding.get('subject')))})"
        )
        console.print(f"  {escape(str(finding.get('message')))}")
        console.print(f"  [bold]fix:[/] {escape(str(finding.get('fix')))}")
        console.print()
    errors = sum(1 for f in findings if f.get("severity") == "error")
    warnings = len(findings) - errors
    console.print(
        f"[bold]{len(findings)} problem(s)[/] ({errors} error(s), {warnings} warning(s)) "
        f"in {escape(environments)}; docs/doctor.md explains each."
    )

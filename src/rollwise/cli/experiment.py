"""``rollwise experiment list|show|create|start|stop|results``: A/B/n tests from a terminal.

The definition is validated by the control plane (one source of the rules); a file with
errors prints every one by its field. ``results`` shows the sample-ratio check before any
number, because a mismatch makes every lift below it untrustworthy.
"""

from __future__ import annotations

from typing import Any

import typer

from ..core.durations import format_duration
from ..core.flags import BUCKETS
from ._common import (
    EXIT_USAGE,
    JSON,
    TOKEN,
    URL,
    client_for,
    console,
    exit_code_of,
    fail,
    plane,
    print_json,
    show_list,
    table,
    when,
)
from ._experiment_results import finite, print_results
from ._http import ControlPlaneError

__all__ = ["group"]

group = typer.Typer(
    help="Experiments: A/B/n tests on a flag's split, their results and decisions.",
    no_args_is_help=True,
)
KEY = typer.Argument(..., help="The experiment's key")


def _arms_text(arms: dict[str, int]) -> str:
    return ", ".join(f"{arm} {weight * 100 / BUCKETS:g}%" for arm, weight in arms.items())


def _decision_text(decision: dict[str, Any] | None) -> str:
    if not decision:
        return ""
    text = str(decision["kind"])
    if decision.get("arm"):
        text += f" {decision['arm']}"
    if decision.get("reason"):
        text += f" ({decision['reason']})"
    return text


def _duration(seconds: Any) -> str | None:
    """``604800.0`` as ``1w`` (the API gives seconds)."""
    if not finite(seconds) or seconds < 0:
        return None
    return format_duration(float(seconds))


def _issue_lines(error: ControlPlaneError) -> list[str]:
    """Every invalid field the server named (ConfigError issues or request errors)."""
    details = error.details.get("server_details") or {}
    if isinstance(details, dict):
        if issues := details.get("issues"):
            return [f"{i.get('path') or '(definition)'}: {i.get('reason')}" for i in issues]
        if errors := details.get("errors"):
            return [
                f"{e.get('path') or e.get('loc')}: {e.get('message') or e.get('msg')}"
                for e in errors
            ]
    return [error.message]


def _load(file: str) -> Any:
    import yaml

    try:
        if file == "-":
            text = typer.get_text_stream("stdin").read()
        else:
            with open(file, encoding="utf-8") as handle:
                text = handle.read()
        return yaml.safe_load(text)
    except OSError as error:
        fail(f"cannot read {file}: {error.strerror or error}", EXIT_USAGE)
    except yaml.YAMLError as error:
        fail(f"{file} is not valid YAML: {' '.join(str(error).split())}", EXIT_USAGE)


@group.command("list")
def list_(
    env: str = typer.Option(None, "--env", "--environment", help="Only this environment"),
    state: str = typer.Option(None, "--state", help="Only draft, running or stopped"),
    url: str = URL,
    token: str = TOKEN,
    as_json: bool = JSON,
) -> None:
    """Experiments: all, or those of one environment or state."""
    if state is not None and state not in ("draft", "running", "stopped"):
        fail(f"--state {state!r}: expected draft, running or stopped", EXIT_USAGE)
    with plane(url, token) as client:
        items = client.get("/api/v1/experiments", {"environment": env, "state": state})
    show_list(
        items,
        as_json,
        ("key", "flag", "environment", "state", "arms", "started", "decision"),
        lambda e: (
            e["key"],
            e["flag"],
            e["environment"],
            e["state"],
            _arms_text(e["definition"]["arms"]),
            when(e.get("started_at")) if e.get("started_at") else None,
            _decision_text(e.get("decision")),
        ),
        "no experiments",
    )


def _metric_rows(definition: dict[str, Any]) -> list[tuple[Any, ...]]:
    rows = []
    for role, name in (
        ("primary", "primary"),
        ("secondary", "secondary"),
        ("guardrail", "guardrails"),
    ):
        for m in definition.get(name) or []:
            source = m.get("event") or f"sql ({m.get('connection_env')})"
            event = source + (f" / {m['denominator_event']}" if m.get("denominator_event") else "")
            extra = [
                f"capped at {m['capping']:g}" if m.get("capping") is not None else "",
                "CUPED" if m.get("cuped") else "",
                f"threshold {m['threshold'] * 100:g}%" if m.get("threshold") is not None else "",
            ]
            rows.append(
                (
                    m["key"],
                    role,
                    m["kind"],
                    event,
                    f"{m.get('direction', 'higher')} is better",
                    ", ".join(e for e in extra if e),
                )
            )
    return rows


@group.command()
def show(key: str = KEY, url: str = URL, token: str = TOKEN, as_json: bool = JSON) -> None:
    """An experiment: its definition, state, decision and metrics."""
    with plane(url, token) as client:
        record = client.get(f"/api/v1/experiments/{key}")
    if as_json:
        print_json(record)
        return
    definition = record["definition"]
    out = console()
    out.print(
        table(
            ("field", "value"),
            [
                ("key", record["key"]),
                ("flag", record["flag"]),
                ("environment", record["environment"]),
                ("state", record["state"]),
                ("arms", _arms_text(definition["arms"])),
                ("control", definition.get("control") or next(iter(definition["arms"]))),
                ("unit", definition.get("unit") or "(the flag's)"),
                ("hypothesis", definition.get("hypothesis")),
                ("planned duration", _duration(definition.get("planned_duration"))),
                ("started", when(record.get("started_at")) if record.get("started_at") else None),
                ("stopped", when(record.get("stopped_at")) if record.get("stopped_at") else None),
                ("decision", _decision_text(record.get("decision"))),
                ("version", record["version"]),
                ("can", ", ".join(record.get("legal_actions") or [])),
            ],
        )
    )
    out.print()
    out.print(
        table(("metric", "role", "kind", "event", "direction", "options"), _metric_rows(definition))
    )


@group.command()
def create(
    file: str = typer.Option(
        ..., "--file", "-f", help="The experiment definition, YAML or JSON ('-': stdin)"
    ),
    url: str = URL,
    token: str = TOKEN,
    as_json: bool = JSON,
) -> None:
    """Create a draft experiment from a definition file (the server checks every field)."""
    definition = _load(file)
    if not isinstance(definition, dict):
        fail(f"{file}: expected a mapping (key, flag, environment, arms, primary, ...)", EXIT_USAGE)
    client = client_for(url, token)
    try:
        created = client.post("/api/v1/experiments", definition)
    except ControlPlaneError as error:
        for line in _issue_lines(error):
            typer.echo(f"rollwise: {line}", err=True)
        raise typer.Exit(exit_code_of(error)) from None
    finally:
        client.close()
    if as_json:
        print_json(created)
        return
    typer.echo(
        f"created experiment {created['key']} (draft) on flag {created['flag']} in "
        f"{created['environment']}: {_arms_text(created['definition']['arms'])}; "
        f"start it with `rollwise experiment start {created['key']}`"
    )


@group.command()
def start(key: str = KEY, url: str = URL, token: str = TOKEN, as_json: bool = JSON) -> None:
    """draft → running: the flag's split becomes the arms' weights and stays locked."""
    with plane(url, token) as client:
        record = client.post(f"/api/v1/experiments/{key}/start")
    if as_json:
        print_json(record)
        return
    typer.echo(
        f"started experiment {record['key']}: flag {record['flag']} in {record['environment']} "
        f"split {_arms_text(record['definition']['arms'])} (locked until stopped)"
    )


@group.command()
def stop(
    key: str = KEY,
    decision: str = typer.Option(
        ..., "--decision", help="ship, keep_control or inconclusive (recorded and audited)"
    ),
    arm: str = typer.Option(None, "--arm", help="The arm to ship (with --decision ship)"),
    reason: str = typer.Option("", "--reason", help="Why, for the record"),
    url: str = URL,
    token: str = TOKEN,
    as_json: bool = JSON,
) -> None:
    """running → stopped with a decision; the split is unlocked and kept as it is."""
    if decision not in ("ship", "keep_control", "inconclusive"):
        fail(f"--decision {decision!r}: expected ship, keep_control or inconclusive", EXIT_USAGE)
    if decision == "ship" and not arm:
        fail("--decision ship needs --arm (the arm to ship)", EXIT_USAGE)
    body: dict[str, Any] = {"kind": decision, "reason": reason}
    if arm:
        body["arm"] = arm
    client = client_for(url, token)
    try:
        record = client.post(f"/api/v1/experiments/{key}/stop", {"decision": body})
    except ControlPlaneError as error:
        fail("; ".join(_issue_lines(error)), exit_code_of(error))
    finally:
        client.close()
    if as_json:
        print_json(record)
        return
    typer.echo(
        f"stopped experiment {record['key']}: {_decision_text(record['decision'])}; "
        f"the split of {record['flag']} in {record['environment']} is unlocked (kept as is)"
    )


# --- results ------------------------------------------------------------------------------


@group.command()
def results(
    key: str = KEY,
    alpha: float = typer.Option(0.05, "--alpha", min=0.0001, max=0.4999, help="Significance level"),
    sequential: bool = typer.Option(
        False, "--sequential", help="Always-valid intervals and p-values (safe to peek)"
    ),
    correction: str = typer.Option(
        "holm", "--correction", help="Multiple comparisons: holm, benjamini_hochberg or none"
    ),
    bayesian: bool = typer.Option(
        False, "--bayesian", help="Show chance to win and the Bayesian interval instead of p"
    ),
    url: str = URL,
    token: str = TOKEN,
    as_json: bool = JSON,
) -> None:
    """The sample-ratio check first, then per metric each arm against control; guardrails."""
    if correction not in ("holm", "benjamini_hochberg", "none"):
        fail(f"--correction {correction!r}: expected holm, benjamini_hochberg or none", EXIT_USAGE)
    params = {"alpha": alpha, "sequential": str(sequential).lower(), "correction": correction}
    with plane(url, token) as client:
        body = client.get(f"/api/v1/experiments/{key}/results", params)
        definition = None if as_json else client.get(f"/api/v1/experiments/{key}")["definition"]
    if as_json or definition is None:
        print_json(body)
        return
    print_results(body, definition, bayesian)

"""``rollwise rollout ...``: start, watch and steer rollouts on a control plane (over HTTP).

Every command takes ``--url`` (``ROLLWISE_URL``) and ``--token`` (``ROLLWISE_TOKEN``).
Exit codes: 0 done; 3 an error (the server's message is printed: invalid spec, conflict,
unknown rollout, unreachable server). ``wait`` adds 1 (rolled back or aborted) and 2 (timed
out, or paused with ``--fail-on-pause``). Click's own usage errors exit 2. See docs/cli.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console

from ...core.durations import parse_duration
from ...errors import ConfigError
from .._common import fail, poll, print_json
from .._http import ControlPlane, ControlPlaneError, resolve
from ._spec_options import SpecOptions, with_spec_options
from ._view import history_table, list_table, print_status, progress_line

rollout = typer.Typer(
    help="Start, watch and steer rollouts on a control plane.", no_args_is_help=True
)

EXIT_OK, EXIT_FAILED, EXIT_UNFINISHED, EXIT_ERROR = 0, 1, 2, 3
URL = typer.Option(
    None, "--url", help="Control plane (env ROLLWISE_URL; default http://127.0.0.1:8000)"
)
TOKEN = typer.Option(None, "--token", help="API token (env ROLLWISE_TOKEN)")
JSON = typer.Option(False, "--json", help="Print the API's JSON instead of a table")
REASON = typer.Option(None, "--reason", "-r", help="Why: kept in the rollout's history")
ROLLOUT_ID = typer.Argument(..., help="The rollout's id")
VERSION = typer.Option(
    None, "--version", help="The version you read (default: the current one, read first)"
)


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


@contextmanager
def _plane(url: str | None, token: str | None) -> Iterator[ControlPlane]:
    """A client; API errors and invalid input end the command with exit code 3."""
    base, secret = resolve(url, token)
    client = ControlPlane(base, secret)
    try:
        yield client
    except ControlPlaneError as error:
        fail(f"error: {error.message}", EXIT_ERROR)
    except ConfigError as error:
        fail(f"invalid rollout spec: {error.message}", EXIT_ERROR)
    finally:
        client.close()


def _show(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(data)
    else:
        print_status(_console(), data)


def _create(
    url: str | None,
    token: str | None,
    spec: SpecOptions,
    *,
    start: bool,
    as_json: bool,
) -> None:
    with _plane(url, token) as plane:
        created = plane.post("/api/v1/rollouts", {**spec.build(), "start": start})
    _show(created, as_json)


@rollout.command()
@with_spec_options
def create(
    spec: SpecOptions,
    start: bool = typer.Option(False, "--start", help="Start it at once"),
    url: str = URL,
    token: str = TOKEN,
    as_json: bool = JSON,
) -> None:
    """Create a rollout from a spec file and/or options; pending unless --start."""
    _create(url, token, spec, start=start, as_json=as_json)


@rollout.command()
@with_spec_options
def start(
    rollout_id: int = typer.Argument(None, help="Start this pending rollout instead"),
    *,
    spec: SpecOptions,
    reason: str = REASON,
    url: str = URL,
    token: str = TOKEN,
    as_json: bool = JSON,
) -> None:
    """Create and start a rollout, or start the pending rollout ID.

    The spec comes from -f spec.yaml and/or --flag --env --variant --steps --gate ...
    """
    if rollout_id is not None:
        _act("start", rollout_id, None, reason, url, token, as_json)
        return
    _create(url, token, spec, start=True, as_json=as_json)


@rollout.command()
def status(
    rollout_id: int = ROLLOUT_ID,
    url: str = URL,
    token: str = TOKEN,
    as_json: bool = JSON,
) -> None:
    """Phase, step, share, the step's clock, the latest judgement, what you may do now."""
    with _plane(url, token) as plane:
        view = plane.get(f"/api/v1/rollouts/{rollout_id}")
    _show(view, as_json)


@rollout.command("list")
def list_(
    flag: str = typer.Option(None, "--flag", help="Only this flag"),
    env: str = typer.Option(None, "--env", "--environment", help="Only this environment"),
    phase: str = typer.Option(None, "--phase", help="Only this phase"),
    active: bool = typer.Option(None, "--active/--finished", help="Only active / final ones"),
    limit: int = typer.Option(50, "--limit", min=1, max=1000),
    url: str = URL,
    token: str = TOKEN,
    as_json: bool = JSON,
) -> None:
    """Rollouts, newest first."""
    params = {"flag": flag, "environment": env, "phase": phase, "limit": limit}
    if active is not None:
        params["active"] = str(active).lower()
    with _plane(url, token) as plane:
        rollouts = plane.get("/api/v1/rollouts", params)
    if as_json:
        print_json(rollouts)
    elif not rollouts:
        typer.echo("no rollouts")
    else:
        _console().print(list_table(rollouts))


@rollout.command()
def history(
    rollout_id: int = ROLLOUT_ID,
    url: str = URL,
    token: str = TOKEN,
    as_json: bool = JSON,
) -> None:
    """Every transition: when, who, from where to where, why."""
    with _plane(url, token) as plane:
        rows = plane.get(f"/api/v1/rollouts/{rollout_id}/history")
    if as_json:
        print_json(rows)
    elif not rows:
        typer.echo("no transitions yet (pending)")
    else:
        _console().print(history_table(rows))


def _act(
    action: str,
    rollout_id: int,
    version: int | None,
    reason: str | None,
    url: str | None,
    token: str | None,
    as_json: bool,
) -> None:
    with _plane(url, token) as plane:
        if version is None:
            version = plane.get(f"/api/v1/rollouts/{rollout_id}")["version"]
        body: dict[str, Any] = {"version": version}
        if reason:
            body["reason"] = reason
        view = plane.post(f"/api/v1/rollouts/{rollout_id}/{action}", body)
    _show(view, as_json)


def _action_command(action: str, summary: str) -> Callable[..., None]:
    def command(
        rollout_id: int = ROLLOUT_ID,
        version: int = VERSION,
        reason: str = REASON,
        url: str = URL,
        token: str = TOKEN,
        as_json: bool = JSON,
    ) -> None:
        _act(action, rollout_id, version, reason, url, token, as_json)

    command.__doc__ = summary
    return command


for _name, _summary in (
    ("pause", "Hold the rollout at its step; the controller leaves it alone until resumed."),
    ("resume", "Continue a paused rollout (the step's bake starts again)."),
    ("promote", "Skip the remaining steps: everyone on the new variant."),
    ("abort", "Stop: everyone back on the baseline."),
    ("retry", "After a rollback or an abort: start again from the first step."),
):
    rollout.command(_name)(_action_command(_name, _summary))


@rollout.command()
def wait(
    rollout_id: int = ROLLOUT_ID,
    timeout: str = typer.Option("30m", "--timeout", help="Give up after (e.g. 90s, 30m, 2h)"),
    interval: str = typer.Option("5s", "--interval", help="Time between two looks"),
    fail_on_pause: bool = typer.Option(
        False, "--fail-on-pause", help="Exit 2 as soon as the rollout is paused"
    ),
    url: str = URL,
    token: str = TOKEN,
    as_json: bool = JSON,
) -> None:
    """Wait for the rollout's verdict, printing its progress (for CI).

    Exit codes: 0 succeeded; 1 rolled back or aborted; 2 timed out, or paused with
    --fail-on-pause; 3 error. A paused rollout is waited for (a person may resume it).
    """
    try:
        limit, every = parse_duration(timeout), parse_duration(interval)
    except ValueError as error:
        fail(f"invalid duration: {error}", EXIT_ERROR)
    deadline = time.monotonic() + limit
    last: tuple[Any, ...] | None = None
    with _plane(url, token) as plane:
        while True:
            view = poll(lambda: plane.get(f"/api/v1/rollouts/{rollout_id}"), deadline)
            if view is None:
                typer.echo(f"timed out after {timeout}: the control plane did not answer")
                raise typer.Exit(EXIT_UNFINISHED)
            judgement = view.get("judgement") or {}
            seen = (view["phase"], view["step"], view["attempt"], judgement.get("reason"))
            if seen != last:
                typer.echo(f"rollout {rollout_id}: {progress_line(view)}")
                last = seen
            code = _verdict(view["phase"], fail_on_pause)
            if code is None and time.monotonic() >= deadline:
                typer.echo(f"timed out after {timeout}: the rollout is still {view['phase']}")
                code = EXIT_UNFINISHED
            if code is not None:
                if as_json:
                    print_json(view)
                raise typer.Exit(code)
            time.sleep(max(0.0, min(every, deadline - time.monotonic())))


def _verdict(phase: str, fail_on_pause: bool) -> int | None:
    if phase == "succeeded":
        return EXIT_OK
    if phase in ("rolled_back", "aborted"):
        return EXIT_FAILED
    if phase == "paused" and fail_on_pause:
        return EXIT_UNFINISHED
    return None

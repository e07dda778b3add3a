"""``rollwise deploy``: from a CI pipeline, deploy the release a git ref names where the
configuration file's rules say, and wait for its verdict (see docs/releases.md).

``rollwise deploy -f rollwise.yaml --ref "$GITHUB_REF" --release "$GITHUB_REF_NAME"``:

1. picks the environment from the file's ``deploy:`` rules (the first glob matching the ref;
   none: prints ``no deployment for <ref>`` and exits 0);
2. records the release on the control plane (the version becomes a variant of the release
   flag) with the environment's strategy (the file's ``defaults.<env>.release``, else
   ``defaults.<env>.rollout``, else what the control plane has applied);
3. follows the release rollout, printing each step and verdict, until it ends.

Exit codes: 0 promoted (or live at once: a first release); 1 rolled back or aborted;
2 timed out, or paused (a person must look); 3 usage, an invalid file, or the control plane
unreachable or refusing.
"""

from __future__ import annotations

import time
from typing import Any, NoReturn

import typer

from ..core.durations import parse_duration
from ..core.release import environment_for_ref
from ..core.state_document import StateDocument, parse_state_document
from ..errors import ConfigError
from ._common import TOKEN, URL, client_for, fail, load_yaml, poll
from ._http import ControlPlane, ControlPlaneError

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_UNFINISHED", "EXIT_USAGE", "deploy"]

EXIT_OK, EXIT_FAILED, EXIT_UNFINISHED, EXIT_USAGE = 0, 1, 2, 3


def _fail(message: str) -> NoReturn:
    fail(message, EXIT_USAGE)


def _document(file: str) -> StateDocument:
    data = load_yaml(file, EXIT_USAGE)
    try:
        return parse_state_document(data if data is not None else {})
    except ConfigError as error:
        _fail(f"{file}: " + "; ".join(str(issue) for issue in error.issues))


def _release_flag(document: StateDocument, flag: str | None, file: str) -> str:
    if flag is not None:
        return flag
    if len(document.flags) == 1:
        return next(iter(document.flags))
    _fail(f"name the release flag with --flag ({file} has {len(document.flags)} flags)")


def _strategy(document: StateDocument, environment: str) -> dict[str, Any] | None:
    """The file's release defaults for the environment (else its rollout defaults)."""
    defaults = document.defaults.get(environment)
    chosen = None if defaults is None else (defaults.release or defaults.rollout)
    if chosen is None:
        return None
    return chosen.spec_fields() or None


def _describe(rollout: dict[str, Any]) -> str:
    spec = rollout["spec"]
    strategy = spec["strategy"]
    if strategy["type"] == "blue_green":
        how = f"blue-green, verify {strategy['verify']:g}s"
    else:
        steps = ", ".join(
            f"{s['percent']}%" + (f"/{s['bake']:g}s" if s.get("bake") else "")
            for s in strategy["steps"]
        )
        how = f"canary {steps}"
    gates = ", ".join(g.get("name") or g["metric"] for g in spec.get("gates") or []) or "none"
    return f"{how}; gates: {gates}"


def _progress(rollout: dict[str, Any]) -> str:
    line = (
        f"{rollout['phase']}: step {rollout['step'] + 1}/{rollout['steps']} "
        f"({rollout['step_percent']}%), {rollout['variant']} at {rollout['share_percent']:g}%"
    )
    judgement = rollout.get("judgement") or {}
    if judgement.get("reason"):
        line += f" — {judgement['reason']}"
    return line


def deploy(
    file: str | None = typer.Option(None, "--file", "-f", help="The configuration file"),
    ref: str | None = typer.Option(None, "--ref", help="The git ref (e.g. $GITHUB_REF)"),
    release: str | None = typer.Option(
        None, "--release", help="The release's name, a variant of the release flag"
    ),
    commit: str | None = typer.Option(None, "--commit", help="The commit deployed"),
    flag: str | None = typer.Option(
        None, "--flag", help="The release flag (default: the file's only flag)"
    ),
    deployed_by: str | None = typer.Option(
        None, "--by", help="Who or what deploys (default: the token's name)"
    ),
    timeout: str = typer.Option("1h", "--timeout", help="Give up waiting after (90s, 30m, 2h)"),
    interval: str = typer.Option("5s", "--interval", help="Time between two looks"),
    url: str | None = URL,
    token: str | None = TOKEN,
    print_environment: bool = typer.Option(
        False,
        "--print-environment",
        help="Only print the environment the ref deploys to (nothing: none) and exit 0",
    ),
) -> None:
    """Deploy the release a git ref names, where the file's rules say, and wait for its
    verdict: exit 0 promoted, 1 rolled back, 2 timed out or paused, 3 error."""
    if file is None or ref is None:
        _fail("--file and --ref are required")
    try:
        limit, every = parse_duration(timeout), parse_duration(interval)
    except ValueError as error:
        _fail(f"invalid duration: {error}")
    document = _document(file)
    environment = environment_for_ref(document.deploy or [], ref)
    if print_environment:
        typer.echo(environment or "")
        raise typer.Exit(EXIT_OK)
    if environment is None:
        typer.echo(f"no deployment for {ref}")
        raise typer.Exit(EXIT_OK)
    if release is None:
        _fail("--release is required (the release's name, e.g. $GITHUB_REF_NAME)")
    release_flag = _release_flag(document, flag, file)
    body: dict[str, Any] = {
        "environment": environment,
        "flag": release_flag,
        "version": release,
        "commit": commit,
        "deployed_by": deployed_by,
        "rollout": _strategy(document, environment),
    }
    with client_for(url, token, usage=EXIT_USAGE) as client:
        try:
            code = _run(client, {k: v for k, v in body.items() if v is not None}, ref, limit, every)
        except ControlPlaneError as error:
            _fail(error.message)
    raise typer.Exit(code)


def _run(client: ControlPlane, body: dict[str, Any], ref: str, limit: float, every: float) -> int:
    environment, version = body["environment"], body["version"]
    typer.echo(f"{ref} → {environment}: deploying {body['flag']} {version}")
    created = client.post("/api/v1/releases", body)
    rollout_id = created.get("rollout_id")
    if rollout_id is None:
        typer.echo(f"{version} is live in {environment} (nothing to compare it with yet)")
        return EXIT_OK
    deadline = time.monotonic() + limit
    last: tuple[Any, ...] | None = None
    described = False
    while True:
        rollout = poll(lambda: client.get(f"/api/v1/rollouts/{rollout_id}"), deadline)
        if rollout is None:
            typer.echo("timed out: the control plane did not answer")
            return EXIT_UNFINISHED
        if not described:
            typer.echo(
                f"rollout {rollout_id}: {version} against {rollout['baseline']}, "
                f"{_describe(rollout)}"
            )
            described = True
        judgement = rollout.get("judgement") or {}
        seen = (rollout["phase"], rollout["step"], rollout["attempt"], judgement.get("reason"))
        if seen != last:
            typer.echo(f"rollout {rollout_id}: {_progress(rollout)}")
            for line in _gate_lines(judgement):
                typer.echo(f"  {line}")
            last = seen
        code = _verdict(rollout["phase"])
        if code is not None:
            outcome = poll(lambda: client.get(f"/api/v1/releases/{created['id']}"), deadline)
            shown = outcome["outcome"] if outcome is not None else rollout["phase"]
            typer.echo(f"{version} in {environment}: {shown}")
            return code
        if time.monotonic() >= deadline:
            typer.echo(
                f"timed out: rollout {rollout_id} is still {rollout['phase']} "
                "(it goes on; `rollwise rollout wait` follows it)"
            )
            return EXIT_UNFINISHED
        time.sleep(max(0.0, min(every, deadline - time.monotonic())))


def _gate_lines(judgement: dict[str, Any]) -> list[str]:
    """Each gate's verdict, when the step was decided (passed or failed): the evidence."""
    if judgement.get("verdict") not in ("pass", "fail"):
        return []
    gates = (judgement.get("evidence") or {}).get("gates") or []
    return [f"gate {g.get('gate')}: {g.get('verdict')} — {g.get('reason')}" for g in gates]


def _verdict(phase: str) -> int | None:
    if phase == "succeeded":
        return EXIT_OK
    if phase in ("rolled_back", "aborted"):
        return EXIT_FAILED
    if phase == "paused":
        typer.echo("paused: a person must look (resume, promote or roll it back)")
        return EXIT_UNFINISHED
    return None

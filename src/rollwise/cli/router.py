"""``rollwise router``: the agent beside a proxy that keeps it on the control plane's split.

``rollwise router nginx -f router.yaml`` follows the control plane (ETag + Server-Sent
Events, a disk cache for starts while it is away) and rewrites nginx's managed include
file on each change, checked with ``nginx -t`` and reloaded gracefully. ``rollwise router
command -f router.yaml`` hands each split to a command or a webhook instead. ``rollwise
router render -f router.yaml`` prints what the current split would be, changing nothing.
SIGTERM or Ctrl-C stops the agent; the proxy keeps serving the last split.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import typer

__all__ = ["router_app"]

router_app = typer.Typer(
    name="router",
    help="Keep a proxy (nginx, or anything through a command) on a flag's split.",
    no_args_is_help=True,
)

FILE_OPTION = typer.Option(
    ..., "--file", "-f", help="The router's YAML file (see docs/releases.md)"
)


def _load(path: Path, router_type: str | None) -> tuple[Any, Any]:
    """The agent's config and the router's config from the file; exit 2 naming each problem."""
    import yaml
    from pydantic import ValidationError

    from ..errors import ConfigError, validation_issues
    from ..routing import AgentConfig, default_registry

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        _fail(f"cannot read {path}: {error}")
    if not isinstance(data, dict):
        _fail(f"{path}: expected a mapping at the top level")
    router = data.get("router")
    if isinstance(router, dict) and router_type is not None:
        router = {"type": router_type, **router}
        if router["type"] != router_type:
            _fail(f"{path}: router.type is {router['type']!r}; this command runs {router_type!r}")
        data = {**data, "router": router}
    try:
        config = AgentConfig.model_validate(data)
        router_config = default_registry().parse(config.router, path="router")
    except ValidationError as error:
        _fail("; ".join(str(issue) for issue in validation_issues(error)))
    except ConfigError as error:
        _fail(str(error))
    return config, router_config


def _fail(message: str) -> Any:
    sys.stderr.write(f"rollwise router: {message}\n")
    raise typer.Exit(2)


def _run(path: Path, router_type: str, log_level: str) -> None:
    from ..errors import ConfigError
    from ..routing import RouterAgent, default_registry

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config, router_config = _load(path, router_type)
    try:
        agent = RouterAgent(
            config, default_registry().build(router_config), router_type=router_type
        )
    except ConfigError as error:
        _fail(str(error))
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with agent:
        stop.wait()


@router_app.command("nginx")
def nginx(
    file: Path = FILE_OPTION,
    log_level: str = typer.Option("info", help="debug, info, warning or error"),
) -> None:
    """Run the nginx agent: managed include file, `nginx -t`, graceful reload."""
    _run(file, "nginx", log_level)


@router_app.command("command")
def command(
    file: Path = FILE_OPTION,
    log_level: str = typer.Option("info", help="debug, info, warning or error"),
) -> None:
    """Run the agent with a command or webhook router (HAProxy, Gateway API, cloud LBs)."""
    _run(file, "command", log_level)


@router_app.command("render")
def render(file: Path = FILE_OPTION) -> None:
    """Print the nginx files for the control plane's current split; change nothing."""
    import httpx

    from ..core.validation import parse_document
    from ..errors import RollwiseError
    from ..routing import route_split
    from ..routing.nginx import render as render_files

    config, router_config = _load(file, None)
    if router_config.type != "nginx":
        _fail("render shows nginx files; this file's router is not nginx")
    params = {"environment": config.environment} if config.environment else {}
    try:
        response = httpx.get(
            str(config.url).rstrip("/") + "/api/v1/sdk/config",
            params=params,
            headers={"Authorization": f"Bearer {config.token()}"},
            timeout=10,
        )
        response.raise_for_status()
        document = parse_document(response.json(), strict=False)
        environment = config.environment or document.environment or ""
        files = render_files(route_split(document, config.flag, environment), router_config)
    except (httpx.HTTPError, ValueError) as error:
        sys.stderr.write(f"rollwise router: the control plane: {error}\n")
        raise typer.Exit(3) from None
    except RollwiseError as error:
        _fail(str(error))
    name = router_config.name
    typer.echo(f"# {name}.conf\n{files.http}\n# {name}.location\n{files.location}")

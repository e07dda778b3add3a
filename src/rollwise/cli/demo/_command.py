"""``rollwise demo``: a canary rollout of a real service, judged on live traffic, on loopback.

The demo starts a temporary control plane (``rollwise serve`` over SQLite, a fast
controller tick, a generated admin token), the reference camera service
(``examples/camera_service``) syncing the flag ``camera-domain-service`` from it and
reporting its traffic every 2 seconds, and a few hundred clients using the service. Then it
rolls ``domain`` out 10 → 25 → 50 → 100% and shows, live, what the controller sees and
decides, until the rollout succeeds — or, with ``--fault``, until the controller rolls it
back on its own, with the failing gate's numbers as evidence. Every process it started is
stopped when it ends, also on Ctrl-C. See the module docs of :mod:`._run` for the exit
codes and :mod:`._scenario` for the rollout and its gates.

``--release`` runs the same story as a release rollout through nginx (:mod:`._release_run`):
v2 of the camera service as its own process next to v1, Debian's nginx in front, the
``rollwise router nginx`` agent keeping it on the control plane's split. Without nginx it
says so in one line and exits 2 before starting anything.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from ...routing.nginx import find_nginx
from ._release_run import run_release_demo
from ._run import RunOptions, run_demo
from ._scenario import Scenario, parse_fault

__all__ = ["demo"]

EXIT_NO_NGINX = 2
DEFAULT_CLIENTS = 300
RELEASE_CLIENTS = 2000
"""nginx hashes each client to a release, and the share each release gets must be close to
the step's (the judge's sample-ratio check): more clients, closer shares."""
RELEASE_P95_INCREASE = 1.0
"""Two processes' tails differ more than two code paths' in one (see :mod:`._scenario`)."""


def demo(
    release: bool = typer.Option(
        False,
        "--release",
        help="Roll out camera service v2 as a release: its own process next to v1, behind "
        "nginx (which must be installed), kept on the split by `rollwise router nginx`.",
    ),
    fault: str = typer.Option(
        None,
        "--fault",
        metavar="FAULT",
        help="Make the domain service worse, comma-separated: error-rate=0.05 or latency=2x "
        "(or 50ms) are expected to make the controller roll back; exception-rate=0.05 is "
        "rescued by the fallback to legacy (counted, not failed).",
    ),
    keep_running: bool = typer.Option(
        False, "--keep-running", help="Leave the stack up after the verdict (Ctrl-C to stop)."
    ),
    live: bool = typer.Option(
        None, "--live/--no-live", help="Live dashboard (default: when the output is a terminal)."
    ),
    bake: float = typer.Option(30.0, "--bake", min=1.0, hidden=True, help="Seconds per step."),
    rate: float = typer.Option(120.0, "--rate", min=5.0, hidden=True, help="Requests/s."),
    tick: float = typer.Option(1.0, "--tick", min=0.1, hidden=True, help="Controller tick (s)."),
    timeout: float = typer.Option(300.0, "--timeout", min=10.0, hidden=True, help="Give up (s)."),
) -> None:
    """Roll a new implementation out on a real service with live traffic; judged, promoted
    or rolled back by the controller. Exit 0 when the outcome is the expected one."""
    try:
        faults = parse_fault(fault)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--fault") from None
    if release and find_nginx() is None:
        sys.stderr.write(
            "rollwise demo --release: nginx is not installed (not on PATH nor in /usr/sbin): "
            "install it (apt-get install nginx-light), or run `rollwise demo` without "
            "--release\n"
        )
        raise typer.Exit(EXIT_NO_NGINX)
    scenario = Scenario(faults, bake=bake, p95_increase=RELEASE_P95_INCREASE if release else 0.5)
    options = RunOptions(
        rate=rate,
        clients=RELEASE_CLIENTS if release else DEFAULT_CLIENTS,
        tick=tick,
        timeout=timeout,
        keep_running=keep_running,
        live=live,
    )
    console = Console(highlight=False, soft_wrap=True)
    run = run_release_demo if release else run_demo
    raise typer.Exit(run(console, scenario, options))

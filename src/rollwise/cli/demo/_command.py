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
"""

from __future__ import annotations

import typer
from rich.console import Console

from ._run import RunOptions, run_demo
from ._scenario import Scenario, parse_fault

__all__ = ["demo"]


def demo(
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
    scenario = Scenario(faults, bake=bake)
    options = RunOptions(
        rate=rate, tick=tick, timeout=timeout, keep_running=keep_running, live=live
    )
    console = Console(highlight=False, soft_wrap=True)
    raise typer.Exit(run_demo(console, scenario, options))

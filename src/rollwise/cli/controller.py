"""``rollwise controller``: the rollout controller alone, next to ``serve --no-controller``.

It judges rollouts, evaluates alert rules and delivers notifications against the database,
with the same ``ROLLWISE_*`` settings as the controller inside ``rollwise serve`` (see
docs/controller.md). Several may run against one PostgreSQL database: one leads. SIGTERM
or Ctrl-C stops it after the round in progress, releasing the leader lock.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import replace
from types import FrameType

import typer

__all__ = ["controller"]


def controller(
    database_url: str = typer.Option(
        None, help="SQLAlchemy URL [env ROLLWISE_DATABASE_URL, sqlite:///./rollwise.db]"
    ),
    tick: float = typer.Option(
        None, min=0.01, help="Seconds between rounds [env ROLLWISE_CONTROLLER_TICK, 5]"
    ),
    migrate: bool = typer.Option(True, help="Apply pending migrations first, as serve does"),
    log_level: str = typer.Option("info", help="debug, info, warning or error"),
) -> None:
    """Run the rollout controller: judge rollouts, evaluate alerts, send notifications."""
    from ..controller import Controller, ControllerSettings
    from ..env_settings import database_url_from_env
    from ..errors import ConfigError
    from ..store import Store

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = ControllerSettings.from_env()
        if tick is not None:
            settings = replace(settings, tick_seconds=tick)
        store = Store(database_url_from_env(database_url))
    except ConfigError as error:
        typer.echo(f"rollwise: {error}", err=True)
        raise typer.Exit(2) from None
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del frame
        logging.getLogger("rollwise.controller").info(
            "rollwise: %s received, stopping", signal.Signals(signum).name
        )
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        if migrate:
            store.upgrade()
        try:
            running = Controller(store, settings)
        except ConfigError as error:
            typer.echo(f"rollwise: {error}", err=True)
            raise typer.Exit(2) from None
        running.run(stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        store.close()

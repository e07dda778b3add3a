"""``rollwise serve``: the control plane (migrations are applied at start)."""

from __future__ import annotations

import logging

import typer

from ._app import app


@app.command()
def serve(
    host: str = typer.Option(None, help="Address to listen on [env ROLLWISE_HOST, 127.0.0.1]"),
    port: int = typer.Option(None, help="Port [env ROLLWISE_PORT, 8000]"),
    database_url: str = typer.Option(
        None, help="SQLAlchemy URL [env ROLLWISE_DATABASE_URL, sqlite:///./rollwise.db]"
    ),
    log_level: str = typer.Option("info", help="uvicorn log level"),
    access_log: bool = typer.Option(False, help="Log every request (off: SDK polls are many)"),
    controller: bool = typer.Option(
        None,
        "--controller/--no-controller",
        help="Run the rollout controller in this process [env ROLLWISE_CONTROLLER, on]",
    ),
) -> None:
    """Run the control plane: API, SDK config delivery, health, metrics and the controller."""
    import uvicorn

    from ..errors import ConfigError
    from ..server import ServerSettings, create_app

    _log_to_stderr(log_level)
    try:
        settings = ServerSettings.from_env(
            controller_enabled=controller, host=host, port=port, database_url=database_url
        )
    except ConfigError as error:
        typer.echo(f"rollwise: {error}", err=True)
        raise typer.Exit(2) from None
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        access_log=access_log,
        timeout_graceful_shutdown=5,
    )


def _log_to_stderr(level: str) -> None:
    """uvicorn configures its own loggers only: show rollwise's (controller transitions,
    leadership, retention) in the same format, at the same level."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
    logger = logging.getLogger("rollwise")
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False

"""``rollwise serve``: the control plane (migrations are applied at start)."""

from __future__ import annotations

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

    from ..server import ServerSettings, create_app

    settings = ServerSettings.from_env(
        controller_enabled=controller, host=host, port=port, database_url=database_url
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        access_log=access_log,
        timeout_graceful_shutdown=5,
    )

"""``rollwise serve``: the control plane (migrations are applied at start)."""

from __future__ import annotations

import errno
import logging
import socket

import typer

__all__ = ["serve"]


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
    from sqlalchemy.exc import InterfaceError, OperationalError

    from ..errors import ConfigError
    from ..server import ServerSettings, create_app
    from ..server.app import prepare

    _log_to_stderr(log_level)
    try:
        settings = ServerSettings.from_env(
            controller_enabled=controller, host=host, port=port, database_url=database_url
        )
    except ConfigError as error:
        options = {
            "ROLLWISE_HOST": host,
            "ROLLWISE_PORT": port,
            "ROLLWISE_DATABASE_URL": database_url,
        }
        if options.get(error.path) is not None:  # the option was given: name the option
            option = "--" + error.path.removeprefix("ROLLWISE_").lower().replace("_", "-")
            error = ConfigError.single(None, option, error.reason)
        typer.echo(f"rollwise: {error}", err=True)
        raise typer.Exit(2) from None
    problem = port_problem(settings.host, settings.port)
    if problem is not None:  # before the database is created or a token printed
        typer.echo(
            f"rollwise: cannot listen on {settings.host}:{settings.port}: {problem}", err=True
        )
        raise typer.Exit(2)
    application = create_app(settings)
    try:  # migrations and the admin token before listening: a bad one is one line
        prepare(application)
    except ConfigError as error:
        typer.echo(f"rollwise: {error}", err=True)
        raise typer.Exit(2) from None
    except (OperationalError, InterfaceError) as error:  # the database is down or unreachable
        typer.echo(f"rollwise: {database_problem(settings.database_url, error)}", err=True)
        raise typer.Exit(1) from None
    uvicorn.run(
        application,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        access_log=access_log,
        timeout_graceful_shutdown=5,
        timeout_keep_alive=settings.keep_alive_seconds,  # longer than SDKs' poll interval
    )


def port_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on (in use, no such address), or None.

    A bind test the way uvicorn binds (``SO_REUSEADDR``), closed at once: checked before
    anything else so that a second ``serve`` leaves no database and prints no token.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        return f"unknown address {host!r} ({error.strerror})"
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return "the port is in use (another rollwise serve?); choose --port"
            return error.strerror or str(error)
    return None


def database_problem(url: str, error: Exception) -> str:
    """One line for a database that cannot be reached at start: where, and the driver's
    first line (never the password)."""
    from sqlalchemy.engine import make_url

    try:
        where = make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL that does not parse is named as given
        where = url
    cause = getattr(error, "orig", None) or error
    first = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    return f"cannot reach the database {where}: {first}"


def _log_to_stderr(level: str) -> None:
    """uvicorn configures its own loggers only: show rollwise's (controller transitions,
    leadership, retention) in the same format, at the same level."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
    logger = logging.getLogger("rollwise")
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False

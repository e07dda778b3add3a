"""The Typer application: :func:`build_app` adds every command and group explicitly.

Command modules define plain functions and ``typer.Typer`` groups and register nothing
when imported; this is the one place that says which commands ``rollwise`` has.
"""

from __future__ import annotations

import typer

__all__ = ["build_app", "installed_version"]


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"rollwise {installed_version()}")
        raise typer.Exit()


def installed_version() -> str:
    """The version of the installed distribution (its metadata), as ``pip`` shows it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rollwise")
    except PackageNotFoundError:  # a source tree on sys.path, not installed
        from .. import __version__

        return __version__


def _root(
    _version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print rollwise's version and exit.",
    ),
) -> None:
    """Progressive delivery for Python services."""


def build_app() -> typer.Typer:
    """A new ``rollwise`` application with every command."""
    app = typer.Typer(
        name="rollwise",
        help="Progressive delivery for Python services.",
        no_args_is_help=True,
        add_completion=False,
    )
    app.callback()(_root)
    from . import (
        alerts,
        audit,
        auth,
        channels,
        controller,
        db,
        deploy,
        doctor,
        environments,
        experiment,
        flags,
        releases,
        router,
        serve,
        state,
        tokens,
    )
    from .demo import demo
    from .rollout import rollout

    # the control plane's processes
    app.command("serve")(serve.serve)
    app.command("controller")(controller.controller)
    app.add_typer(db.db, name="db")
    app.command("demo")(demo)
    # talking to a control plane
    app.command("login")(auth.login)
    app.command("logout")(auth.logout)
    app.command("whoami")(auth.whoami)
    app.add_typer(environments.group, name="env")
    app.add_typer(flags.group, name="flags")
    app.add_typer(experiment.group, name="experiment")
    app.add_typer(tokens.group, name="tokens")
    app.add_typer(alerts.group, name="alerts")
    app.add_typer(channels.group, name="channels")
    app.command("audit")(audit.audit)
    app.add_typer(rollout, name="rollout")
    # configuration as code
    app.command("apply")(state.apply)
    app.command("export")(state.export)
    app.command("schema")(state.schema)
    # fleet, releases and proxies
    doctor.register(app)
    app.add_typer(releases.group, name="releases")
    app.command("rollback")(releases.rollback)
    app.command("deploy")(deploy.deploy)
    app.add_typer(router.router_app, name="router")
    return app

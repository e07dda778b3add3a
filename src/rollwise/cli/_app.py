"""The Typer application and the registration of every sub-command module."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="rollwise",
    help="Progressive delivery for Python services.",
    no_args_is_help=True,
    add_completion=False,
)


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


@app.callback()
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


# Sub-command modules register themselves on `app` when imported.
from . import controller, db, demo, rollout, serve  # noqa: E402, F401

"""The Typer application and the registration of every sub-command module."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="rollwise",
    help="Progressive delivery for Python services.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Progressive delivery for Python services."""


# Sub-command modules register themselves on `app` when imported.
from . import controller, db, demo, rollout, serve  # noqa: E402, F401

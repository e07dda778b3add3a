"""``rollwise db upgrade`` / ``rollwise db status``: the control plane's schema."""

from __future__ import annotations

import typer

__all__ = ["db"]

db = typer.Typer(help="Database schema: apply migrations, show their state.", no_args_is_help=True)

URL = typer.Option(None, help="SQLAlchemy URL [env ROLLWISE_DATABASE_URL, sqlite:///./rollwise.db]")


@db.command()
def upgrade(database_url: str = URL) -> None:
    """Apply every migration not applied yet (safe to run again)."""
    from ..env_settings import database_url_from_env
    from ..store import Store

    store = Store(database_url_from_env(database_url))
    try:
        store.upgrade()
        status = store.status()
    finally:
        store.close()
    typer.echo(f"database at migration {status.current_revision} (head {status.head_revision})")


@db.command()
def status(database_url: str = URL) -> None:
    """Show the applied migration; exit 1 when the database is behind or unreachable."""
    from ..env_settings import database_url_from_env
    from ..store import Store

    store = Store(database_url_from_env(database_url))
    try:
        current = store.status()
    finally:
        store.close()
    if not current.reachable:
        typer.echo("database unreachable", err=True)
        raise typer.Exit(1)
    state = "current" if current.is_current else "behind"
    typer.echo(f"migration {current.current_revision} of {current.head_revision}: {state}")
    if not current.is_current:
        raise typer.Exit(1)

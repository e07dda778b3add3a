"""Alembic environment: always run programmatically by Store.upgrade() with a connection."""

from __future__ import annotations

from alembic import context

from rollwise.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()

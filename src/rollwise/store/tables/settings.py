"""Settings kept as configuration as code has them: one JSON value per key, versioned."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Integer, String, Table

from ._metadata import metadata

__all__ = ["state_settings"]

# -- state settings (see rollwise.store.settings) -----------------------------------------
# Parts of the state document without a resource of their own: ``defaults`` (rollout and
# release defaults per environment) and ``deploy`` (the deploy rules). Each change bumps
# ``version`` and writes an audit row.

state_settings = Table(
    "state_settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

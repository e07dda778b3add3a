"""Notification channels and the outbox."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from ._metadata import metadata

__all__ = ["notification_channels", "outbox"]

# -- notifications (see rollwise.store.channels and rollwise.store.outbox) ----------------
# The outbox is written in the same transaction as the event it announces; a dispatcher
# claims due rows (a lease: next_attempt_at moves past the claim) and records the outcome.

notification_channels = Table(
    "notification_channels",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("type", String(32), nullable=False),
    Column("config", JSON, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("channel", String(64), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("notification", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    Index("ix_outbox_created_at", "created_at"),
)

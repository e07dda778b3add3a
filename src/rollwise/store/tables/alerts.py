"""Alert rules and their state changes."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from ._metadata import metadata

__all__ = ["alert_events", "alert_rules"]

# -- alerts (see rollwise.store.alerts) ---------------------------------------------------

alert_rules = Table(
    "alert_rules",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("environment", String(64), ForeignKey("environments.key"), nullable=False),
    Column("flag", String(128), ForeignKey("flags.key"), nullable=True),
    Column("variant", String(200), nullable=True),
    Column("baseline", String(200), nullable=True),
    Column("metric", String(32), nullable=False),
    Column("comparison", String(32), nullable=False),
    Column("threshold", Float, nullable=False),
    Column("window_seconds", Float, nullable=False),
    Column("for_seconds", Float, nullable=False),
    Column("min_samples", Integer, nullable=False, server_default="100"),
    Column("severity", String(16), nullable=False),
    Column("query", Text, nullable=True),
    Column("description", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("state_since", DateTime(timezone=True), nullable=True),
    Column("last_value", Float, nullable=True),
    Column("last_reason", Text, nullable=True),
    Column("evaluated_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

alert_events = Table(
    "alert_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rule", String(64), ForeignKey("alert_rules.name"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("from_state", String(16), nullable=False),
    Column("to_state", String(16), nullable=False),
    Column("value", Float, nullable=True),
    Column("baseline_value", Float, nullable=True),
    Column("threshold", Float, nullable=False),
    Column("reason", Text, nullable=False),
    Column("details", JSON, nullable=True),
    Index("ix_alert_events_rule_id", "rule", "id"),
)

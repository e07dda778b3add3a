"""Environments, flags and their per-environment states, API tokens, the audit log."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    false,
)

from ._metadata import metadata

__all__ = ["audit_log", "environments", "flag_states", "flags", "tokens"]

environments = Table(
    "environments",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("name", String(200), nullable=False, default=""),
    Column("description", Text, nullable=False, default=""),
    Column("version", Integer, nullable=False),
    Column("config_revision", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("production", Boolean, nullable=False, default=False, server_default=false()),
)

flags = Table(
    "flags",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("description", Text, nullable=False, default=""),
    Column("variants", JSON, nullable=False),
    Column("off_variant", String(200), nullable=False),
    Column("tags", JSON, nullable=False),
    Column("archived", Boolean, nullable=False, default=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

flag_states = Table(
    "flag_states",
    metadata,
    Column("flag", String(128), ForeignKey("flags.key"), primary_key=True),
    Column("environment", String(64), ForeignKey("environments.key"), primary_key=True),
    Column("state", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("environment", String(64), ForeignKey("environments.key"), nullable=True),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target_type", String(32), nullable=False),
    Column("target", String(200), nullable=False),
    Column("environment", String(64), nullable=True),
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_target", "target_type", "target"),
)

"""Rollouts, their history, the controller's latest judgement of each and its evaluations."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)

from ._metadata import metadata

__all__ = [
    "ACTIVE_PHASES",
    "rollout_evaluations",
    "rollout_history",
    "rollout_judgements",
    "rollouts",
]

# -- rollouts (see rollwise.store.rollouts) -----------------------------------------------
# A flag and environment have at most one active rollout: the partial unique index below
# admits one row per pair whose phase is not terminal, so two racing creators (or a retry
# racing a new rollout) cannot both win, whatever the isolation level.

ACTIVE_PHASES = ("pending", "progressing", "paused")
_ACTIVE = text("phase IN ('pending', 'progressing', 'paused')")

rollouts = Table(
    "rollouts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("flag", String(128), ForeignKey("flags.key"), nullable=False),
    Column("environment", String(64), ForeignKey("environments.key"), nullable=False),
    Column("spec", JSON, nullable=False),
    Column("phase", String(16), nullable=False),
    Column("step", Integer, nullable=False),
    Column("step_started_at", DateTime(timezone=True), nullable=True),
    Column("attempt", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(200), nullable=False),
    Index(
        "uq_rollouts_active_flag_environment",
        "flag",
        "environment",
        unique=True,
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    ),
    Index("ix_rollouts_phase", "phase"),
)

rollout_history = Table(
    "rollout_history",
    metadata,
    Column("rollout_id", Integer, ForeignKey("rollouts.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(16), nullable=False),
    Column("from_phase", String(16), nullable=False),
    Column("from_step", Integer, nullable=False),
    Column("from_share", Integer, nullable=False),
    Column("to_phase", String(16), nullable=False),
    Column("to_step", Integer, nullable=False),
    Column("to_share", Integer, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("evidence", JSON, nullable=True),
)

rollout_judgements = Table(
    "rollout_judgements",
    metadata,
    Column("rollout_id", Integer, ForeignKey("rollouts.id"), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("step", Integer, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("rollout_version", Integer, nullable=False),
    Column("decision", String(32), nullable=False),
    Column("verdict", String(32), nullable=True),
    Column("reason", Text, nullable=False),
    Column("evidence", JSON, nullable=True),
)

# -- evaluations (see RolloutOperations.record_judgement) ---------------------------------
# The controller's judgements over time: one row when the judged step, attempt or decision
# changes, otherwise at most one a minute (a rollout judged every 5 s for two weeks keeps
# ~20k rows, not ~240k). Deleted with the retention of finished rollouts.

rollout_evaluations = Table(
    "rollout_evaluations",
    metadata,
    Column("rollout_id", Integer, ForeignKey("rollouts.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("evaluated_at", DateTime(timezone=True), nullable=False),
    Column("step", Integer, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("rollout_version", Integer, nullable=False),
    Column("decision", String(32), nullable=False),
    Column("verdict", String(32), nullable=True),
    Column("reason", Text, nullable=False),
    Column("evidence", JSON, nullable=True),
)

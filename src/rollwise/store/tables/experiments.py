"""Experiments, their exposures, per-unit event aggregates and ingested batch ids.

See ``rollwise.store.experiments``. Analysis reads sufficient statistics from these tables
(one GROUP BY arm), never raw events: each tracked event is folded into its unit's row of
``experiment_unit_events`` when it arrives.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    text,
)

from ._metadata import metadata

__all__ = [
    "experiment_batches",
    "experiment_exposures",
    "experiment_unit_events",
    "experiments",
]

# A flag and environment have at most one running experiment (partial unique index).
_RUNNING = text("state = 'running'")

experiments = Table(
    "experiments",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("flag", String(128), ForeignKey("flags.key"), nullable=False),
    Column("environment", String(64), ForeignKey("environments.key"), nullable=False),
    Column("definition", JSON, nullable=False),
    Column("state", String(16), nullable=False),
    Column("decision", JSON, nullable=True),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("stopped_at", DateTime(timezone=True), nullable=True),
    Column("created_by", String(200), nullable=False),
    Index(
        "uq_experiments_running_flag_environment",
        "flag",
        "environment",
        unique=True,
        sqlite_where=_RUNNING,
        postgresql_where=_RUNNING,
    ),
    Index("ix_experiments_environment_state", "environment", "state"),
)

# One row per (experiment, unit): the first exposure wins (arm, time); ``mixed`` marks a
# unit later seen in another arm (a changed split or unit attribute): analysis excludes it.
experiment_exposures = Table(
    "experiment_exposures",
    metadata,
    Column("experiment", String(64), ForeignKey("experiments.key"), primary_key=True),
    Column("unit", String(200), primary_key=True),
    Column("arm", String(64), nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("mixed", Boolean, nullable=False),
    Index("ix_experiment_exposures_experiment_arm", "experiment", "arm"),
)

# Per (experiment, unit, event): the sum of values and the count of events after the
# unit's first exposure, and before it (``pre_*``: the CUPED covariate's period, kept only
# for events a CUPED metric reads).
experiment_unit_events = Table(
    "experiment_unit_events",
    metadata,
    Column("experiment", String(64), ForeignKey("experiments.key"), primary_key=True),
    Column("unit", String(200), primary_key=True),
    Column("event", String(128), primary_key=True),
    Column("sum", Float, nullable=False),
    Column("count", BigInteger, nullable=False),
    Column("pre_sum", Float, nullable=False),
    Column("pre_count", BigInteger, nullable=False),
)

# Telemetry batches whose exposures and events were stored: a retried batch counts once.
experiment_batches = Table(
    "experiment_batches",
    metadata,
    Column("environment", String(64), primary_key=True),
    Column("batch_id", String(64), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index("ix_experiment_batches_received_at", "received_at"),
)

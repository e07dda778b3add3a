"""The control plane's tables (SQLAlchemy Core). Migrations create them; code reads them."""

from __future__ import annotations

from typing import Any

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
    MetaData,
    String,
    Table,
    Text,
    false,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

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

# -- telemetry (reported by SDKs; see rollwise.store.telemetry) ---------------------------
# Buckets are keyed by (environment, flag, resolution, bucket_start, ...) so that a flag's
# time range is one index range; the (environment, resolution, bucket_start) index serves
# environment summaries and the retention purge. bucket_start is epoch seconds.

telemetry_batches = Table(
    "telemetry_batches",
    metadata,
    Column("environment", String(64), ForeignKey("environments.key"), primary_key=True),
    Column("batch_id", String(64), primary_key=True),
    Column("instance", String(200), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("dropped_batches", BigInteger, nullable=False),
    Column("dropped_windows", BigInteger, nullable=False),
    Column("dropped_samples", BigInteger, nullable=False),
    Index("ix_telemetry_batches_environment_received_at", "environment", "received_at"),
)

# A batch too large for one short transaction is stored in parts: part 0 is recorded by the
# batch's row above, each further part by a row here (in the transaction storing it).
telemetry_batch_parts = Table(
    "telemetry_batch_parts",
    metadata,
    Column("environment", String(64), primary_key=True),
    Column("batch_id", String(64), primary_key=True),
    Column("part", Integer, primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index("ix_telemetry_batch_parts_received_at", "received_at"),
)


def _buckets(name: str, *columns: Column[Any]) -> Table:
    """A time-bucketed telemetry table: keyed by (environment, flag, resolution,
    bucket_start, then ``columns``' key parts), indexed for environment-wide scans."""
    return Table(
        name,
        metadata,
        Column("environment", String(64), primary_key=True),
        Column("flag", String(128), primary_key=True),
        Column("resolution", Integer, primary_key=True),
        Column("bucket_start", BigInteger, primary_key=True),
        *columns,
        Index(
            f"ix_{name}_environment_resolution_bucket_start",
            "environment",
            "resolution",
            "bucket_start",
        ),
    )


request_buckets = _buckets(
    "request_buckets",
    Column("variant", String(200), primary_key=True),
    Column("route", String(200), primary_key=True),
    Column("requests", BigInteger, nullable=False),
    Column("errors", BigInteger, nullable=False),
    Column("client_errors", BigInteger, nullable=False),
    Column("latency", JSON, nullable=False),
)

usage_buckets = _buckets(
    "usage_buckets",
    Column("variant", String(200), primary_key=True),
    Column("count", BigInteger, nullable=False),
)

comparison_buckets = _buckets(
    "comparison_buckets",
    Column("variant", String(200), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("counts", JSON, nullable=False),
    Column("durations", JSON, nullable=False),
)

override_buckets = _buckets(
    "override_buckets",
    Column("outcome", String(64), primary_key=True),
    Column("variant", String(200), primary_key=True),
    Column("reason", String(64), primary_key=True),
    Column("count", BigInteger, nullable=False),
)


mismatch_samples = Table(
    "mismatch_samples",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("environment", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("flag", String(128), nullable=False),
    Column("variant", String(200), nullable=False),
    Column("primary_side", String(200), nullable=False),
    Column("outcome", String(200), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("instance", String(200), nullable=False),
    Column("input", JSON, nullable=True),
    Column("control", JSON, nullable=True),
    Column("candidate", JSON, nullable=True),
    Index("ix_mismatch_samples_environment_name_id", "environment", "name", "id"),
    Index("ix_mismatch_samples_received_at", "received_at"),
)

telemetry_keys = Table(
    "telemetry_keys",
    metadata,
    Column("environment", String(64), primary_key=True),
    Column("flag", String(128), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

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

# -- the controller's leader lease (see rollwise.store.leases) ----------------------------
# One row per lease name: who holds it, under which epoch (the fencing token), and until
# when; times are seconds since the epoch on the database's clock. ``hinted``: the holder
# also holds the liveness lock (a PostgreSQL advisory lock, a SQLite flock), so a free
# liveness lock means the holder died and its lease may be taken at once.

controller_lease = Table(
    "controller_lease",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("epoch", BigInteger, nullable=False),
    Column("acquired_at", Float, nullable=False),
    Column("renewed_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("hinted", Boolean, nullable=False, default=False),
)

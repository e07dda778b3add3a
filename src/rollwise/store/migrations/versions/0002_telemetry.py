"""Telemetry reported by SDKs: batch ids, time buckets, mismatch samples, key registry.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def _bucket_key() -> list[sa.Column[object]]:
    return [
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("flag", sa.String(128), nullable=False),
        sa.Column("resolution", sa.Integer, nullable=False),
        sa.Column("bucket_start", sa.BigInteger, nullable=False),
    ]


def _time_index(table: str) -> None:
    op.create_index(
        f"ix_{table}_environment_resolution_bucket_start",
        table,
        ["environment", "resolution", "bucket_start"],
    )


def upgrade() -> None:
    op.create_table(
        "telemetry_batches",
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("instance", sa.String(200), nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("dropped_batches", sa.BigInteger, nullable=False),
        sa.Column("dropped_windows", sa.BigInteger, nullable=False),
        sa.Column("dropped_samples", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("environment", "batch_id", name="pk_telemetry_batches"),
        sa.ForeignKeyConstraint(
            ["environment"],
            ["environments.key"],
            name="fk_telemetry_batches_environment_environments",
        ),
    )
    op.create_index(
        "ix_telemetry_batches_environment_received_at",
        "telemetry_batches",
        ["environment", "received_at"],
    )
    op.create_table(
        "request_buckets",
        *_bucket_key(),
        sa.Column("variant", sa.String(200), nullable=False),
        sa.Column("route", sa.String(200), nullable=False),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.Column("errors", sa.BigInteger, nullable=False),
        sa.Column("client_errors", sa.BigInteger, nullable=False),
        sa.Column("latency", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint(
            "environment",
            "flag",
            "resolution",
            "bucket_start",
            "variant",
            "route",
            name="pk_request_buckets",
        ),
    )
    _time_index("request_buckets")
    op.create_table(
        "usage_buckets",
        *_bucket_key(),
        sa.Column("variant", sa.String(200), nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(
            "environment", "flag", "resolution", "bucket_start", "variant", name="pk_usage_buckets"
        ),
    )
    _time_index("usage_buckets")
    op.create_table(
        "comparison_buckets",
        *_bucket_key(),
        sa.Column("variant", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
        sa.Column("durations", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint(
            "environment",
            "flag",
            "resolution",
            "bucket_start",
            "variant",
            "name",
            name="pk_comparison_buckets",
        ),
    )
    _time_index("comparison_buckets")
    op.create_table(
        "override_buckets",
        *_bucket_key(),
        sa.Column("outcome", sa.String(64), nullable=False),
        sa.Column("variant", sa.String(200), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(
            "environment",
            "flag",
            "resolution",
            "bucket_start",
            "outcome",
            "variant",
            "reason",
            name="pk_override_buckets",
        ),
    )
    _time_index("override_buckets")
    op.create_table(
        "mismatch_samples",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("flag", sa.String(128), nullable=False),
        sa.Column("variant", sa.String(200), nullable=False),
        sa.Column("primary_side", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(200), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("instance", sa.String(200), nullable=False),
        sa.Column("input", sa.JSON, nullable=True),
        sa.Column("control", sa.JSON, nullable=True),
        sa.Column("candidate", sa.JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_mismatch_samples"),
    )
    op.create_index(
        "ix_mismatch_samples_environment_name_id",
        "mismatch_samples",
        ["environment", "name", "id"],
    )
    op.create_index("ix_mismatch_samples_received_at", "mismatch_samples", ["received_at"])
    op.create_table(
        "telemetry_keys",
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("flag", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("environment", "flag", "kind", "key", name="pk_telemetry_keys"),
    )


def downgrade() -> None:
    for table in (
        "telemetry_keys",
        "mismatch_samples",
        "override_buckets",
        "comparison_buckets",
        "usage_buckets",
        "request_buckets",
        "telemetry_batches",
    ):
        op.drop_table(table)

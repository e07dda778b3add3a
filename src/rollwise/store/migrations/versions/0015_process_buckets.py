"""process buckets: the SDKs' per-release CPU and memory samples, for process gates.

One row per (environment, release flag, resolution, bucket start, release): how many
samples (one per process and window) it holds, and the sum and maximum of CPU percent,
memory percent and resident bytes. Retention purges it with the other bucket tables.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "process_buckets",
        sa.Column("environment", sa.String(64), primary_key=True),
        sa.Column("flag", sa.String(128), primary_key=True),
        sa.Column("resolution", sa.Integer, primary_key=True),
        sa.Column("bucket_start", sa.BigInteger, primary_key=True),
        sa.Column("variant", sa.String(200), primary_key=True),
        sa.Column("samples", sa.BigInteger, nullable=False),
        sa.Column("cpu_sum", sa.Float, nullable=False),
        sa.Column("cpu_max", sa.Float, nullable=False),
        sa.Column("memory_sum", sa.Float, nullable=False),
        sa.Column("memory_max", sa.Float, nullable=False),
        sa.Column("rss_sum", sa.Float, nullable=False),
        sa.Column("rss_max", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_process_buckets_environment_resolution_bucket_start",
        "process_buckets",
        ["environment", "resolution", "bucket_start"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_process_buckets_environment_resolution_bucket_start", table_name="process_buckets"
    )
    op.drop_table("process_buckets")

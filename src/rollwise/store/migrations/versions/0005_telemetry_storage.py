"""telemetry: ingest in parts, each part of a batch stored once (short write transactions).

A large batch is stored as several short transactions; part 0 is recorded by the batch's
own row in ``telemetry_batches`` and every further part by a row here, written in the
same transaction as that part's counts, so a retried batch stores each part exactly once.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "telemetry_batch_parts",
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("part", sa.Integer, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("environment", "batch_id", "part", name="pk_telemetry_batch_parts"),
    )
    op.create_index(
        "ix_telemetry_batch_parts_received_at", "telemetry_batch_parts", ["received_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_telemetry_batch_parts_received_at", table_name="telemetry_batch_parts")
    op.drop_table("telemetry_batch_parts")

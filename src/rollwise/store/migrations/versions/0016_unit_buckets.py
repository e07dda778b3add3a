"""unit buckets: distinct-unit sketches per (flag, variant) and time bucket.

One row per (environment, flag, resolution, bucket start, variant): the union of the SDKs'
HLL sketches of the units served (``seen``) and of the units with a server error
(``failing``), for unit-level gates (``failing_units``). Retention purges it with the other
bucket tables.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unit_buckets",
        sa.Column("environment", sa.String(64), primary_key=True),
        sa.Column("flag", sa.String(128), primary_key=True),
        sa.Column("resolution", sa.Integer, primary_key=True),
        sa.Column("bucket_start", sa.BigInteger, primary_key=True),
        sa.Column("variant", sa.String(200), primary_key=True),
        sa.Column("seen", sa.LargeBinary, nullable=False),
        sa.Column("failing", sa.LargeBinary, nullable=False),
    )
    op.create_index(
        "ix_unit_buckets_environment_resolution_bucket_start",
        "unit_buckets",
        ["environment", "resolution", "bucket_start"],
    )


def downgrade() -> None:
    op.drop_index("ix_unit_buckets_environment_resolution_bucket_start", table_name="unit_buckets")
    op.drop_table("unit_buckets")

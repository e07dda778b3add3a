"""fleet: the SDK instances of each environment, as they last reported.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sdk_instances",
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("instance", sa.String(200), nullable=False),
        sa.Column("host", sa.String(200), nullable=True),
        sa.Column("sdk_version", sa.String(64), nullable=True),
        sa.Column("pid", sa.BigInteger, nullable=True),
        sa.Column("config_revision", sa.BigInteger, nullable=True),
        sa.Column("release", sa.String(100), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revision_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("served_revision", sa.BigInteger, nullable=True),
        sa.Column("behind_since", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["environment"],
            ["environments.key"],
            name="fk_sdk_instances_environment_environments",
        ),
        sa.PrimaryKeyConstraint("environment", "instance", name="pk_sdk_instances"),
    )
    op.create_index("ix_sdk_instances_last_seen", "sdk_instances", ["last_seen"])


def downgrade() -> None:
    op.drop_index("ix_sdk_instances_last_seen", table_name="sdk_instances")
    op.drop_table("sdk_instances")

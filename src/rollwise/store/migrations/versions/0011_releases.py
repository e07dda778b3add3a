"""releases: each deployment of a version to an environment, its outcome and its rollout.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("flag", sa.String(128), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("commit", sa.String(100), nullable=True),
        sa.Column("deployed_by", sa.String(200), nullable=False),
        sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("rollout_id", sa.Integer, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_releases"),
        sa.ForeignKeyConstraint(
            ["environment"], ["environments.key"], name="fk_releases_environment_environments"
        ),
        sa.ForeignKeyConstraint(["flag"], ["flags.key"], name="fk_releases_flag_flags"),
        sa.ForeignKeyConstraint(
            ["rollout_id"], ["rollouts.id"], name="fk_releases_rollout_id_rollouts"
        ),
    )
    op.create_index("ix_releases_environment_flag_id", "releases", ["environment", "flag", "id"])
    op.create_index("ix_releases_rollout_id", "releases", ["rollout_id"])


def downgrade() -> None:
    op.drop_index("ix_releases_rollout_id", table_name="releases")
    op.drop_index("ix_releases_environment_flag_id", table_name="releases")
    op.drop_table("releases")

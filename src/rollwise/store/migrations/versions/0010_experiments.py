"""experiments: definitions and states, exposures, per-unit event aggregates, batch ids.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_RUNNING = sa.text("state = 'running'")


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("flag", sa.String(128), nullable=False),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("decision", sa.JSON, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(["flag"], ["flags.key"], name="fk_experiments_flag_flags"),
        sa.ForeignKeyConstraint(
            ["environment"], ["environments.key"], name="fk_experiments_environment_environments"
        ),
        sa.PrimaryKeyConstraint("key", name="pk_experiments"),
    )
    op.create_index(
        "uq_experiments_running_flag_environment",
        "experiments",
        ["flag", "environment"],
        unique=True,
        sqlite_where=_RUNNING,
        postgresql_where=_RUNNING,
    )
    op.create_index("ix_experiments_environment_state", "experiments", ["environment", "state"])
    op.create_table(
        "experiment_exposures",
        sa.Column("experiment", sa.String(64), nullable=False),
        sa.Column("unit", sa.String(200), nullable=False),
        sa.Column("arm", sa.String(64), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mixed", sa.Boolean, nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment"],
            ["experiments.key"],
            name="fk_experiment_exposures_experiment_experiments",
        ),
        sa.PrimaryKeyConstraint("experiment", "unit", name="pk_experiment_exposures"),
    )
    op.create_index(
        "ix_experiment_exposures_experiment_arm", "experiment_exposures", ["experiment", "arm"]
    )
    op.create_table(
        "experiment_unit_events",
        sa.Column("experiment", sa.String(64), nullable=False),
        sa.Column("unit", sa.String(200), nullable=False),
        sa.Column("event", sa.String(128), nullable=False),
        sa.Column("sum", sa.Float, nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("pre_sum", sa.Float, nullable=False),
        sa.Column("pre_count", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment"],
            ["experiments.key"],
            name="fk_experiment_unit_events_experiment_experiments",
        ),
        sa.PrimaryKeyConstraint("experiment", "unit", "event", name="pk_experiment_unit_events"),
    )
    op.create_table(
        "experiment_batches",
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("environment", "batch_id", name="pk_experiment_batches"),
    )
    op.create_index("ix_experiment_batches_received_at", "experiment_batches", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_experiment_batches_received_at", table_name="experiment_batches")
    op.drop_table("experiment_batches")
    op.drop_table("experiment_unit_events")
    op.drop_index("ix_experiment_exposures_experiment_arm", table_name="experiment_exposures")
    op.drop_table("experiment_exposures")
    op.drop_index("ix_experiments_environment_state", table_name="experiments")
    op.drop_index("uq_experiments_running_flag_environment", table_name="experiments")
    op.drop_table("experiments")

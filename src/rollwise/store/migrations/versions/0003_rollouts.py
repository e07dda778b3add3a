"""Rollouts with their history and latest judgement, alert rules and events, notification
channels and the notification outbox.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
ACTIVE = sa.text("phase IN ('pending', 'progressing', 'paused')")


def _rollouts() -> None:
    op.create_table(
        "rollouts",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("flag", sa.String(128), nullable=False),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("step_started_at", TIMESTAMP, nullable=True),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rollouts"),
        sa.ForeignKeyConstraint(["flag"], ["flags.key"], name="fk_rollouts_flag_flags"),
        sa.ForeignKeyConstraint(
            ["environment"], ["environments.key"], name="fk_rollouts_environment_environments"
        ),
    )
    op.create_index(
        "uq_rollouts_active_flag_environment",
        "rollouts",
        ["flag", "environment"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    op.create_index("ix_rollouts_phase", "rollouts", ["phase"])
    op.create_table(
        "rollout_history",
        sa.Column("rollout_id", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("from_phase", sa.String(16), nullable=False),
        sa.Column("from_step", sa.Integer, nullable=False),
        sa.Column("from_share", sa.Integer, nullable=False),
        sa.Column("to_phase", sa.String(16), nullable=False),
        sa.Column("to_step", sa.Integer, nullable=False),
        sa.Column("to_share", sa.Integer, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=True),
        sa.PrimaryKeyConstraint("rollout_id", "seq", name="pk_rollout_history"),
        sa.ForeignKeyConstraint(
            ["rollout_id"], ["rollouts.id"], name="fk_rollout_history_rollout_id_rollouts"
        ),
    )
    op.create_table(
        "rollout_judgements",
        sa.Column("rollout_id", sa.Integer, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("rollout_version", sa.Integer, nullable=False),
        sa.Column("decision", sa.String(32), nullable=False),
        sa.Column("verdict", sa.String(32), nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=True),
        sa.PrimaryKeyConstraint("rollout_id", name="pk_rollout_judgements"),
        sa.ForeignKeyConstraint(
            ["rollout_id"], ["rollouts.id"], name="fk_rollout_judgements_rollout_id_rollouts"
        ),
    )


def _alerts() -> None:
    op.create_table(
        "alert_rules",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("flag", sa.String(128), nullable=True),
        sa.Column("variant", sa.String(200), nullable=True),
        sa.Column("baseline", sa.String(200), nullable=True),
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("comparison", sa.String(32), nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("window_seconds", sa.Float, nullable=False),
        sa.Column("for_seconds", sa.Float, nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("query", sa.Text, nullable=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("state_since", TIMESTAMP, nullable=True),
        sa.Column("last_value", sa.Float, nullable=True),
        sa.Column("evaluated_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_alert_rules"),
        sa.ForeignKeyConstraint(
            ["environment"], ["environments.key"], name="fk_alert_rules_environment_environments"
        ),
        sa.ForeignKeyConstraint(["flag"], ["flags.key"], name="fk_alert_rules_flag_flags"),
    )
    op.create_table(
        "alert_events",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("from_state", sa.String(16), nullable=False),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("baseline_value", sa.Float, nullable=True),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("details", sa.JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alert_events"),
        sa.ForeignKeyConstraint(
            ["rule"], ["alert_rules.name"], name="fk_alert_events_rule_alert_rules"
        ),
    )
    op.create_index("ix_alert_events_rule_id", "alert_events", ["rule", "id"])


def _notifications() -> None:
    op.create_table(
        "notification_channels",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_notification_channels"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("notification", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("delivered_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
    )
    op.create_index("ix_outbox_status_next_attempt_at", "outbox", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_created_at", "outbox", ["created_at"])


def upgrade() -> None:
    _rollouts()
    _alerts()
    _notifications()


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("notification_channels")
    op.drop_table("alert_events")
    op.drop_table("alert_rules")
    op.drop_table("rollout_judgements")
    op.drop_table("rollout_history")
    op.drop_table("rollouts")

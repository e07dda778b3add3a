"""state settings: rollout/release defaults and deploy rules in a table of their own.

They were audit rows (action ``state.settings``, the newest one current); the newest such
row's ``defaults`` and ``deploy`` become the settings' first versions.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_audit = sa.table(
    "audit_log",
    sa.column("id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("after", sa.JSON),
)


def upgrade() -> None:
    settings = op.create_table(
        "state_settings",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_state_settings"),
    )
    assert settings is not None
    newest = (
        op.get_bind()
        .execute(
            sa.select(_audit.c.after)
            .where(_audit.c.action == "state.settings")
            .order_by(_audit.c.id.desc())
            .limit(1)
        )
        .scalar()
    )
    if not isinstance(newest, dict):
        return
    now = datetime.now(UTC)
    rows = [
        {"key": key, "value": newest[key], "version": 1, "updated_at": now}
        for key in ("defaults", "deploy")
        if newest.get(key)
    ]
    if rows:
        op.bulk_insert(settings, rows)


def downgrade() -> None:
    op.drop_table("state_settings")

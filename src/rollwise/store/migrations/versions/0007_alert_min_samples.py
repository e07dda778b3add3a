"""alert rules: a minimum sample before a rule is judged, and what its last evaluation saw.

``min_samples`` (default 100: existing rules get it) keeps a rule from firing or resolving on
a handful of requests; ``last_reason`` shows why a rule did not move ("waiting for
samples: 8 of 100", "no data in the window").

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "alert_rules",
        sa.Column("min_samples", sa.Integer(), nullable=False, server_default="100"),
    )
    op.add_column("alert_rules", sa.Column("last_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_rules") as batch:
        batch.drop_column("last_reason")
        batch.drop_column("min_samples")

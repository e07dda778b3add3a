"""tokens: forget the first characters of secrets that older versions kept.

Up to 0.1, a token row kept the first 8 characters of its secret (``prefix``) and the
``token.create`` / ``token.revoke`` audit rows copied them: readable by any read token.
This clears the column (kept, empty, so that older code can still insert) and removes
``prefix`` from those audit rows.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_tokens = sa.table("tokens", sa.column("prefix", sa.String))
_audit = sa.table(
    "audit_log",
    sa.column("id", sa.Integer),
    sa.column("target_type", sa.String),
    sa.column("before", sa.JSON),
    sa.column("after", sa.JSON),
)


def _scrubbed(value: Any) -> Any:
    if isinstance(value, dict) and "prefix" in value:
        return {key: item for key, item in value.items() if key != "prefix"}
    return value


def upgrade() -> None:
    connection = op.get_bind()
    connection.execute(sa.update(_tokens).values(prefix=""))
    rows = connection.execute(
        sa.select(_audit.c.id, _audit.c.before, _audit.c.after).where(
            _audit.c.target_type == "token"
        )
    ).all()
    for row in rows:
        changes = {
            name: scrubbed
            for name, value in (("before", row.before), ("after", row.after))
            if (scrubbed := _scrubbed(value)) is not value
        }
        if changes:
            connection.execute(sa.update(_audit).where(_audit.c.id == row.id).values(**changes))


def downgrade() -> None:
    """The characters are gone for good; nothing to restore."""

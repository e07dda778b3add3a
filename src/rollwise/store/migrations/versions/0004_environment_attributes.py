"""environments: an explicit ``production`` attribute (default false).

What makes an environment production is now this column, not its name: SDKs receive it in
their configuration document and refuse unsigned per-request overrides where it is true.
Environments created without it are not production. On upgrade, the environments the SDK
used to treat as production by name (``production`` or ``prod``, any case, alone or
followed by ``-``, ``_`` or ``.`` and a suffix) are marked, so that upgrading loosens
nothing; every other existing environment starts unmarked.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_NAMES = ("production", "prod")


def _named_production(key: str) -> bool:
    name = key.lower()
    return any(
        name == base or (name.startswith(base) and name[len(base)] in "-_.") for base in _NAMES
    )


def upgrade() -> None:
    op.add_column(
        "environments",
        sa.Column("production", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    environments = sa.table(
        "environments", sa.column("key", sa.String), sa.column("production", sa.Boolean)
    )
    keys = [row[0] for row in op.get_bind().execute(sa.select(environments.c.key))]
    marked = [key for key in keys if _named_production(key)]
    if marked:
        op.execute(
            environments.update().where(environments.c.key.in_(marked)).values(production=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("environments") as batch:
        batch.drop_column("production")

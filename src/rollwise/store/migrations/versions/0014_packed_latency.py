"""request buckets: the latency sketch in its compact binary form instead of JSON.

``request_buckets.latency`` held ``LatencySketch.to_dict`` as JSON (three to five
characters a bin, parsed on every read and merge); it now holds ``LatencySketch.to_bytes``
(``rollwise.stats.sketch._binary``: a 46-byte header, then each bin in the width its
largest count needs). Every existing row is converted, in pages, on SQLite and PostgreSQL
alike; the downgrade converts them back to the same JSON.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

from rollwise.stats.sketch import LatencySketch

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_KEY = ("environment", "flag", "resolution", "bucket_start", "variant", "route")
_PAGE = 1000


def _table(old: sa.types.TypeEngine[Any], new: sa.types.TypeEngine[Any]) -> sa.TableClause:
    return sa.table(
        "request_buckets",
        *(sa.column(name) for name in _KEY),
        sa.column("latency", old),
        sa.column("latency_converted", new),
    )


def _convert(
    old: sa.types.TypeEngine[Any], new: sa.types.TypeEngine[Any], change: Callable[[Any], Any]
) -> None:
    """Fill ``latency_converted`` from ``latency`` for every row, a page at a time."""
    bind = op.get_bind()
    table = _table(old, new)
    key = [table.c[name] for name in _KEY]
    write = (
        sa.update(table)
        .where(*(table.c[name] == sa.bindparam(f"k_{name}") for name in _KEY))
        .values(latency_converted=sa.bindparam("v"))
    )
    last: tuple[Any, ...] | None = None
    while True:
        page = sa.select(*key, table.c.latency).order_by(*key).limit(_PAGE)
        if last is not None:
            page = page.where(sa.tuple_(*key) > sa.tuple_(*last))
        rows = bind.execute(page).all()
        if not rows:
            return
        bind.execute(
            write,
            [
                {f"k_{name}": row[i] for i, name in enumerate(_KEY)} | {"v": change(row[-1])}
                for row in rows
            ],
        )
        last = tuple(rows[-1][: len(_KEY)])


def _replace(old: sa.types.TypeEngine[Any], new: sa.types.TypeEngine[Any]) -> None:
    with op.batch_alter_table("request_buckets") as batch:
        batch.drop_column("latency")
    with op.batch_alter_table("request_buckets") as batch:
        batch.alter_column(
            "latency_converted", new_column_name="latency", existing_type=new, nullable=False
        )


def upgrade() -> None:
    op.add_column("request_buckets", sa.Column("latency_converted", sa.LargeBinary))
    _convert(sa.JSON(), sa.LargeBinary(), lambda data: LatencySketch.from_dict(data).to_bytes())
    _replace(sa.JSON(), sa.LargeBinary())


def downgrade() -> None:
    op.add_column("request_buckets", sa.Column("latency_converted", sa.JSON))
    _convert(sa.LargeBinary(), sa.JSON(), lambda blob: LatencySketch.from_bytes(blob).to_dict())
    _replace(sa.LargeBinary(), sa.JSON())

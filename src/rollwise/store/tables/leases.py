"""The controller's leader lease (see ``rollwise.store.leases``)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    String,
    Table,
)

from ._metadata import metadata

__all__ = ["controller_lease"]

# -- the controller's leader lease (see rollwise.store.leases) ----------------------------
# One row per lease name: who holds it, under which epoch (the fencing token), and until
# when; times are seconds since the epoch on the database's clock. ``hinted``: the holder
# also holds the liveness lock (a PostgreSQL advisory lock, a SQLite flock), so a free
# liveness lock means the holder died and its lease may be taken at once.

controller_lease = Table(
    "controller_lease",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("epoch", BigInteger, nullable=False),
    Column("acquired_at", Float, nullable=False),
    Column("renewed_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("hinted", Boolean, nullable=False, default=False),
)

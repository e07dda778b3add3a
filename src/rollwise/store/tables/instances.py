"""The fleet: SDK instances as they last reported (see ``rollwise.store.instances``)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    String,
    Table,
)

from ._metadata import metadata

__all__ = ["sdk_instances"]

# -- the fleet: SDK instances as they last reported (see rollwise.store.instances) --------
# One row per (environment, instance), refreshed by every telemetry batch in one upsert;
# forgotten when not seen for a week. ``reported_at`` is the SDK's ``sent_at`` of the info
# kept (a retried older batch never overwrites newer info); ``served_revision`` is the
# environment's revision when it last reported, ``behind_since`` since when it has
# reported an older one without a break, ``revision_since`` since when it reports its own.

sdk_instances = Table(
    "sdk_instances",
    metadata,
    Column("environment", String(64), ForeignKey("environments.key"), primary_key=True),
    Column("instance", String(200), primary_key=True),
    Column("host", String(200), nullable=True),
    Column("sdk_version", String(64), nullable=True),
    Column("pid", BigInteger, nullable=True),
    Column("config_revision", BigInteger, nullable=True),
    Column("release", String(100), nullable=True),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Column("reported_at", DateTime(timezone=True), nullable=True),
    Column("revision_since", DateTime(timezone=True), nullable=True),
    Column("served_revision", BigInteger, nullable=True),
    Column("behind_since", DateTime(timezone=True), nullable=True),
    Index("ix_sdk_instances_last_seen", "last_seen"),
)

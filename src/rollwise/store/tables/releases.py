"""Releases: each deployment of a version to an environment (see ``rollwise.store.releases``)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Table

from ._metadata import metadata

__all__ = ["releases"]

# One row per deployment, newest last by id. ``outcome`` is deploying | promoted |
# rolled_back | superseded | failed; ``rollout_id`` is the release rollout, whose history
# is the evidence (rollouts are never deleted, so it is a foreign key).

releases = Table(
    "releases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("environment", String(64), ForeignKey("environments.key"), nullable=False),
    Column("flag", String(128), ForeignKey("flags.key"), nullable=False),
    Column("version", String(100), nullable=False),
    Column("commit", String(100), nullable=True),
    Column("deployed_by", String(200), nullable=False),
    Column("deployed_at", DateTime(timezone=True), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("rollout_id", Integer, ForeignKey("rollouts.id"), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_releases_environment_flag_id", "environment", "flag", "id"),
    Index("ix_releases_rollout_id", "rollout_id"),
)

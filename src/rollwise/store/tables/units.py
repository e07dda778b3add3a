"""Distinct-unit sketches per time bucket: the unit-level gates' data (migration 0016)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, String, Table

from ._metadata import metadata

__all__ = ["unit_buckets"]

unit_buckets = Table(
    "unit_buckets",
    metadata,
    Column("environment", String(64), primary_key=True),
    Column("flag", String(128), primary_key=True),
    Column("resolution", Integer, primary_key=True),
    Column("bucket_start", BigInteger, primary_key=True),
    Column("variant", String(200), primary_key=True),
    Column("seen", LargeBinary, nullable=False),  # compact HLL_8 sketch, lg_k 12
    Column("failing", LargeBinary, nullable=False),
    Index(
        "ix_unit_buckets_environment_resolution_bucket_start",
        "environment",
        "resolution",
        "bucket_start",
    ),
)

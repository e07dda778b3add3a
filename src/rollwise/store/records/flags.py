"""What the store returns about flags and their per-environment states."""

from __future__ import annotations

from datetime import datetime

from ...core.flags import FlagEnvironment
from ._base import Record

__all__ = [
    "FlagRecord",
    "FlagStateRecord",
]


class FlagRecord(Record):
    key: str
    description: str
    variants: list[str]
    off_variant: str
    tags: list[str]
    archived: bool
    version: int
    created_at: datetime
    updated_at: datetime


class FlagStateRecord(Record):
    """A flag's state in one environment; version 0 means never configured there (off)."""

    flag: str
    environment: str
    state: FlagEnvironment
    version: int
    created_at: datetime | None
    updated_at: datetime | None

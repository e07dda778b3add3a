"""What the store returns about environments."""

from __future__ import annotations

from datetime import datetime

from ._base import Record

__all__ = [
    "EnvironmentRecord",
]


class EnvironmentRecord(Record):
    key: str
    name: str
    description: str
    production: bool = False
    version: int
    created_at: datetime
    updated_at: datetime

"""What the store returns about settings: one key's value and its version."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ._base import Record

__all__ = ["SettingRecord"]


class SettingRecord(Record):
    """One setting: ``value`` is JSON as stored; ``version`` counts its changes from 1."""

    key: str
    value: Any
    version: int
    updated_at: datetime
